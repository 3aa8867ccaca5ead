"""The migration dashboard: per deprecated object, its dependents (lineage) and its consumers (usage)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from app.definitions.project import Project
from app.engine.statedb import StateDB
from app.governance.deprecation import DeprecatedObject, all_objects, as_dict, migration_guide
from app.governance.lineage import Lineage, build_lineage
from app.governance.usage import consumers_of


def dashboard_entry(
    project: Project,
    state: StateDB,
    obj: DeprecatedObject,
    lineage: Lineage,
    now: datetime,
    guide_base: Path | None = None,
) -> dict[str, Any]:
    """What the dashboard says of one object; with ``guide_base``, the migration guide's text too."""
    kind = "metric" if obj.kind == "version" else obj.kind
    dependents = [lineage.nodes[n] for n in lineage.downstream(f"{kind}:{obj.name}")]
    consumers = consumers_of(state, obj.name, now)
    entry = as_dict(project, obj, now) | {
        "dependents": [{"kind": d.kind, "name": d.name} for d in dependents],
        "consumers": consumers,
        "requests_7d": sum(c["requests_7d"] for c in consumers),
        "requests_30d": sum(c["requests_30d"] for c in consumers),
        "last_seen": max((c["last_seen"] for c in consumers if c["last_seen"]), default=None),
        "past_sunset": obj.is_past_sunset(now),
    }
    if guide_base is not None:
        entry["migration_guide"] = migration_guide(guide_base, obj)
    return entry


def dashboard(project: Project, state: StateDB, now: datetime) -> list[dict[str, Any]]:
    """Every deprecated object, soonest sunset first."""
    lineage = build_lineage(project)
    items = [dashboard_entry(project, state, obj, lineage, now) for obj in all_objects(project)]
    return sorted(items, key=lambda e: (e["sunset_date"] or "9999", e["name"]))
