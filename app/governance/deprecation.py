"""Deprecated objects (metrics, entities, tables), what inherits their deprecation, and the signals.

A metric over a deprecated table or entity inherits it; a derived metric inherits from the
metrics it reads. Signals follow RFC 9745 (Deprecation: @unix-seconds), RFC 8594 (Sunset:
IMF-fixdate) and RFC 8288 links (successor-version, deprecation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from app.definitions.diagnostics import did_you_mean
from app.definitions.project import MetricVersion, Project
from app.definitions.spec import Deprecation
from app.errors import Gone, NotFound
from app.memo import Memo


@dataclass(frozen=True)
class DeprecatedObject:
    kind: str  # metric | entity | table | version
    name: str  # metric or entity name, or the table's schema.table
    deprecation: Deprecation
    inherited_from: str | None = None

    @property
    def slug(self) -> str:
        """The name used in URLs: tables by their bare name (legacy.customer_facts -> customer_facts)."""
        return self.name.rsplit(".", 1)[-1] if self.kind == "table" else self.name

    def sunset_at(self) -> datetime | None:
        d = self.deprecation.sunset_date
        return datetime.combine(d, time.min) if d else None

    def is_past_sunset(self, now: datetime) -> bool:
        sunset = self.sunset_at()
        return sunset is not None and now >= sunset

    def days_to_sunset(self, now: datetime) -> int | None:
        d = self.deprecation.sunset_date
        return (d - now.date()).days if d else None


@dataclass
class Signal:
    """What a response says about the deprecated objects it touched."""

    objects: list[DeprecatedObject] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objects]


def explicit_objects(project: Project) -> list[DeprecatedObject]:
    """Everything a definition marks deprecated (previous versions included)."""
    out = []
    for name, entity in project.entities.items():
        if entity.deprecation:
            out.append(DeprecatedObject("entity", name, entity.deprecation))
        for table in entity.tables.values():
            if table.deprecation:
                out.append(DeprecatedObject("table", table.name, table.deprecation))
    for m in project.metrics.values():
        if m.spec.deprecation:
            out.append(DeprecatedObject("metric", m.name, m.spec.deprecation))
        for older in project.previous.get(m.name, {}).values():
            if older.sunset_date is not None:
                out.append(_version_object(project, older))
    return out


def _version_object(project: Project, m: MetricVersion) -> DeprecatedObject:
    current = project.metrics[m.name]
    return DeprecatedObject(
        "version",
        f"{m.name}@v{m.version}",
        Deprecation(
            deprecated_at=_version_deprecated_at(project, m),
            sunset_date=m.sunset_date,
            replaced_by=m.name,
            reason=f"Version {m.version} of '{m.name}' is superseded by version {current.version}.",
        ),
    )


def metric_objects(project: Project, m: MetricVersion) -> list[DeprecatedObject]:
    """The deprecations a metric carries: its own, its table's and entity's, its parents'."""
    out: list[DeprecatedObject] = []
    if m.spec.deprecation and m.version == project.metrics[m.name].version:
        out.append(DeprecatedObject("metric", m.name, m.spec.deprecation))
    if m.sunset_date is not None:  # an older version still served
        out.append(_version_object(project, m))
    if m.table is not None:
        entity = project.entities[m.table.entity]
        if m.table.spec.deprecation:
            out.append(DeprecatedObject("table", m.table.name, m.table.spec.deprecation))
        if entity.deprecation:
            out.append(DeprecatedObject("entity", entity.name, entity.deprecation))
    for parent in m.depends_on:
        for obj in metric_objects(project, project.metric(parent)):
            if obj.name not in {o.name for o in out}:
                out.append(obj)
    return out


def _version_deprecated_at(project: Project, m: MetricVersion) -> date:
    """An older version is deprecated from the day a newer one was first served (the registry's
    record); without a registry (no database at hand), from today, when the newer one is served."""
    newer = [at for (name, version), at in project.deployed.items() if name == m.name and version > m.version]
    return min(newer) if newer else datetime.now(UTC).date()


def inherited_objects(project: Project) -> list[DeprecatedObject]:
    """Metrics deprecated only through a table, entity or parent metric."""
    out = []
    for m in project.metrics.values():
        if m.spec.deprecation:
            continue
        sources = metric_objects(project, m)
        if sources:
            worst = _most_urgent(sources)
            out.append(DeprecatedObject("metric", m.name, worst.deprecation, inherited_from=worst.name))
    return out


def all_objects(project: Project) -> list[DeprecatedObject]:
    return explicit_objects(project) + inherited_objects(project)


def find_object(project: Project, name: str) -> DeprecatedObject:
    candidates = all_objects(project)
    for obj in candidates:
        if name in (obj.name, obj.slug):
            return obj
    names = {o.slug for o in candidates}
    raise NotFound(f"No deprecated object named '{name}'. {did_you_mean(name, names)}")


def touched(project: Project, metrics: list[MetricVersion], tables: frozenset[str]) -> tuple[DeprecatedObject, ...]:
    """Deprecated objects behind a response: the metrics (and parents) and every table read; worked out once
    per metrics and tables of a project (a query shape's answers ask again and again)."""
    key = (tuple((m.name, m.version) for m in metrics), tables)
    known: Memo[tuple[tuple[tuple[str, int], ...], frozenset[str]], tuple[DeprecatedObject, ...]] | None
    known = project.cache.get("touched")
    if known is None:
        known = project.cache.setdefault("touched", Memo(TOUCHED_SIZE))
    objects = known.get(key)
    if objects is None:
        objects = known.put(key, tuple(_touched(project, metrics, tables)))
    return objects


