"""Where a spec was written, and the list of problems found in specs, each at its file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.definitions.problems import Problem
from app.definitions.spec import Entity, Metric
from app.definitions.yamlpos import Path_, line_of

S = TypeVar("S", Entity, Metric)
Sub = tuple[str | int, ...]  # a YAML path below a spec, such as ("dimensions", 0, "name")


@dataclass(frozen=True)
class Located(Generic[S]):
    """A parsed spec with the file, YAML path and line map it came from."""

    spec: S
    file: str
    path: Path_
    lines: dict[Path_, int]

    @property
    def kind(self) -> str:
        return "entities" if isinstance(self.spec, Entity) else "metrics"

    def line(self, *sub: str | int) -> int:
        return line_of(self.lines, (*self.path, *sub))


@dataclass
class Problems:
    """Every problem found so far (validation reports them all, never just the first)."""

    items: list[Problem] = field(default_factory=list)
    unread_files: bool = False  # a file could not be read: names it defines are not known
    failed: frozenset[str] = frozenset()  # names of specs that were written but failed validation

    def report(self, item: Located[Entity] | Located[Metric], sub: Sub, message: str) -> None:
        key = ".".join([item.kind, item.spec.name, *_key_parts(sub)])
        self.items.append(Problem(item.file, item.line(*sub), key, message))

    def report_unknown(
        self, item: Located[Entity] | Located[Metric], sub: Sub, message: str, *, name: str | None
    ) -> None:
        """A reference to ``name``, which is not defined; not reported when its definition failed or a
        file that may define it is unreadable (that problem was reported), so one mistake gives one problem.
        ``name`` None: a table, which any failed definition may have declared."""
        suspect = bool(self.failed) if name is None else name in self.failed
        if not self.unread_files and not suspect:
            self.report(item, sub, message)

    def __len__(self) -> int:
        return len(self.items)

    def by_name(self, items: list[Located[S]], rule: str) -> dict[str, Located[S]]:
        """Items by name; a second item of the same name is reported (``rule`` says what is right)."""
        out: dict[str, Located[S]] = {}
        for item in items:
            first = out.get(item.spec.name)
            if first is None:
                out[item.spec.name] = item
                continue
            noun = "entity" if item.kind == "entities" else "metric"
            self.report(
                item,
                ("name",),
                f"duplicate {noun} name '{item.spec.name}' (first defined in {first.file}:{first.line()}); {rule}",
            )
        return out


def _key_parts(sub: Sub) -> list[str]:
    parts: list[str] = []
    for p in sub:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"
        else:
            parts.append(str(p))
    return parts
