"""Every metric resolved: unique names, derived metrics (cycles included), previous versions, deprecations.

``MetricResolver`` is complete when constructed: ``current`` and ``previous`` hold each metric
that resolved, and every problem found is in ``problems``. A metric whose dependency failed is
left out without a problem of its own, so one mistake gives one problem.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlglot import exp

from app.definitions.allowlist import disallowed
from app.definitions.diagnostics import Problems, did_you_mean
from app.definitions.entities import BoundEntities
from app.definitions.expressions import derived_sql
from app.definitions.located import Located, Sub
from app.definitions.measures import MeasureChecker, parse_or_report
from app.definitions.project import MetricVersion
from app.definitions.spec import GRAINS, Metric

NOT_DERIVED = ("model", "entity", "filters", "non_additive_dimension", "window")


class MetricResolver:
    def __init__(self, model: BoundEntities, items: list[Located[Metric]], problems: Problems):
        self.model = model
        self.problems = problems
        self.located = problems.by_name(
            items, "metric names must be unique across the project: rename one or bump its version"
        )
        self._resolved: dict[str, MetricVersion | None] = {}
        self._visiting: list[str] = []
        self.current: dict[str, MetricVersion] = {}
        for name in self.located:
            mv = self._resolve(name)
            if mv is not None:
                self.current[name] = mv
        self.previous: dict[str, dict[int, MetricVersion]] = {}
        for name, item in self.located.items():
            older = self._previous_versions(item)
            if older:
                self.previous[name] = older
        for item in self.located.values():
            self._check_deprecation(item)
            self._check_assertions(item)

    def _resolve(self, name: str) -> MetricVersion | None:
        if name in self._resolved:
            return self._resolved[name]
        item = self.located[name]
        if name in self._visiting:
            cycle = self._visiting[self._visiting.index(name) :] + [name]
            self.problems.report(
                item,
                ("expression",),
                "derived metrics form a cycle: " + " -> ".join(cycle) + "; a derived metric cannot depend on itself",
            )
            for n in cycle:
                self._resolved.setdefault(n, None)
            return None
        self._visiting.append(name)
        mv = self._resolve_body(item, item.spec, ())
        self._visiting.pop()
        return self._resolved.setdefault(name, mv)

    def _previous_versions(self, item: Located[Metric]) -> dict[int, MetricVersion]:
        spec = item.spec
        out: dict[int, MetricVersion] = {}
        for i, prev in enumerate(spec.previous_versions):
            sub: Sub = ("previous_versions", i)
            if prev.version >= spec.version:
                self.problems.report(
                    item,
                    (*sub, "version"),
                    f"previous version {prev.version} must be lower than the current version {spec.version}",
                )
                continue
            if prev.version in out:
                self.problems.report(item, (*sub, "version"), f"version {prev.version} is listed twice")
                continue
            overrides = prev.model_dump(exclude_unset=True, exclude={"version", "sunset_date"})
            merged = Metric.model_validate(
                spec.model_dump() | overrides | {"version": prev.version, "previous_versions": ()}
            )
            mv = self._resolve_body(item, merged, sub)
            if mv is not None:
                out[prev.version] = replace(mv, sunset_date=prev.sunset_date)
        return out

    def _resolve_body(self, item: Located[Metric], spec: Metric, sub: Sub) -> MetricVersion | None:
        before = len(self.problems)
        if spec.calculation_method == "derived":
            mv = self._resolve_derived(item, spec, sub)
        else:
            mv = MeasureChecker(self.model, self.problems, item, sub).resolve(spec)
        return mv if len(self.problems) == before else None

    def _resolve_derived(self, item: Located[Metric], spec: Metric, sub: Sub) -> MetricVersion | None:
        report = self.problems.report
        for key in NOT_DERIVED:
            if getattr(spec, key):
                report(
                    item, (*sub, key), f"a derived metric takes no '{key}': set it on the metrics it is computed from"
                )
        if spec.expression is None:
            report(
                item,
                (*sub, "expression"),
                "a derived metric needs an expression over other metrics, e.g. {{ metric('mrr') }} * 12",
            )
            return None
        tree = parse_or_report(self.problems, item, (*sub, "expression"), derived_sql(str(spec.expression)))
        if tree is None:
            return None
        refused = disallowed(tree)
        if refused is not None:
            report(item, (*sub, "expression"), refused)
            return None
        names = list(dict.fromkeys(c.name for c in tree.find_all(exp.Column, bfs=False)))
        if any(isinstance(n, exp.AggFunc) for n in tree.walk()):
            report(item, (*sub, "expression"), "a derived expression combines metrics; it must not aggregate")
        if not names:
            report(item, (*sub, "expression"), "a derived expression must reference at least one metric")
            return None
        parents: list[MetricVersion] = []
        for ref in names:
            if ref not in self.located:
                self.problems.report_unknown(
                    item,
                    (*sub, "expression"),
                    f"unknown metric '{ref}' in derived expression. {did_you_mean(ref, self.located)}",
                    name=ref,
                )
                continue
            if ref == spec.name:
                report(item, (*sub, "expression"), f"derived metric '{ref}' refers to itself")
                continue
            parent = self._resolve(ref)
            if parent is not None:
                parents.append(parent)
        if len(parents) != len(names):
            return None
        if spec.timestamp:  # dbt's legacy spec requires one: accepted when its parts agree
            stamps = {self._timestamp(p) for p in parents}
            if stamps != {spec.timestamp}:
                used = ", ".join(f"{p.name} uses {self._timestamp(p) or 'none'}" for p in parents)
                report(
                    item,
                    (*sub, "timestamp"),
                    f"timestamp '{spec.timestamp}' disagrees with the metrics it is computed from ({used}); "
                    "drop it (a derived metric takes its parts' time) or make them agree",
                )
                return None
        common_grains = [g for g in GRAINS if all(g in p.grains for p in parents)]
        common_dims = [d for d in parents[0].dimensions if all(d in p.dimensions for p in parents)]
        grains = self._subset(item, (*sub, "time_grains"), spec.time_grains, common_grains, "time grain")
        dims = self._subset(item, (*sub, "dimensions"), spec.dimensions, common_dims, "dimension")
        answered = [q for q in parents[0].answers if all(q in p.answers for p in parents)]
        qualified = tuple(q for q in answered if q not in dims and "." in q)
        return MetricVersion(spec, None, grains, dims, tuple(names), qualified=qualified)

    def _timestamp(self, m: MetricVersion) -> str | None:
        """The timestamp column of a metric: its own, or the one all its parts share."""
        if m.spec.timestamp or m.table is not None:
            return m.spec.timestamp
        parts = [self._resolved.get(p) for p in m.depends_on]
        stamps = {self._timestamp(p) for p in parts if p is not None}
        return stamps.pop() if len(stamps) == 1 else None

    def _subset(
        self, item: Located[Metric], sub: Sub, declared: tuple[Any, ...] | None, available: list[str], what: str
    ) -> tuple[str, ...]:
        if declared is None:
            return tuple(available)
        for i, value in enumerate(declared):
            if value not in available:
                self.problems.report(
                    item,
                    (*sub, i),
                    f"{what} '{value}' is not available on every metric this derived metric uses. "
                    + did_you_mean(value, available),
                )
        return tuple(v for v in declared if v in available)

    def _check_assertions(self, item: Located[Metric]) -> None:
        """Each assertion is a condition over metric names (no aggregate, nothing outside the allow-list)."""
        for i, text in enumerate(item.spec.assertions):
            sub: Sub = ("assertions", i)
            tree = parse_or_report(self.problems, item, sub, text)
            if tree is None:
                continue
            refused = disallowed(tree)
            if refused is not None or any(isinstance(n, exp.AggFunc) for n in tree.walk()):
                self.problems.report(item, sub, refused or "an assertion compares metrics; it must not aggregate")
                continue
            for ref in dict.fromkeys(c.name for c in tree.find_all(exp.Column)):
                if ref not in self.located:
                    self.problems.report(
                        item, sub, f"unknown metric '{ref}' in assertion. {did_you_mean(ref, self.located)}"
                    )

    def _check_deprecation(self, item: Located[Metric]) -> None:
        dep = item.spec.deprecation
        if dep is None:
            return
        if dep.replaced_by and dep.replaced_by not in self.located:
            self.problems.report_unknown(
                item,
                ("deprecation", "replaced_by"),
                f"replaced_by names unknown metric '{dep.replaced_by}'. {did_you_mean(dep.replaced_by, self.located)}",
                name=dep.replaced_by,
            )
        if dep.sunset_date and dep.sunset_date < dep.deprecated_at:
            self.problems.report(item, ("deprecation", "sunset_date"), "sunset_date must not be before deprecated_at")
