"""Classify the differences between two sets of definitions (DESIGN 6).

Breaking (values or contract change): calculation_method, expression, the table a metric
reads (model/entity), timestamp, filters, window, non_additive_dimension; a dimension or
grain removed; a metric removed or renamed; an entity column, relationship, table or primary
key that a metric uses removed or changed. Indirectly breaking: a derived metric whose
dependency changed in a breaking way. Non-breaking: a metric, dimension or grain added.
Metadata: label, description, meta, config, deprecation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.errors import ParseError

from app.definitions.expressions import derived_sql, parse_expression
from app.definitions.paths import DimensionPath, PathError, resolve_path
from app.definitions.project import MetricVersion, Project
from app.definitions.spec import Entity

BREAKING, INDIRECT, NON_BREAKING, METADATA = "breaking", "breaking_indirect", "non_breaking", "metadata"
RANK = {None: 0, METADATA: 1, NON_BREAKING: 2, INDIRECT: 3, BREAKING: 4}
BREAKING_FIELDS = ("calculation_method", "expression", "timestamp", "filters", "window", "non_additive_dimension")
METADATA_FIELDS = ("label", "description", "meta", "config", "deprecation", "model", "entity")


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any
    classification: str


@dataclass
class Change:
    kind: str  # metric | entity
    name: str
    status: str  # added | removed | renamed | changed
    classification: str | None = None
    fields: list[FieldChange] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    old_version: int | None = None
    declared_version: int | None = None
    renamed_to: str | None = None
    caused_by: list[str] = field(default_factory=list)  # upstream changes behind an indirect break

    @property
    def required_version(self) -> int | None:
        if self.kind != "metric" or self.old_version is None or self.status != "changed":
            return None
        return self.old_version + 1 if self.classification == BREAKING else self.old_version

    @property
    def version_ok(self) -> bool:
        required = self.required_version
        return required is None or (self.declared_version or 0) >= required

    def bump(self, classification: str, reason: str) -> None:
        if RANK[classification] > RANK[self.classification]:
            self.classification = classification
        if reason not in self.reasons:
            self.reasons.append(reason)


def metric_fingerprint(m: MetricVersion) -> dict[str, Any]:
    """What defines a metric's values and contract, normalized (SQL re-rendered by sqlglot)."""
    spec = m.spec.model_dump(
        mode="json", exclude={"previous_versions", "version", "name", "assertions", "pre_aggregations"}
    )
    spec["expression"] = _normal_sql(spec.get("expression"), m.spec.calculation_method == "derived")
    spec["table"] = m.table.name if m.table else None
    spec["grains"] = list(m.grains)
    spec["dimensions"] = list(m.dimensions)
    spec["depends_on"] = sorted(m.depends_on)
    return spec


def _normal_sql(text: Any, derived: bool) -> Any:
    if text is None:
        return None
    try:
        return parse_expression(derived_sql(str(text)) if derived else str(text)).sql("duckdb")
    except ParseError:
        return str(text)


def compare_metric(old: MetricVersion, new: MetricVersion) -> Change:
    return compare_fingerprints(new.name, metric_fingerprint(old), metric_fingerprint(new), old.version, new.version)


def compare_fingerprints(
    name: str, a: dict[str, Any], b: dict[str, Any], old_version: int | None, new_version: int | None
) -> Change:
    """Field-level differences of two metric fingerprints, classified."""
    change = Change("metric", name, "changed", old_version=old_version, declared_version=new_version)
    if a.get("table") != b.get("table"):
        change.fields.append(FieldChange("table", a.get("table"), b.get("table"), BREAKING))
        change.bump(BREAKING, f"reads {b.get('table')} instead of {a.get('table')}")
    for key in BREAKING_FIELDS:
        if a.get(key) != b.get(key):
            change.fields.append(FieldChange(key, a.get(key), b.get(key), BREAKING))
            change.bump(BREAKING, f"{key} changed")
    for key, noun in (("dimensions", "dimension"), ("grains", "time grain")):
        before, after = a.get(key) or [], b.get(key) or []
        removed = [d for d in before if d not in after]
        added = [d for d in after if d not in before]
        if removed or added:
            change.fields.append(FieldChange(key, before, after, BREAKING if removed else NON_BREAKING))
            for d in removed:
                change.bump(BREAKING, f"{noun} '{d}' removed")
            for d in added:
                change.bump(NON_BREAKING, f"{noun} '{d}' added")
    if a.get("depends_on") != b.get("depends_on"):
        change.fields.append(FieldChange("depends_on", a.get("depends_on"), b.get("depends_on"), BREAKING))
    for key in METADATA_FIELDS:
        if a.get(key) != b.get(key) and not any(f.field == key for f in change.fields):
            change.fields.append(FieldChange(key, a.get(key), b.get(key), METADATA))
            change.bump(METADATA, f"{key} changed")
    return change


