"""Result rows as CSV: one writer for the API (``format=csv``) and the CLI (``tapflow query``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO


def write_csv(out: TextIO, names: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """A header of ``names``, then one line per row (``None`` as an empty field).

    >>> import sys
    >>> write_csv(sys.stdout, ["period", "mrr"], [{"period": "2026-10-01", "mrr": 1.5}, {"period": "x", "mrr": None}])
    period,mrr
    2026-10-01,1.5
    x,
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_field(row[n]) for n in names])


def _field(value: Any) -> Any:
    """A CSV field: empty for NULL, JSON for a list or a struct, the value itself otherwise."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def csv_text(names: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """What ``write_csv`` writes, as a string."""
    buf = io.StringIO()
    write_csv(buf, names, rows)
    return buf.getvalue()
