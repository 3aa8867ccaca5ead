"""Validation problems: where each is (file, line, key), what would be right, and did-you-mean hints."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from app.definitions.located import Located, S, Sub
from app.definitions.spec import Entity, Metric


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def did_you_mean(word: str, choices: Iterable[str], *, allowed: bool = True) -> str:
    """A hint for an unknown name: the closest choices, then (optionally) every allowed one.

    >>> did_you_mean("custmer_tier", ["customer_tier", "sales_region"])
    "Did you mean 'customer_tier'? Allowed: customer_tier, sales_region."
    """
    pool = sorted(set(choices))
    close = difflib.get_close_matches(word, pool, n=3, cutoff=0.6)
    if len(word) >= 3:
        close += [c for c in pool if word.lower() in c.lower() and c not in close][: 3 - len(close)]
    parts = []
    if close:
        parts.append("Did you mean " + " or ".join(f"'{c}'" for c in close) + "?")
    if allowed and pool:
        shown = ", ".join(pool[:40]) + (", ..." if len(pool) > 40 else "")
        parts.append(f"Allowed: {shown}.")
    return " ".join(parts)


@dataclass
class Problems:
    """Every problem found so far (validation reports them all, never just the first)."""

    items: list[Problem] = field(default_factory=list)
    # text that may define names no spec carries (unreadable files, specs or keys left out)
    unknowable: tuple[str, ...] = ()

    def report(self, item: Located[Entity] | Located[Metric], sub: Sub, message: str) -> None:
        key = ".".join([item.kind, item.spec.name, *_key_parts(sub)])
        self.items.append(Problem(item.file, item.line(*sub), key, message))

    def report_unknown(self, item: Located[Entity] | Located[Metric], sub: Sub, message: str, *, name: str) -> None:
        """A reference to ``name``, which no spec defines; not reported when text that could not be
        read as a spec names it (that problem was reported), so one mistake gives one problem."""
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        if not any(pattern.search(text) for text in self.unknowable):
            self.report(item, sub, message)

    warnings: list[Problem] = field(default_factory=list)  # accepted, with a note on how it was read

    def warn(self, item: Located[Entity] | Located[Metric], sub: Sub, message: str) -> None:
        key = ".".join([item.kind, item.spec.name, *_key_parts(sub)])
        self.warnings.append(Problem(item.file, item.line(*sub), key, message))

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
