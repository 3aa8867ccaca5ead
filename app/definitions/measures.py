"""A simple (non-derived) metric body checked against its table: columns, grains, dimensions, filters."""

from __future__ import annotations

import math
import re

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from app.definitions.allowlist import disallowed
from app.definitions.diagnostics import Problems, did_you_mean
from app.definitions.entities import BoundEntities, allowed_grains
from app.definitions.expressions import is_literal, parse_expression
from app.definitions.located import Located, Sub
from app.definitions.paths import PathError, entity_aliases, resolve_path
from app.definitions.project import BoundTable, MetricVersion
from app.definitions.spec import GRAINS, Filter, Metric, NonAdditiveDimension

REF = re.compile(r"""^\s*ref\(\s*['"]([A-Za-z_][\w.]*)['"]\s*\)\s*$""")
WINDOWED = {"sum", "count", "min", "max"}
BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
AGGREGATING = {"sum", "count", "count_distinct", "average", "min", "max"}


def parse_or_report(problems: Problems, item: Located[Metric], sub: Sub, sql: str) -> exp.Expr | None:
    """The parsed expression, or None after reporting where the SQL is invalid."""
    try:
        return parse_expression(sql)
    except (ParseError, TokenError) as err:
        errors = err.errors if isinstance(err, ParseError) else []
        detail = errors[0] if errors else {}
        where = f" at line {detail.get('line')}, column {detail.get('col')}" if detail.get("line") else ""
        desc = detail.get("description") or str(err).splitlines()[0]
        problems.report(item, sub, f"invalid SQL{where}: {desc} (in {sql!r})")
        return None