def classify(old: Project, new: Project) -> list[Change]:
    """Every metric and entity that differs, classified; derived metrics of breaking changes included."""
    changes: dict[str, Change] = {}
    removed = [n for n in old.metrics if n not in new.metrics]
    added = [n for n in new.metrics if n not in old.metrics]
    renames = _renames(old, new, removed, added)
    for name in removed:
        m = old.metrics[name]
        target = renames.get(name)
        change = Change(
            "metric", name, "renamed" if target else "removed", BREAKING, old_version=m.version, renamed_to=target
        )
        change.reasons.append(f"renamed to '{target}'" if target else "metric removed")
        changes[name] = change
    for name in added:
        if name in renames.values():
            continue
        change = Change("metric", name, "added", NON_BREAKING, declared_version=new.metrics[name].version)
        change.reasons.append("metric added")
        changes[name] = change
    for name in old.metrics.keys() & new.metrics.keys():
        change = compare_metric(old.metrics[name], new.metrics[name])
        if change.fields:
            changes[name] = change
    for entity_change, affected in _entity_changes(old, new):
        changes[f"entity:{entity_change.name}"] = entity_change
        for metric_name, reason in affected:
            m = new.metrics[metric_name]
            change = changes.setdefault(
                metric_name,
                Change(
                    "metric",
                    metric_name,
                    "changed",
                    old_version=old.metrics[metric_name].version,
                    declared_version=m.version,
                ),
            )
            change.bump(BREAKING, reason)
    _indirect(old, new, changes)
    return sorted(changes.values(), key=lambda c: (-RANK[c.classification], c.kind, c.name))


def _renames(old: Project, new: Project, removed: list[str], added: list[str]) -> dict[str, str]:
    """A removed metric whose definition reappears under a new name was renamed."""
    out = {}
    for gone in removed:
        a = metric_fingerprint(old.metrics[gone])
        for name in added:
            b = metric_fingerprint(new.metrics[name])
            if all(a.get(k) == b.get(k) for k in (*BREAKING_FIELDS, "table", "dimensions", "grains")):
                out[gone] = name
                break
    return out


def _indirect(old: Project, new: Project, changes: dict[str, Change]) -> None:
    breaking = {n for n, c in changes.items() if c.kind == "metric" and c.classification == BREAKING}
    frontier = set(breaking)
    while frontier:
        nxt = set()
        for m in new.metrics.values():
            hit = sorted(set(m.depends_on) & frontier)
            if not hit or m.name in breaking:
                continue
            change = changes.setdefault(
                m.name,
                Change(
                    "metric",
                    m.name,
                    "changed",
                    old_version=old.metrics[m.name].version if m.name in old.metrics else None,
                    declared_version=m.version,
                ),
            )
            before = change.classification
            change.bump(
                INDIRECT, "depends on " + ", ".join(f"'{h}'" for h in hit) + ", which changed in a breaking way"
            )
            change.caused_by = sorted(set(change.caused_by) | set(hit))
            if before != change.classification:
                nxt.add(m.name)
        frontier = nxt


def metric_references(project: Project, m: MetricVersion) -> tuple[set[str], set[tuple[str, str, str]]]:
    """Columns of the metric's own entity it uses, and (entity, relationship, target) hops of its dimensions."""
    columns: set[str] = set()
    spec = m.spec
    if spec.expression is not None and spec.calculation_method != "derived":
        try:
            columns |= {c.name for c in parse_expression(str(spec.expression)).find_all(exp.Column)}
        except ParseError:
            pass
    columns |= {f.field for f in spec.filters or ()}
    if spec.timestamp:
        columns.add(spec.timestamp)
    if spec.non_additive_dimension:
        columns.add(spec.non_additive_dimension.name)
    hops: set[tuple[str, str, str]] = set()
    for dim in m.dimensions:
        if "." not in dim:
            columns.add(dim)
        if m.table is not None:
            path = resolve_path(project, m.table, dim)
            hops |= {(hop.source, hop.relationship.name, hop.target) for hop in path.hops}
    return columns, hops


