"""Where a spec was written: its file, its YAML path and the line of every key below it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

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
