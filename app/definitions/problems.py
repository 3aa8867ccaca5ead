"""A validation problem: where it is (file, line, key) and what would be right."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass


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