def _entity_changes(old: Project, new: Project) -> Iterator[tuple[Change, list[tuple[str, str]]]]:
    for name, before in old.entities.items():
        after = new.entities.get(name)
        change = Change("entity", name, "removed" if after is None else "changed")
        if after is None:
            change.bump(BREAKING, "entity removed")
            yield change, []
            continue
        cols_before = {d.name for d in before.dimensions} | {c.name for c in before.columns}
        cols_after = {d.name for d in after.dimensions} | {c.name for c in after.columns}
        rels_before = {r.name: r for r in before.relationships}
        rels_after = {r.name: r for r in after.relationships}
        tables_before = {k: t.name for k, t in before.tables.items()}
        tables_after = {k: t.name for k, t in after.tables.items()}
        lost_cols = cols_before - cols_after
        lost_rels = {r for r in rels_before if r not in rels_after or rels_after[r] != rels_before[r]}
        moved = {k for k in tables_before if tables_after.get(k) != tables_before[k]}
        for col in sorted(lost_cols):
            change.fields.append(FieldChange("columns", col, None, BREAKING))
        for rel in sorted(lost_rels):
            change.fields.append(
                FieldChange("relationships", rel, rels_after.get(rel) and rels_after[rel].model_dump(), BREAKING)
            )
        for key in sorted(moved):
            change.fields.append(FieldChange(f"tables.{key}", tables_before[key], tables_after.get(key), BREAKING))
        if before.primary_key != after.primary_key:
            change.fields.append(FieldChange("primary_key", before.primary_key, after.primary_key, BREAKING))
        recomputed = _recomputed(before, after)
        for dim, (was, now) in recomputed.items():  # the same name, other numbers
            change.fields.append(FieldChange(f"dimensions.{dim}.expression", was, now, BREAKING))
        for key in ("description", "meta", "deprecation"):
            if getattr(before, key) != getattr(after, key):
                change.fields.append(FieldChange(key, None, None, METADATA))
        added_cols = cols_after - cols_before
        if added_cols or set(rels_after) - set(rels_before):
            change.fields.append(
                FieldChange("added", None, sorted(added_cols | (set(rels_after) - set(rels_before))), NON_BREAKING)
            )
        if not change.fields:
            continue
        affected = []
        for m in new.metrics.values():
            if m.name not in old.metrics:
                continue
            columns, hops = metric_references(new, m)
            if m.table is not None and m.table.entity == name:
                for col in sorted(columns & lost_cols):
                    affected.append((m.name, f"uses column '{col}', removed from entity '{name}'"))
                if m.table.key in moved:
                    affected.append((m.name, f"its table {tables_before[m.table.key]} of entity '{name}' changed"))
                if before.primary_key != after.primary_key:
                    affected.append((m.name, f"primary key of entity '{name}' changed"))
            filtered = tuple(f.field for f in m.spec.filters or ())
            for dim in (*m.dimensions, *filtered) if m.table is not None and recomputed else ():
                path = _path(new, m, dim)
                if path is not None and path.entity == name and path.column in recomputed:
                    affected.append((m.name, f"'{dim}' is computed by a changed expression"))
            for ent, hop, target in sorted(hops):
                if ent == name and hop in lost_rels:
                    affected.append((m.name, f"uses relationship '{hop}', removed or changed on entity '{name}'"))
                if target == name and before.primary_key != after.primary_key:
                    affected.append((m.name, f"joins entity '{name}', whose primary key changed"))
        for f in change.fields:
            change.bump(f.classification, f"{f.field} changed")
        yield change, affected


def _recomputed(before: Entity, after: Entity) -> dict[str, tuple[str | None, str | None]]:
    """Dimensions of both versions of an entity whose expression changed (or that became or stopped being
    computed): name -> (expression before, after)."""
    was = {d.name: d.expression for d in before.dimensions}
    return {
        d.name: (was[d.name], d.expression)
        for d in after.dimensions
        if d.name in was and (was[d.name] or "").split() != (d.expression or "").split()
    }


def _path(project: Project, m: MetricVersion, name: str) -> DimensionPath | None:
    """Where a metric reads a dimension or filter field from (None: nowhere known)."""
    assert m.table is not None
    try:
        return resolve_path(project, m.table, name)
    except PathError:
        return None
