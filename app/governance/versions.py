"""The metric registry: record what is served, detect definitions changed in place, list versions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.definitions.project import MetricVersion, Project
from app.engine.statedb import StateDB
from app.governance.changes import BREAKING, compare_fingerprints, metric_fingerprint


def definition_hash(m: MetricVersion) -> str:
    return hashlib.sha256(json.dumps(metric_fingerprint(m), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class InPlaceChange:
    metric: str
    version: int
    old_hash: str
    new_hash: str
    breaking: bool
    reasons: tuple[str, ...]

    def message(self) -> str:
        kind = "a breaking change" if self.breaking else "a change"
        return (
            f"Metric '{self.metric}' version {self.version} was changed in place ({kind}: "
            f"{'; '.join(self.reasons)}) without a version bump; hash {self.old_hash[:12]} -> {self.new_hash[:12]}."
        )


def sync_registry(state: StateDB, project: Project, now: datetime) -> list[InPlaceChange]:
    """Record every served version; report those whose definition differs from the last one served (replicas
    starting together both record theirs: the upsert keeps one row per metric, version and definition)."""
    found = []
    with state.transaction() as cur:
        for name in sorted(project.metrics):
            for m in project.versions(name):
                digest = definition_hash(m)
                fingerprint = metric_fingerprint(m)
                last = cur.execute(
                    "SELECT definition_hash, definition FROM meta.metric_versions WHERE metric = ? AND version = ? "
                    "ORDER BY last_deployed DESC LIMIT 1",
                    [name, m.version],
                ).fetchone()
                if last and last[0] != digest:
                    change = compare_fingerprints(name, json.loads(last[1]), fingerprint, m.version, m.version)
                    found.append(
                        InPlaceChange(
                            name, m.version, last[0], digest, change.classification == BREAKING, tuple(change.reasons)
                        )
                    )
                cur.execute(
                    "INSERT INTO meta.metric_versions VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (metric, version, definition_hash) "
                    "DO UPDATE SET last_deployed = excluded.last_deployed",
                    [name, m.version, digest, json.dumps(fingerprint, sort_keys=True), now, now],
                )
        first = cur.execute(
            "SELECT metric, version, min(first_deployed) FROM meta.metric_versions GROUP BY metric, version"
        )
        project.deployed = {(metric, version): at.date() for metric, version, at in first.fetchall()}
    return found


def version_history(state: StateDB, project: Project, name: str) -> list[dict[str, Any]]:
    """Each served version: hash, deployments, sunset, and the field diff to the version before it."""
    served = project.versions(name)
    with state.transaction() as cur:
        rows = cur.execute(
            "SELECT version, definition_hash, definition, first_deployed, last_deployed FROM meta.metric_versions "
            "WHERE metric = ? ORDER BY version, first_deployed",
            [name],
        ).fetchall()
    history: dict[int, list[dict[str, Any]]] = {}
    for version, digest, definition, first, last in rows:
        history.setdefault(version, []).append(
            {
                "hash": digest,
                "first_deployed": first.isoformat(),
                "last_deployed": last.isoformat(),
                "definition": json.loads(definition),
            }
        )
    out = []
    previous = None
    for m in served:
        digest = definition_hash(m)
        fingerprint = metric_fingerprint(m)
        deployments = history.get(m.version, [])
        in_place = []
        for before, after in zip(deployments, deployments[1:], strict=False):
            change = compare_fingerprints(name, before["definition"], after["definition"], m.version, m.version)
            in_place.append(
                {
                    "from_hash": before["hash"],
                    "to_hash": after["hash"],
                    "at": after["first_deployed"],
                    "classification": change.classification,
                    "reasons": change.reasons,
                }
            )
        diff = None
        if previous is not None:
            change = compare_fingerprints(name, metric_fingerprint(previous), fingerprint, previous.version, m.version)
            diff = {
                "classification": change.classification,
                "reasons": change.reasons,
                "fields": [vars(f) for f in change.fields],
            }
        out.append(
            {
                "version": m.version,
                "hash": digest,
                "current": m is project.metrics[name],
                "sunset_date": m.sunset_date.isoformat() if m.sunset_date else None,
                "first_deployed": next((d["first_deployed"] for d in deployments if d["hash"] == digest), None),
                "last_deployed": next((d["last_deployed"] for d in deployments if d["hash"] == digest), None),
                "diff_to_previous": diff,
                "changed_in_place": in_place,
            }
        )
        previous = m
    return out
