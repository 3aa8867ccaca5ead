"""Impact analysis of proposed definitions: what changes, for whom, and by how much (DESIGN 6).

``analyze`` validates the proposal, classifies every change, and for each change adds its
downstream dependents (lineage), its consumers over the last 30 days (usage log) and a value
diff: old and new definitions run on the real data at the metric's coarsest grain up to
month, over the last 12 periods. The verdict is ``fail`` when the proposal does not validate,
when a breaking change lacks a version bump, or when a removed or renamed metric still has
consumers and was not deprecated.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from app.compiler.query import MetricQuery
from app.compiler.sql import compile_query
from app.definitions.entities import Catalog
from app.definitions.loader import DEFINITION_DIRS, load_texts
from app.definitions.project import Project
from app.definitions.spec import Grain
from app.engine.statedb import DuckDBState, StateDB
from app.engine.warehouse import DuckDBWarehouse, Warehouse
from app.errors import DefinitionError, PayloadTooLarge, QueryTimeout, TapflowError
from app.governance.changes import BREAKING, INDIRECT, Change, classify
from app.governance.lineage import build_lineage
from app.governance.usage import metric_consumers

VALUE_GRAINS: tuple[Grain, ...] = (
    "month",
    "week",
    "day",
    "hour",
)  # the coarsest grain up to month, in order of preference
PERIODS = 12


@dataclass
class ImpactItem:
    change: Change
    dependents: list[str] = field(default_factory=list)
    consumers: list[dict[str, Any]] = field(default_factory=list)
    value_diff: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        c = self.change
        return {
            "kind": c.kind,
            "name": c.name,
            "status": c.status,
            "classification": c.classification,
            "reasons": c.reasons,
            "renamed_to": c.renamed_to,
            "fields": [vars(f) for f in c.fields],
            "old_version": c.old_version,
            "declared_version": c.declared_version,
            "required_version": c.required_version,
            "version_ok": c.version_ok,
            "caused_by": c.caused_by,
            "dependents": self.dependents,
            "consumers": self.consumers,
            "value_diff": self.value_diff,
        }


@dataclass
class ImpactReport:
    verdict: str
    reasons: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    items: list[ImpactItem] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    partial: bool = False  # the time budget ran out before every change was analysed

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for item in self.items:
            key = item.change.classification or "none"
            counts[key] = counts.get(key, 0) + 1
        return {
            "verdict": self.verdict,
            "reasons": self.reasons,
            "summary": counts,
            "changes": [i.as_dict() for i in self.items],
            "problems": self.problems,
            "ignored_files": self.ignored_files,
            "notes": self.notes,
            "partial": self.partial,
        }


def is_definition(path: str) -> bool:
    return path.split("/", 1)[0] in DEFINITION_DIRS and path.endswith((".yml", ".yaml"))


def proposed_files(
    current: dict[str, str], changed: dict[str, str], deleted: list[str]
) -> tuple[dict[str, str], list[str]]:
    """The current definition files with the proposal applied; files outside metrics/ and entities/ are ignored."""
    files = dict(current)
    ignored = []
    for path, text in changed.items():
        if is_definition(path):
            files[path] = text
        else:
            ignored.append(path)
    for path in deleted:
        if path in files:
            del files[path]
        else:
            ignored.append(path)
    return files, ignored


def analyze(
    old: Project,
    files: dict[str, str],
    *,
    catalog: Catalog | None,
    con: duckdb.DuckDBPyConnection | None = None,
    statedb: StateDB | None = None,
    warehouse: Warehouse | None = None,
    now: datetime,
    timeout_s: float,
    base: Path | None = None,
    ignored: list[str] | None = None,
    budget_s: float | None = None,
    max_changes: int | None = None,
    slots: threading.BoundedSemaphore | None = None,
) -> ImpactReport:
    """The impact of ``files`` on ``old``. ``timeout_s`` bounds the value diffs' queries; ``budget_s``
    the whole analysis (past it the report says ``partial``); ``max_changes`` refuses a proposal that
    changes more (PayloadTooLarge); ``slots`` is the service's query semaphore, which every query takes.
    Consumers are read from ``statedb``, value diffs run on ``warehouse``; a DuckDB file ``con`` is either
    when it is not given."""
    started = time.monotonic()
    report = ImpactReport("pass", ignored_files=list(ignored or []))
    try:
        new = load_texts(files, catalog, base=base)
    except DefinitionError as exc:
        report.verdict = "fail"
        report.problems = exc.errors
        report.reasons.append(f"the proposed definitions do not validate ({len(exc.errors)} problem(s))")
        return report
    changes = classify(old, new)
    if max_changes is not None and len(changes) > max_changes:
        raise PayloadTooLarge(
            f"The proposal changes {len(changes)} metrics and entities; at most {max_changes} are analysed per "
            "request (TAPFLOW_IMPACT_MAX_CHANGES). Split it."
        )
    lineage_new, lineage_old = build_lineage(new), build_lineage(old)
    deadline = time.monotonic() + timeout_s
    if budget_s is not None:
        deadline = min(deadline, started + budget_s)
    if con is not None:
        statedb = statedb or DuckDBState(con)
        warehouse = warehouse or DuckDBWarehouse(con)
    if statedb is None or warehouse is None:
        report.notes.append("No database at hand: consumers and value diffs were not computed.")
    for change in changes:
        if budget_s is not None and time.monotonic() > started + budget_s:
            report.partial = True
            report.notes.append(f"Partial: the time budget ran out before '{change.name}' and what follows it.")
            break
        item = ImpactItem(change)
        graph = lineage_old if change.status in ("removed", "renamed") else lineage_new
        node = f"{change.kind}:{change.name}"
        if node in graph.nodes:
            item.dependents = [graph.nodes[n].name for n in graph.downstream(node) if graph.nodes[n].kind == "metric"]
        if change.kind == "metric" and statedb is not None and warehouse is not None:
            item.consumers = metric_consumers(statedb, change.name, now - timedelta(days=30))
            if change.status == "changed" and change.classification in (BREAKING, INDIRECT):
                item.value_diff = value_diff(old, new, change.name, warehouse, deadline, slots)
                if item.value_diff.get("note", "").startswith("skipped"):
                    report.partial = budget_s is not None
        report.items.append(item)
        _judge(report, item, old)
    return report


def _judge(report: ImpactReport, item: ImpactItem, old: Project) -> None:
    c = item.change
    if c.kind != "metric":
        return
    if c.status == "changed" and c.classification == BREAKING and not c.version_ok:
        report.verdict = "fail"
        report.reasons.append(
            f"'{c.name}' changes in a breaking way ({'; '.join(c.reasons)}) but its version stays "
            f"{c.declared_version}: declare version {c.required_version} and keep {c.old_version} "
            "in previous_versions while consumers move"
        )
    if c.status in ("removed", "renamed"):
        users = [x["consumer"] for x in item.consumers]
        deprecated = old.metrics[c.name].spec.deprecation is not None
        if users and not deprecated:
            report.verdict = "fail"
            report.reasons.append(
                f"'{c.name}' is {c.status}{f' to {c.renamed_to!r}' if c.renamed_to else ''} but "
                f"{len(users)} consumer(s) used it in the last 30 days ({', '.join(users[:5])}) and it was never "
                "deprecated: deprecate it with a sunset date first"
            )


def value_diff(
    old: Project,
    new: Project,
    name: str,
    warehouse: Warehouse,
    deadline: float,
    slots: threading.BoundedSemaphore | None = None,
) -> dict[str, Any]:
    """Old and new definitions of one metric on the real data, per period."""
    before, after = old.metrics[name], new.metrics[name]
    grain = next((g for g in VALUE_GRAINS if g in before.grains and g in after.grains), None)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return {"grain": grain, "rows": [], "note": "skipped: the time limit for value diffs was used up"}
    try:
        a = _series(old, name, grain, warehouse, deadline, slots)
        b = _series(new, name, grain, warehouse, deadline, slots)
    except TapflowError as exc:
        return {"grain": grain, "rows": [], "note": f"not computed: {exc.detail}"}
    periods = sorted(set(a) | set(b))[-PERIODS:]
    rows = []
    changed = 0
    for p in periods:
        x, y = a.get(p), b.get(p)
        delta = None if x is None or y is None else y - x
        rel = None if delta is None or not x else delta / abs(x)
        rows.append({"period": p, "before": x, "after": y, "delta": delta, "relative_delta": rel})
        changed += delta is None or abs(delta) > 1e-9
    return {"grain": grain, "periods": len(rows), "periods_changed": changed, "rows": rows}


def _series(
    project: Project,
    name: str,
    grain: Grain | None,
    warehouse: Warehouse,
    deadline: float,
    slots: threading.BoundedSemaphore | None,
) -> dict[str, float | None]:
    """The metric per period, run within ``deadline`` in one of the service's query ``slots``."""
    compiled = compile_query(project, MetricQuery(metrics=(name,), grain=grain))
    if slots is not None and not slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
        raise QueryTimeout("no query slot freed before the time limit")
    try:
        timeout_s = max(0.1, deadline - time.monotonic())
        sql = compiled.bound_sql(warehouse.dialect)
        rows = warehouse.select(sql, timeout_s=timeout_s, params=compiled.params).rows
    finally:
        if slots is not None:
            slots.release()
    if grain is None:
        return {"total": rows[0][0] if rows else None}
    return {r[0].isoformat(): r[1] for r in rows}
