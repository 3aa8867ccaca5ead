"""YAML text -> specs that know where they were written, and every problem found parsing them."""

from __future__ import annotations

import copy
import re
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from app.definitions.diagnostics import Problem, did_you_mean
from app.definitions.located import Located, S
from app.definitions.spec import DefinitionFile, Entity, Metric
from app.definitions.yamlpos import Path_, YamlProblem, line_of, parse_yaml_sized
from app.errors import PayloadTooLarge

MAX_REQUEST_NODES = 250_000  # YAML nodes of all the files of one load (a project, a proposal), expanded
MAX_SPECS = 5_000  # metrics and entities of one load: far past any project, short of an exhausting proposal


class ParsedFiles:
    """The specs of every file added, each with where it was written, and the problems of parsing them."""

    def __init__(self, files: dict[str, str]) -> None:
        self.entities: list[Located[Entity]] = []
        self.metrics: list[Located[Metric]] = []
        self.problems: list[Problem] = []
        self.dropped: dict[str, frozenset[str]] = {}  # spec name -> top-level keys left out (their value failed)
        # text that may define names no spec carries: unreadable files, specs or keys left out
        self.unknowable: list[str] = []
        self.expanded = 0  # YAML nodes of every file, aliases expanded
        for file, text in files.items():
            self._add_file(file, text)
        if len(self.metrics) + len(self.entities) > MAX_SPECS:
            raise PayloadTooLarge(
                f"The definitions hold {len(self.metrics)} metrics and {len(self.entities)} entities; at most "
                f"{MAX_SPECS:,} in all are validated at once."
            )

    def _add_file(self, file: str, text: str) -> None:
        try:
            data, lines, size = parse_yaml_sized(text)
            self.expanded += size
            if self.expanded > MAX_REQUEST_NODES:
                raise PayloadTooLarge(
                    f"The definitions expand to more than {MAX_REQUEST_NODES:,} YAML nodes in all (at {file}); "
                    "propose fewer or smaller files."
                )
        except YamlProblem as err:
            self.problems.append(Problem(file, err.line, "(file)", err.message + "; fix the YAML and reload"))
            self.unknowable.append(text)
            return
        if data is None:
            return
        if not isinstance(data, dict):
            self.problems.append(
                Problem(file, 1, "(file)", "expected a mapping with `version: 2` and `metrics:` or `entities:`")
            )
            self.unknowable.append(text)
            return
        try:
            DefinitionFile.model_validate(data)
        except ValidationError as err:
            self.problems += _pydantic_problems(err, DefinitionFile, file, (), lines, "(file)")
            self.unknowable.append(text)
            return
        for i, raw in enumerate(data.get("entities") or []):
            entity = self._spec(Entity, raw, file, ("entities", i), lines)
            if entity is not None:
                self.entities.append(Located(entity, file, ("entities", i), lines))
        for i, raw in enumerate(data.get("metrics") or []):
            metric = self._spec(Metric, raw, file, ("metrics", i), lines)
            if metric is not None:
                self.metrics.append(Located(metric, file, ("metrics", i), lines))

    def _spec(self, model: type[S], raw: Any, file: str, path: Path_, lines: dict[Path_, int]) -> S | None:
        kind, i = path
        name = raw.get("name") if isinstance(raw, dict) else None
        label = f"{kind}.{name}" if isinstance(name, str) else f"{kind}[{i}]"
        if not isinstance(raw, dict):
            self.problems.append(Problem(file, line_of(lines, path), label, f"each item of {kind} must be a mapping"))
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as err:
            self.problems += _pydantic_problems(err, model, file, path, lines, label)
            spec, dropped = _without_bad_keys(model, raw, err)
            if spec is None:
                self.unknowable.append(repr(raw))
            elif dropped:
                self.dropped[spec.name] = dropped
                self.unknowable += [repr(raw[key]) for key in dropped]
            return spec


def _without_bad_keys(model: type[S], raw: dict[str, Any], err: ValidationError) -> tuple[S | None, frozenset[str]]:
    """The item validated without what failed, so the rest still gets cross-checked, and the
    top-level keys left out; or None.

    An unknown key is dropped where it stands (nothing is lost); a key whose value failed is
    dropped at the top level.
    """
    data = copy.deepcopy(raw)
    dropped: set[str] = set()
    for e in err.errors():
        loc = _loc(e)
        if e["type"] == "extra_forbidden" and _drop(data, list(loc)):
            continue
        if loc:
            dropped.add(str(loc[0]))
            data.pop(str(loc[0]), None)
    try:
        return model.model_validate(data), frozenset(dropped)
    except ValidationError:
        return None, frozenset(dropped)


def _loc(e: ErrorDetails) -> tuple[int | str, ...]:
    """Where an error is, without pydantic's names of validators and union members."""
    skip = ("str", "int", "float", "bool", "list[union[str,int,float,bool]]", "none")
    return tuple(
        p for p in e["loc"] if not (isinstance(p, str) and (p.startswith(("function-", "tagged-union")) or p in skip))
    )


def _drop(data: Any, loc: list[Any]) -> bool:
    """Remove the key at ``loc`` inside ``data``; False when the path does not lead to it."""
    for part in loc[:-1]:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return False
    if isinstance(data, dict) and loc and loc[-1] in data:
        del data[loc[-1]]
        return True
    return False


def _pydantic_problems(
    err: ValidationError, model: type[BaseModel], file: str, path: Path_, lines: dict[Path_, int], label: str
) -> list[Problem]:
    out = []
    for e in err.errors():
        loc = _loc(e)
        key = label + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        out.append(Problem(file, line_of(lines, (*path, *loc)), key, _message(e, model, loc)))
    return out


def _message(e: ErrorDetails, model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    kind, given = e["type"], e.get("input")
    names = [p for p in loc if isinstance(p, str)]
    field = names[-1] if names else ""
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        field = str(loc[-1])
        return f"unknown key '{field}'. {did_you_mean(field, allowed)}"
    if kind == "missing":
        return f"required key '{field}' is missing"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", e.get("ctx", {}).get("expected", ""))
        return f"{given!r} is not a valid {field}. {did_you_mean(str(given), choices)}"
    if kind == "string_pattern_mismatch":
        if field == "name":
            return (
                f"{given!r} is not a valid name: use snake_case "
                "(lowercase letters, digits and underscores, starting with a letter)"
            )
        return f"{given!r} does not have the expected form ({e['ctx'].get('pattern')})"
    return f"{e['msg']} (got {given!r})"


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``, for did-you-mean on unknown keys."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is not None:  # otherwise a dict key (a table's grain name): stay on the model
            current = _inner_model(field.annotation)
    return list(getattr(current, "model_fields", {}))


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
