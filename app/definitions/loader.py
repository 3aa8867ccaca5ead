"""Read every YAML file under ``metrics/`` and ``entities/`` and build a validated Project.

All problems of all files are collected and raised together as one DefinitionError.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from app.definitions.problems import Problem, did_you_mean
from app.definitions.project import Project
from app.definitions.resolve import Catalog, Located, Resolver
from app.definitions.spec import DefinitionFile, Entity, Metric
from app.definitions.yamlpos import Path_, YamlProblem, line_of, parse_yaml
from app.errors import DefinitionError

DEFINITION_DIRS = ("entities", "metrics")


def read_definition_files(project_dir: Path) -> dict[str, str]:
    """Relative path -> text of every ``*.yml``/``*.yaml`` under entities/ and metrics/."""
    files: dict[str, str] = {}
    for folder in DEFINITION_DIRS:
        root = project_dir / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix in (".yml", ".yaml") and path.is_file():
                files[path.relative_to(project_dir).as_posix()] = path.read_text(encoding="utf-8")
    return files


def load_project(project_dir: Path, catalog: Catalog | None = None) -> Project:
    """Load and validate the definitions of a project folder.

    ``catalog`` (table -> columns, from the database) makes column checks exact; without it
    columns are checked against what the entities declare.
    """
    return load_texts(read_definition_files(project_dir), catalog, base=project_dir)


def load_texts(files: dict[str, str], catalog: Catalog | None = None, *, base: Path | None = None) -> Project:
    """Validate definitions given as {relative path: YAML text}; raise DefinitionError with all problems."""
    problems: list[Problem] = []
    entities: list[Located] = []
    metrics: list[Located] = []
    for file, text in files.items():
        _parse_file(file, text, entities, metrics, problems)
    resolver = Resolver(catalog)
    resolver.add_entities(entities)
    project = resolver.build(metrics, files, _digest(entities, metrics))
    problems += resolver.problems
    if base is not None:
        problems += _check_guides(project, base, metrics)
    if problems:
        problems = sorted(set(problems))
        raise DefinitionError(
            f"{len(problems)} problem(s) in the definitions:\n" + "\n".join(map(str, problems)),
            errors=[p.as_dict() for p in problems],
        )
    return project


def _parse_file(file: str, text: str, entities: list[Located], metrics: list[Located], problems: list[Problem]) -> None:
    try:
        data, lines = parse_yaml(text)
    except YamlProblem as err:
        problems.append(Problem(file, err.line, "(file)", err.message + "; fix the YAML and reload"))
        return
    if data is None:
        return
    if not isinstance(data, dict):
        problems.append(
            Problem(file, 1, "(file)", "expected a mapping with `version: 2` and `metrics:` or `entities:`")
        )
        return
    try:
        DefinitionFile.model_validate(data)
    except ValidationError as err:
        problems += _pydantic_problems(err, DefinitionFile, file, (), lines, "(file)")
        return
    for kind, model, out in (("entities", Entity, entities), ("metrics", Metric, metrics)):
        for i, raw in enumerate(data.get(kind) or []):
            path: Path_ = (kind, i)
            name = raw.get("name") if isinstance(raw, dict) else None
            label = f"{kind}.{name}" if isinstance(name, str) else f"{kind}[{i}]"
            if not isinstance(raw, dict):
                problems.append(Problem(file, line_of(lines, path), label, f"each item of {kind} must be a mapping"))
                continue
            try:
                spec = model.model_validate(raw)
            except ValidationError as err:
                problems += _pydantic_problems(err, model, file, path, lines, label)
                spec = _without_bad_keys(model, raw, err)
                if spec is None:
                    continue
            out.append(Located(spec, file, path, lines))


def _without_bad_keys(model: type[BaseModel], raw: dict[str, Any], err: ValidationError) -> Any:
    """The item validated without its faulty keys, so the rest still gets cross-checked; or None."""
    bad = {e["loc"][0] for e in err.errors() if e["loc"]}
    try:
        return model.model_validate({k: v for k, v in raw.items() if k not in bad})
    except ValidationError:
        return None


def _pydantic_problems(
    err: ValidationError, model: type[BaseModel], file: str, path: Path_, lines: dict[Path_, int], label: str
) -> list[Problem]:
    out = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-union"))))
        loc = tuple(
            p for p in loc if p not in ("str", "int", "float", "bool", "list[union[str,int,float,bool]]", "none")
        )
        key = label + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        out.append(Problem(file, line_of(lines, (*path, *loc)), key, _message(e, model, loc)))
    return out


def _message(e: dict[str, Any], model: type[BaseModel], loc: tuple) -> str:
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


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
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
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _digest(entities: list[Located], metrics: list[Located]) -> str:
    body = {
        "entities": sorted((i.spec.model_dump(mode="json") for i in entities), key=lambda d: d["name"]),
        "metrics": sorted((i.spec.model_dump(mode="json") for i in metrics), key=lambda d: d["name"]),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _check_guides(project: Project, base: Path, metrics: list[Located]) -> list[Problem]:
    """A migration_guide that names a .md file must point to an existing file in the project."""
    out = []
    for name, entity in project.entities.items():
        source = project.sources[f"entity:{name}"]
        blocks = [("deprecation", entity.deprecation)]
        blocks += [(f"tables.{key}.deprecation", t.deprecation) for key, t in entity.tables.items()]
        for key, dep in blocks:
            out += _guide_problem(base, dep, source.file, source.line, f"entities.{name}.{key}.migration_guide")
    for item in metrics:
        dep = item.spec.deprecation if isinstance(item.spec, Metric) else None
        out += _guide_problem(
            base,
            dep,
            item.file,
            item.line("deprecation", "migration_guide"),
            f"metrics.{item.spec.name}.deprecation.migration_guide",
        )
    return out


def _guide_problem(base: Path, dep: Any, file: str, line: int, key: str) -> list[Problem]:
    path = dep.guide_path(base) if dep else None
    if path is None or (path.is_file() and base.resolve() in path.parents):
        return []
    guide = dep.migration_guide.strip()
    message = f"migration guide file '{guide}' does not exist in the project folder (paths are relative to it)"
    return [Problem(file, line, key, message)]