TOUCHED_SIZE = 1024


def _touched(project: Project, metrics: list[MetricVersion], tables: frozenset[str]) -> list[DeprecatedObject]:
    out: dict[str, DeprecatedObject] = {}
    for m in metrics:
        for obj in metric_objects(project, m):
            out.setdefault(obj.name, obj)
    for (entity_name, _), bound in project.tables.items():
        if bound.name.lower() in tables:
            entity = project.entities[entity_name]
            if bound.spec.deprecation:
                out.setdefault(bound.name, DeprecatedObject("table", bound.name, bound.spec.deprecation))
            if entity.deprecation:
                out.setdefault(entity.name, DeprecatedObject("entity", entity.name, entity.deprecation))
    return list(out.values())


def _most_urgent(objects: Sequence[DeprecatedObject]) -> DeprecatedObject:
    order = {"metric": 0, "version": 1, "entity": 2, "table": 3}
    return min(objects, key=lambda o: (o.deprecation.sunset_date or date.max, order[o.kind]))


def successor_url(project: Project, obj: DeprecatedObject) -> str | None:
    target = obj.deprecation.replaced_by
    if not target:
        return None
    if obj.kind == "version" or target in project.metrics:
        return f"/metrics/{target}"
    if target in project.entities:
        return f"/entities/{target}"
    for (entity, _), bound in project.tables.items():
        if target.lower() in (bound.name.lower(), bound.name.lower().rsplit(".", 1)[-1]):
            return f"/entities/{entity}"
    return None


def guide_url(obj: DeprecatedObject) -> str:
    return f"/deprecations/{obj.slug}/guide"


def signal(project: Project, objects: Sequence[DeprecatedObject], now: datetime, *, enforce: bool = True) -> Signal:
    """Headers and meta for a response touching ``objects``; with ``enforce``, Gone past a sunset."""
    if not objects:
        return Signal()
    gone = [o for o in objects if o.is_past_sunset(now)]
    if gone and enforce:
        raise _gone(project, _most_urgent(gone), now)
    primary = _most_urgent(objects)
    dep = primary.deprecation
    headers = {"Deprecation": f"@{int(datetime.combine(dep.deprecated_at, time.min, UTC).timestamp())}"}
    sunset = primary.sunset_at()
    if sunset is not None:
        headers["Sunset"] = format_datetime(sunset.replace(tzinfo=UTC), usegmt=True)
    headers["Link"] = _links(project, primary)
    warnings = [describe(o, now) for o in objects]
    meta = {
        **as_dict(project, primary, now),
        "objects": [as_dict(project, o, now) for o in objects],
    }
    return Signal(list(objects), headers, meta, warnings)


def _links(project: Project, obj: DeprecatedObject) -> str:
    """RFC 8288 links: the successor (when known) and the migration guide."""
    links = [f'<{guide_url(obj)}>; rel="deprecation"; type="text/markdown"']
    successor = successor_url(project, obj)
    if successor:
        links.insert(0, f'<{successor}>; rel="successor-version"')
    return ", ".join(links)


def describe(obj: DeprecatedObject, now: datetime) -> str:
    """One sentence for people: what, until when, instead of what, and where the guide is."""
    dep = obj.deprecation
    past = obj.is_past_sunset(now)
    text = f"{obj.kind.capitalize()} '{obj.name}' " + ("was sunset" if past else "is deprecated")
    if past and dep.sunset_date is not None:
        text += f" on {dep.sunset_date.isoformat()}"
    if obj.inherited_from:
        text += f" (through '{obj.inherited_from}')"
    if dep.sunset_date and not past:
        text += f" and will be removed on {dep.sunset_date.isoformat()} ({obj.days_to_sunset(now)} days)"
    if dep.replaced_by:
        text += f"; use '{dep.replaced_by}' instead"
    return text + f". Migration guide: {guide_url(obj)}"


def as_dict(project: Project, obj: DeprecatedObject, now: datetime) -> dict[str, Any]:
    dep = obj.deprecation
    return {
        "kind": obj.kind,
        "name": obj.name,
        "deprecated_at": dep.deprecated_at.isoformat(),
        "sunset_date": dep.sunset_date.isoformat() if dep.sunset_date else None,
        "days_to_sunset": obj.days_to_sunset(now),
        "replaced_by": dep.replaced_by,
        "successor_url": successor_url(project, obj),
        "reason": dep.reason,
        "inherited_from": obj.inherited_from,
        "migration_guide_url": guide_url(obj),
    }


def _gone(project: Project, obj: DeprecatedObject, now: datetime) -> Gone:
    dep = obj.deprecation
    error = Gone(
        describe(obj, now),
        replaced_by=dep.replaced_by,
        successor_url=successor_url(project, obj),
        migration_guide_url=guide_url(obj),
        sunset_date=dep.sunset_date.isoformat() if dep.sunset_date else None,
    )
    error.headers = {"Link": _links(project, obj)}
    return error


def migration_guide(project_dir: Path, obj: DeprecatedObject) -> str:
    """The guide's Markdown: the text itself, or the file it names (relative to the project)."""
    guide = (obj.deprecation.migration_guide or "").strip()
    path = obj.deprecation.guide_path(project_dir)
    if path is not None and path.is_file() and project_dir.resolve() in path.parents:
        return path.read_text(encoding="utf-8")
    if guide:
        return guide
    return f"# {obj.name}\n\nNo migration guide was written. {obj.deprecation.reason or ''}\n"
