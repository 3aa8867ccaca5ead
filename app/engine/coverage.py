"""Grain coverage of entity tables: row counts and the timestamp range (what a backfill plan needs)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from app.compiler import build
from app.compiler.dialects import render
from app.definitions.project import BoundTable
from app.engine.warehouse import Warehouse


def table_coverage(
    warehouse: Warehouse, table: BoundTable, *, timeout_s: float, timestamp: str | None = None
) -> dict[str, Any]:
    """Rows, and the first and last value of ``timestamp`` (default: the table's declared one)."""
    fields: list[exp.Expr] = [exp.Count(this=exp.Star()).as_("row_count")]
    ts = timestamp or table.spec.timestamp
    if ts:
        col = exp.column(ts, table="t", quoted=True)
        fields += [exp.Min(this=col).as_("min"), exp.Max(this=col).as_("max")]
    sql = render(exp.select(*fields).from_(build.table(table.name, "t")), warehouse.dialect)
    row = warehouse.select(sql, timeout_s=timeout_s).rows[0]
    out: dict[str, Any] = {"row_count": row[0]}
    if ts:
        out["timestamp"] = ts
        out["min"] = row[1].isoformat() if row[1] is not None else None
        out["max"] = row[2].isoformat() if row[2] is not None else None
    return out