class MeasureChecker:
    """Resolves one body (current or previous version) of a simple metric, reporting what is wrong."""

    def __init__(self, model: BoundEntities, problems: Problems, item: Located[Metric], sub: Sub):
        self.model = model
        self.problems = problems
        self.item = item
        self.sub = sub

    def report(self, sub: Sub, message: str) -> None:
        self.problems.report(self.item, (*self.sub, *sub), message)

    def resolve(self, spec: Metric) -> MetricVersion | None:
        bound = self._bind_table(spec)
        if bound is None:
            return None
        spec = self._inherit_semi_additivity(spec, bound)
        if spec.expression is None and spec.calculation_method != "count":
            self.report(
                ("calculation_method",),
                f"calculation_method '{spec.calculation_method}' needs an expression (a column or SQL over "
                f"columns of {bound.name})",
            )
        elif spec.expression is not None and str(spec.expression).strip() != "*":
            self._check_expression(bound, str(spec.expression))
        if spec.timestamp:
            self._check_column(bound, spec.timestamp, ("timestamp",), "timestamp")
        filters = []
        for i, flt in enumerate(spec.filters or ()):
            if "." in flt.field:  # a joined dimension, by relationship path
                self._check_path(bound, flt.field, ("filters", i, "field"), "filter field")
            else:
                self._check_column(bound, flt.field, ("filters", i, "field"), "filter field")
            filters.append(self._check_filter_value(bound, ("filters", i, "value"), flt))
        if spec.filters is not None and tuple(filters) != spec.filters:
            spec = spec.model_copy(update={"filters": tuple(filters)})
        self._check_snapshot_and_window(spec, bound)
        dims = self._dimensions(spec, bound)
        aliases = entity_aliases(self.model, bound.entity)
        qualified = tuple(f"{a}.{d}" for d in dims if "." not in d for a in aliases)
        return MetricVersion(spec, bound, self._grains(spec, bound), dims, (), qualified=qualified)

    def _check_expression(self, bound: BoundTable, sql: str) -> None:
        tree = parse_or_report(self.problems, self.item, (*self.sub, "expression"), sql)
        if tree is None:
            return
        refused = disallowed(tree)
        if refused is not None:
            self.report(("expression",), refused)
            return
        if any(isinstance(n, exp.AggFunc) for n in tree.walk()):
            self.report(
                ("expression",),
                "expression must not aggregate: calculation_method applies the aggregation; "
                "write the per-row expression, e.g. quantity * unit_price",
            )
        for col in tree.find_all(exp.Column):
            self._check_column(bound, col.name, ("expression",), "expression")

    def _check_snapshot_and_window(self, spec: Metric, bound: BoundTable) -> None:
        nad = spec.non_additive_dimension
        if nad is not None:
            self._check_column(bound, nad.name, ("non_additive_dimension", "name"), "non_additive_dimension")
            if spec.calculation_method not in AGGREGATING:
                self.report(
                    ("non_additive_dimension",), "non_additive_dimension needs an aggregating calculation_method"
                )
        if spec.window is not None:
            if not spec.timestamp:
                self.report(("window",), "window needs a timestamp: add `timestamp: <date column>`")
            if spec.calculation_method not in WINDOWED:
                self.report(
                    ("window",),
                    f"a rolling window works with calculation_method {', '.join(sorted(WINDOWED))}, "
                    f"not '{spec.calculation_method}'",
                )

    def _check_column(self, bound: BoundTable, column: str, sub: Sub, what: str) -> None:
        if self.model.columns_unknown(bound.entity):
            return  # its entity was reported already; its declared columns are not all known
        if not bound.has(column):
            self.report(
                sub,
                f"unknown column '{column}' in {what}: not a column of {bound.name}. "
                + self.model.columns_hint(bound, column),
            )

    def _check_path(self, bound: BoundTable, path: str, sub: Sub, what: str) -> None:
        try:
            resolve_path(self.model, bound, path)
        except PathError as err:
            if not any(self.model.paths_unknown(e) for e in err.entities):
                self.report(sub, f"unknown {what} '{path}': {err}")

    def _inherit_semi_additivity(self, spec: Metric, bound: BoundTable) -> Metric:
        """A metric reading a semi-additive column of a snapshot table takes its latest snapshot."""
        ts = bound.spec.timestamp
        if spec.non_additive_dimension is not None or not ts or spec.expression is None:
            return spec
        balances = {c.name for c in self.model.entities[bound.entity].columns if c.semi_additive}
        try:
            used = {c.name for c in parse_expression(str(spec.expression)).find_all(exp.Column)}
        except ParseError:
            return spec
        if used & balances:
            return spec.model_copy(update={"non_additive_dimension": NonAdditiveDimension(name=ts)})
        return spec

    def _bind_table(self, spec: Metric) -> BoundTable | None:
        if spec.model and spec.entity:
            self.report(("entity",), "give either model or entity, not both")
            return None
        if spec.model:
            m = REF.match(spec.model)
            ref = m.group(1) if m else spec.model.strip()
            if not m and not re.fullmatch(r"[A-Za-z_][\w.]*", ref):
                self.report(("model",), f"model must be ref('<table>') or a table name, not {spec.model!r}")
                return None
            tables = self.model.tables.values()
            matches = [t for t in tables if ref.lower() in (t.name.lower(), t.name.lower().rsplit(".", 1)[-1])]
            if not matches:
                names = {t.name.rsplit(".", 1)[-1] for t in tables}
                self.problems.report_unknown(
                    self.item,
                    (*self.sub, "model"),
                    f"model {spec.model} matches no table of any entity. {did_you_mean(ref, names)}",
                    name=ref,
                )
                return None
            return self._prefer_timestamp(matches[0], spec.timestamp)
        if spec.entity:
            if spec.entity not in self.model.entities:
                self.problems.report_unknown(
                    self.item,
                    (*self.sub, "entity"),
                    f"unknown entity '{spec.entity}'. {did_you_mean(spec.entity, self.model.entities)}",
                    name=spec.entity,
                )
                return None
            start = self.model.current_table(spec.entity)
            return self._prefer_timestamp(start, spec.timestamp) if start else None
        self.report(
            ("model",), "a metric needs `model: ref('<table>')` or `entity: <name>` (or calculation_method: derived)"
        )
        return None

    def _prefer_timestamp(self, table: BoundTable, ts: str | None) -> BoundTable:
        """The table of the same entity that carries the timestamp column, when ``table`` lacks it."""
        has_catalog = self.model.has_catalog
        if (
            not ts
            or table.spec.timestamp == ts
            or (table.columns is not None and ts.lower() in table.columns and has_catalog)
        ):
            return table
        siblings = [t for (e, _), t in self.model.tables.items() if e == table.entity]
        for t in siblings:
            if t.spec.timestamp == ts:
                return t
        for t in siblings:
            if has_catalog and t.columns is not None and ts.lower() in t.columns:
                return t
        return table

    def _grains(self, spec: Metric, bound: BoundTable) -> tuple[str, ...]:
        if not spec.timestamp:
            if spec.time_grains:
                self.report(("time_grains",), "time_grains need a timestamp: add `timestamp: <date column>`")
            return ()
        allowed = allowed_grains(bound.finest_grain)
        if spec.time_grains is None:
            return allowed
        for i, grain in enumerate(spec.time_grains):
            if grain not in allowed:
                self.report(
                    ("time_grains", i),
                    f"time grain '{grain}' is finer than {bound.name} allows (its grain is "
                    f"{bound.finest_grain}). Allowed: {', '.join(allowed)}.",
                )
        return tuple(g for g in GRAINS if g in spec.time_grains and g in allowed)

    def _dimensions(self, spec: Metric, bound: BoundTable) -> tuple[str, ...]:
        out = []
        for i, dim in enumerate(spec.dimensions or ()):
            try:
                resolve_path(self.model, bound, dim)
            except PathError as err:
                if any(self.model.paths_unknown(e) for e in err.entities):
                    continue  # an entity on the path was reported already; what it declares is not known
                message = f"unknown dimension '{dim}': {err}"
                if err.unknown_entity is not None:
                    self.problems.report_unknown(
                        self.item, (*self.sub, "dimensions", i), message, name=err.unknown_entity
                    )
                else:
                    self.report(("dimensions", i), message)
                continue
            out.append(dim)
        return tuple(out)

    def _check_filter_value(self, bound: BoundTable, sub: Sub, flt: Filter) -> Filter:
        """The filter as it will be read: a bare word that is no column of the table (dbt's legacy
        ``value: active``) becomes the string literal, with a warning saying so."""
        op, value = flt.operator, flt.value
        if op in ("is", "is not"):
            if value not in (None, "null", "NULL", "true", "false", True, False):
                self.report(sub, f"operator '{op}' takes null, true or false, not {value!r}")
            return flt
        if isinstance(value, str) and BARE_WORD.fullmatch(value.strip()) and not bound.has(value.strip()):
            word = value.strip()
            self.problems.warn(
                self.item,
                (*self.sub, *sub),
                f"{word!r} is not a column of {bound.name}: read as the string '{word}'; write \"'{word}'\" "
                "to be explicit",
            )
            return flt.model_copy(update={"value": f"'{word}'"})
        values: list[str | int | float | bool | None] = list(value) if isinstance(value, tuple) else [value]
        if op in ("in", "not in") and not isinstance(value, tuple):
            text = str(value).strip()
            if text.startswith("(") and text.endswith(")"):
                values = list(text[1:-1].split(","))
        for v in values:
            if v is None:
                self.report(sub, f"operator '{op}' needs a value; for a null test use operator: is")
                return flt
            if isinstance(v, float) and not math.isfinite(v):
                self.report(sub, f"filter value {v!r} is not a finite number")
                return flt
            if isinstance(v, bool | int | float):
                continue
            tree = parse_or_report(self.problems, self.item, (*self.sub, *sub), str(v))
            if tree is None:
                return flt
            if isinstance(tree, exp.Column) and "." not in str(v) and bound.has(tree.name):
                continue  # a column of the table: compared column to column, as dbt reads it
            if not is_literal(tree):
                self.report(
                    sub,
                    f"filter value {v!r} is SQL that is not a literal (it reads as "
                    f"{'a column name' if isinstance(tree, exp.Column) else 'an expression'}); "
                    f"quote strings as SQL literals, e.g. value: \"'{str(v).strip()}'\"",
                )
            elif (refused := disallowed(tree)) is not None:  # a literal whose cast type hides SQL
                self.report(sub, f"filter value {str(v)[:80]!r}: {refused}")
                return flt
        return flt
