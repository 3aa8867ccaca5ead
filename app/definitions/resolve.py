"""Cross-checks of parsed definitions: resolve every reference or report what would be right.

Input: entity and metric specs with where they were written, and optionally the
database catalog. Output: a ``Project``, plus every problem found (never just the first).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from app.definitions.problems import Problem, did_you_mean
from app.definitions.project import BoundTable, MetricVersion, Project, Source, grain_rank
from app.definitions.spec import GRAINS, Entity, Metric, NonAdditiveDimension, Table
from app.definitions.yamlpos import Path_, line_of

Catalog = Mapping[str, Mapping[str, str]]  # "schema.table" -> {column: type}

GRAIN_OF_KEY = {
    "hourly": "hour",
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": "year",
}
REF = re.compile(r"""^\s*ref\(\s*['"]([A-Za-z_][\w.]*)['"]\s*\)\s*$""")
METRIC_CALL = re.compile(r"""\{\{\s*metric\(\s*['"]([a-z][a-z0-9_]*)['"]\s*\)\s*\}\}""")
WINDOWED = {"sum", "count", "min", "max"}


@dataclass(frozen=True)
class Located:
    """A parsed spec with the file, YAML path and line map it came from."""

    spec: Entity | Metric
    file: str
    path: Path_
    lines: dict[Path_, int]

    def line(self, *sub: str | int) -> int:
        return line_of(self.lines, (*self.path, *sub))


def derived_sql(expression: str) -> str:
    """Replace dbt's ``{{ metric('x') }}`` with the bare name ``x``.

    >>> derived_sql("{{ metric('mrr') }} / nullif({{metric('customers')}}, 0)")
    'mrr / nullif(customers, 0)'
    """
    return METRIC_CALL.sub(lambda m: m.group(1), expression)


def parse_expression(sql: str) -> exp.Expression:
    """Parse a definition expression (DuckDB dialect); raises ParseError. Returns a fresh copy
    (parses are cached: definitions repeat the same expressions on every query)."""
    return _parse_cached(sql).copy()


@lru_cache(maxsize=4096)
def _parse_cached(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, dialect="duckdb")
    if tree is None:
        raise ParseError("empty expression")
    return tree


class Resolver:
    def __init__(self, catalog: Catalog | None):
        self.catalog = {k.lower(): {c.lower(): t for c, t in v.items()} for k, v in (catalog or {}).items()}
        self.has_catalog = catalog is not None
        self.problems: list[Problem] = []
        self.entities: dict[str, Located] = {}
        self.tables: dict[tuple[str, str], BoundTable] = {}

    # -- reporting ---------------------------------------------------------------------------
    def report(self, item: Located, sub: tuple[str | int, ...], message: str) -> None:
        kind = "entities" if isinstance(item.spec, Entity) else "metrics"
        key = ".".join([kind, item.spec.name, *_key_parts(sub)])
        self.problems.append(Problem(item.file, item.line(*sub), key, message))

    # -- entities ----------------------------------------------------------------------------
    def add_entities(self, items: list[Located]) -> None:
        for item in items:
            name = item.spec.name
            if name in self.entities:
                first = self.entities[name]
                self.report(
                    item,
                    ("name",),
                    f"duplicate entity name '{name}' (first defined in {first.file}:{first.line()}); "
                    "entity names must be unique: rename one",
                )
                continue
            self.entities[name] = item
        for item in self.entities.values():
            self._bind_tables(item)
        for item in self.entities.values():
            self._check_entity(item)

    def _declared_columns(self, entity: Entity) -> frozenset[str]:
        cols = {entity.primary_key}
        cols |= {d.name for d in entity.dimensions} | {c.name for c in entity.columns}
        cols |= {r.foreign_key for r in entity.relationships if r.type != "one_to_many"}
        cols |= {t.timestamp for t in entity.tables.values() if t.timestamp}
        return frozenset(c.lower() for c in cols)

    def _bind_tables(self, item: Located) -> None:
        entity = item.spec
        assert isinstance(entity, Entity)
        for key, table in entity.tables.items():
            columns: frozenset[str] | None
            types: dict[str, str] | None = None
            if self.has_catalog:
                known = self.catalog.get(_qualified(table.name))
                if known is None:
                    self.report(
                        item,
                        ("tables", key),
                        f"table '{table.name}' does not exist in the database. "
                        + did_you_mean(_qualified(table.name), self.catalog, allowed=False),
                    )
                    columns = None
                else:
                    columns, types = frozenset(known), dict(known)
            elif table.columns is not None:
                columns = frozenset(c.lower() for c in table.columns)
            else:
                columns = self._declared_columns(entity)
            grain = self._finest_grain(key, table)
            self.tables[(entity.name, key)] = BoundTable(entity.name, key, table, grain, columns, types)

    def _finest_grain(self, key: str, table: Table) -> str | None:
        if table.grain in GRAINS:
            return table.grain
        if table.grain in ("event", "none"):
            return None
        if key in GRAIN_OF_KEY:
            return GRAIN_OF_KEY[key]
        if table.timestamp:
            kind = self.catalog.get(_qualified(table.name), {}).get(table.timestamp.lower(), "")
            if kind.upper() == "DATE":
                return "day"
        return None

    def _columns_hint(self, bound: BoundTable, column: str) -> str:
        return did_you_mean(column, bound.columns or ())

    def _check_entity(self, item: Located) -> None:
        entity = item.spec
        assert isinstance(entity, Entity)
        if not entity.tables:
            self.report(item, ("tables",), "an entity needs at least one table, such as current: schema.table")
        current = self.current_table(entity.name)
        if current and not current.has(entity.primary_key):
            self.report(
                item,
                ("primary_key",),
                f"primary key '{entity.primary_key}' is not a column of {current.name}. "
                + self._columns_hint(current, entity.primary_key),
            )
        for key in entity.tables:
            bound = self.tables[(entity.name, key)]
            ts = bound.spec.timestamp
            if ts and not bound.has(ts):
                self.report(
                    item,
                    ("tables", key, "timestamp"),
                    f"timestamp '{ts}' is not a column of {bound.name}. " + self._columns_hint(bound, ts),
                )
        for i, dim in enumerate(entity.dimensions):
            if current and not current.has(dim.name):
                self.report(
                    item,
                    ("dimensions", i, "name"),
                    f"dimension '{dim.name}' is not a column of {current.name}. "
                    + self._columns_hint(current, dim.name),
                )
        seen: set[str] = set()
        for i, rel in enumerate(entity.relationships):
            if rel.name in seen:
                self.report(item, ("relationships", i, "name"), f"duplicate relationship name '{rel.name}'")
            seen.add(rel.name)
            if rel.entity not in self.entities:
                self.report(
                    item,
                    ("relationships", i, "entity"),
                    f"relationship '{rel.name}' points to unknown entity '{rel.entity}'. "
                    + did_you_mean(rel.entity, self.entities),
                )
                continue
            holder = self.current_table(rel.entity if rel.type == "one_to_many" else entity.name)
            if holder and not holder.has(rel.foreign_key):
                self.report(
                    item,
                    ("relationships", i, "foreign_key"),
                    f"foreign key '{rel.foreign_key}' of relationship '{rel.name}' is not a column of "
                    f"{holder.name} (a {rel.type} key lives on "
                    f"{'the related' if rel.type == 'one_to_many' else 'this'} entity's table). "
                    + self._columns_hint(holder, rel.foreign_key),
                )

    def current_table(self, entity: str) -> BoundTable | None:
        item = self.entities.get(entity)
        if item is None:
            return None
        spec = item.spec
        assert isinstance(spec, Entity)
        key = "current" if "current" in spec.tables else next(iter(spec.tables), None)
        return self.tables.get((entity, key)) if key else None

    # -- metrics -----------------------------------------------------------------------------
    def resolve_metrics(
        self, items: list[Located]
    ) -> tuple[dict[str, MetricVersion], dict[str, dict[int, MetricVersion]]]:
        located: dict[str, Located] = {}
        for item in items:
            name = item.spec.name
            if name in located:
                first = located[name]
                self.report(
                    item,
                    ("name",),
                    f"duplicate metric name '{name}' (first defined in {first.file}:{first.line()}); "
                    "metric names must be unique across the project: rename one or bump its version",
                )
                continue
            located[name] = item
        self._located = located
        self._resolved: dict[str, MetricVersion | None] = {}
        self._visiting: list[str] = []
        current: dict[str, MetricVersion] = {}
        for name in located:
            mv = self._resolve(name)
            if mv is not None:
                current[name] = mv
        previous: dict[str, dict[int, MetricVersion]] = {}
        for name, item in located.items():
            older = self._previous_versions(item)
            if older:
                previous[name] = older
        for item in located.values():
            self._check_deprecation(item)
        return current, previous

    def _resolve(self, name: str) -> MetricVersion | None:
        if name in self._resolved:
            return self._resolved[name]
        if name in self._visiting:
            cycle = self._visiting[self._visiting.index(name) :] + [name]
            item = self._located[name]
            self.report(
                item,
                ("expression",),
                "derived metrics form a cycle: " + " -> ".join(cycle) + "; a derived metric cannot depend on itself",
            )
            for n in cycle:
                self._resolved.setdefault(n, None)
            return None
        item = self._located[name]
        self._visiting.append(name)
        spec = item.spec
        assert isinstance(spec, Metric)
        mv = self._resolve_body(item, spec, ())
        self._visiting.pop()
        self._resolved.setdefault(name, mv)
        return self._resolved[name]

    def _previous_versions(self, item: Located) -> dict[int, MetricVersion]:
        spec = item.spec
        assert isinstance(spec, Metric)
        out: dict[int, MetricVersion] = {}
        for i, prev in enumerate(spec.previous_versions):
            sub = ("previous_versions", i)
            if prev.version >= spec.version:
                self.report(
                    item,
                    (*sub, "version"),
                    f"previous version {prev.version} must be lower than the current version {spec.version}",
                )
                continue
            if prev.version in out:
                self.report(item, (*sub, "version"), f"version {prev.version} is listed twice")
                continue
            overrides = prev.model_dump(exclude_unset=True, exclude={"version", "sunset_date"})
            merged = spec.model_copy(update={**_respec(overrides), "version": prev.version, "previous_versions": ()})
            mv = self._resolve_body(item, merged, sub)
            if mv is not None:
                out[prev.version] = MetricVersion(
                    mv.spec, mv.table, mv.grains, mv.dimensions, mv.depends_on, prev.sunset_date
                )
        return out

    def _resolve_body(self, item: Located, spec: Metric, sub: tuple[str | int, ...]) -> MetricVersion | None:
        before = len(self.problems)
        if spec.calculation_method == "derived":
            mv = self._resolve_derived(item, spec, sub)
        else:
            mv = self._resolve_simple(item, spec, sub)
        return mv if len(self.problems) == before else None

    def _resolve_simple(self, item: Located, spec: Metric, sub: tuple[str | int, ...]) -> MetricVersion | None:
        bound = self._bind_metric_table(item, spec, sub)
        if bound is None:
            return None
        check = self._column_checker(item, bound)
        spec = self._inherit_semi_additivity(spec, bound)
        if spec.expression is None and spec.calculation_method != "count":
            self.report(
                item,
                (*sub, "calculation_method"),
                f"calculation_method '{spec.calculation_method}' needs an expression (a column or SQL over "
                f"columns of {bound.name})",
            )
        elif spec.expression is not None and str(spec.expression).strip() != "*":
            tree = self._parse(item, (*sub, "expression"), str(spec.expression))
            if tree is not None:
                if any(isinstance(n, exp.AggFunc) for n in tree.walk()):
                    self.report(
                        item,
                        (*sub, "expression"),
                        "expression must not aggregate: calculation_method applies the aggregation; "
                        "write the per-row expression, e.g. quantity * unit_price",
                    )
                for col in tree.find_all(exp.Column):
                    check(col.name, (*sub, "expression"), "expression")
        ts = spec.timestamp
        if ts:
            check(ts, (*sub, "timestamp"), "timestamp")
        grains = self._grains(item, spec, sub, bound)
        dims = self._dimensions(item, spec, sub, bound)
        for i, flt in enumerate(spec.filters or ()):
            check(flt.field, (*sub, "filters", i, "field"), "filter field")
            self._check_filter_value(item, (*sub, "filters", i, "value"), flt.operator, flt.value)
        nad = spec.non_additive_dimension
        if nad is not None:
            check(nad.name, (*sub, "non_additive_dimension", "name"), "non_additive_dimension")
            if spec.calculation_method not in ("sum", "count", "count_distinct", "average", "min", "max"):
                self.report(
                    item,
                    (*sub, "non_additive_dimension"),
                    "non_additive_dimension needs an aggregating calculation_method",
                )
        if spec.window is not None:
            if not ts:
                self.report(item, (*sub, "window"), "window needs a timestamp: add `timestamp: <date column>`")
            if spec.calculation_method not in WINDOWED:
                self.report(
                    item,
                    (*sub, "window"),
                    f"a rolling window works with calculation_method {', '.join(sorted(WINDOWED))}, "
                    f"not '{spec.calculation_method}'",
                )
        return MetricVersion(spec, bound, grains, dims, ())

    def _inherit_semi_additivity(self, spec: Metric, bound: BoundTable) -> Metric:
        """A metric reading a semi-additive column of a snapshot table takes its latest snapshot."""
        ts = bound.spec.timestamp
        if spec.non_additive_dimension is not None or not ts or spec.expression is None:
            return spec
        entity = self.entities[bound.entity].spec
        assert isinstance(entity, Entity)
        balances = {c.name for c in entity.columns if c.semi_additive}
        try:
            used = {c.name for c in parse_expression(str(spec.expression)).find_all(exp.Column)}
        except ParseError:
            return spec
        if used & balances:
            return spec.model_copy(update={"non_additive_dimension": NonAdditiveDimension(name=ts)})
        return spec

    def _resolve_derived(self, item: Located, spec: Metric, sub: tuple[str | int, ...]) -> MetricVersion | None:
        for key in ("model", "entity", "filters", "non_additive_dimension", "window", "timestamp"):
            if getattr(spec, key):
                self.report(
                    item,
                    (*sub, key),
                    f"a derived metric takes no '{key}': set it on the metrics it is computed from",
                )
        if spec.expression is None:
            self.report(
                item,
                (*sub, "expression"),
                "a derived metric needs an expression over other metrics, e.g. {{ metric('mrr') }} * 12",
            )
            return None
        tree = self._parse(item, (*sub, "expression"), derived_sql(str(spec.expression)))
        if tree is None:
            return None
        names = list(dict.fromkeys(c.name for c in tree.find_all(exp.Column, bfs=False)))
        if any(isinstance(n, exp.AggFunc) for n in tree.walk()):
            self.report(item, (*sub, "expression"), "a derived expression combines metrics; it must not aggregate")
        if not names:
            self.report(item, (*sub, "expression"), "a derived expression must reference at least one metric")
        parents: list[MetricVersion] = []
        for ref in names:
            if ref not in self._located:
                self.report(
                    item,
                    (*sub, "expression"),
                    f"unknown metric '{ref}' in derived expression. {did_you_mean(ref, self._located)}",
                )
                continue
            if ref == spec.name:
                self.report(item, (*sub, "expression"), f"derived metric '{ref}' refers to itself")
                continue
            parent = self._resolve(ref)
            if parent is not None:
                parents.append(parent)
        if len(parents) != len(names):
            return None
        common_grains = [g for g in GRAINS if all(g in p.grains for p in parents)]
        common_dims = [d for d in parents[0].dimensions if all(d in p.dimensions for p in parents)]
        grains = self._subset(item, (*sub, "time_grains"), spec.time_grains, common_grains, "time grain")
        dims = self._subset(item, (*sub, "dimensions"), spec.dimensions, common_dims, "dimension")
        return MetricVersion(spec, None, grains, dims, tuple(names))

    def _subset(self, item: Located, sub: tuple[str | int, ...], declared, available, what) -> tuple[str, ...]:
        if declared is None:
            return tuple(available)
        for i, value in enumerate(declared):
            if value not in available:
                self.report(
                    item,
                    (*sub, i),
                    f"{what} '{value}' is not available on every metric this derived metric uses. "
                    + did_you_mean(value, available),
                )
        return tuple(v for v in declared if v in available)

    def _bind_metric_table(self, item: Located, spec: Metric, sub: tuple[str | int, ...]) -> BoundTable | None:
        if spec.model and spec.entity:
            self.report(item, (*sub, "entity"), "give either model or entity, not both")
            return None
        if spec.model:
            m = REF.match(spec.model)
            ref = m.group(1) if m else spec.model.strip()
            if not m and not re.fullmatch(r"[A-Za-z_][\w.]*", ref):
                self.report(item, (*sub, "model"), f"model must be ref('<table>') or a table name, not {spec.model!r}")
                return None
            matches = [
                t for t in self.tables.values() if ref.lower() in (t.name.lower(), t.name.lower().rsplit(".", 1)[-1])
            ]
            if not matches:
                names = {t.name.rsplit(".", 1)[-1] for t in self.tables.values()}
                self.report(
                    item,
                    (*sub, "model"),
                    f"model {spec.model} matches no table of any entity. {did_you_mean(ref, names)}",
                )
                return None
            return self._prefer_timestamp(matches[0], spec.timestamp)
        if spec.entity:
            if spec.entity not in self.entities:
                self.report(
                    item,
                    (*sub, "entity"),
                    f"unknown entity '{spec.entity}'. {did_you_mean(spec.entity, self.entities)}",
                )
                return None
            start = self.current_table(spec.entity)
            return self._prefer_timestamp(start, spec.timestamp) if start else None
        self.report(
            item,
            (*sub, "model"),
            "a metric needs `model: ref('<table>')` or `entity: <name>` (or calculation_method: derived)",
        )
        return None

    def _prefer_timestamp(self, table: BoundTable, ts: str | None) -> BoundTable:
        """The table of the same entity that carries the timestamp column, when ``table`` lacks it."""
        if (
            not ts
            or (table.spec.timestamp == ts)
            or (table.columns is not None and ts.lower() in table.columns and self.has_catalog)
        ):
            return table
        siblings = [t for (e, _), t in self.tables.items() if e == table.entity]
        for t in siblings:
            if t.spec.timestamp == ts:
                return t
        for t in siblings:
            if self.has_catalog and t.columns is not None and ts.lower() in t.columns:
                return t
        return table

    def _column_checker(self, item: Located, bound: BoundTable) -> Callable[[str, tuple, str], None]:
        def check(column: str, sub: tuple[str | int, ...], what: str) -> None:
            if not bound.has(column):
                self.report(
                    item,
                    sub,
                    f"unknown column '{column}' in {what}: not a column of {bound.name}. "
                    + self._columns_hint(bound, column),
                )

        return check

    def _grains(self, item: Located, spec: Metric, sub: tuple[str | int, ...], bound: BoundTable) -> tuple[str, ...]:
        if not spec.timestamp:
            if spec.time_grains:
                self.report(item, (*sub, "time_grains"), "time_grains need a timestamp: add `timestamp: <date column>`")
            return ()
        allowed = allowed_grains(bound.finest_grain)
        if spec.time_grains is None:
            return allowed
        for i, grain in enumerate(spec.time_grains):
            if grain not in allowed:
                self.report(
                    item,
                    (*sub, "time_grains", i),
                    f"time grain '{grain}' is finer than {bound.name} allows (its grain is "
                    f"{bound.finest_grain}). Allowed: {', '.join(allowed)}.",
                )
        return tuple(g for g in GRAINS if g in spec.time_grains and g in allowed)

    def _dimensions(
        self, item: Located, spec: Metric, sub: tuple[str | int, ...], bound: BoundTable
    ) -> tuple[str, ...]:
        out = []
        for i, dim in enumerate(spec.dimensions or ()):
            problem = self.dimension_problem(bound, dim)
            if problem:
                self.report(item, (*sub, "dimensions", i), problem)
            else:
                out.append(dim)
        return tuple(out)

    def dimension_problem(self, bound: BoundTable, dim: str) -> str | None:
        """Why ``dim`` (a column or a relationship path) cannot be reached from ``bound``, or None."""
        *path, column = dim.split(".")
        entity_name = bound.entity
        here: BoundTable | None = bound
        for hop in path:
            item = self.entities[entity_name]
            spec = item.spec
            assert isinstance(spec, Entity)
            rels = {r.name: r for r in spec.relationships}
            if hop not in rels:
                return f"dimension '{dim}': entity '{entity_name}' has no relationship '{hop}'. " + did_you_mean(
                    hop, rels
                )
            rel = rels[hop]
            if rel.type == "one_to_many":
                return (
                    f"dimension '{dim}': relationship '{hop}' of '{entity_name}' is one_to_many, so grouping "
                    "by it would fan out and double-count; only many_to_one and one_to_one paths are allowed"
                )
            if rel.entity not in self.entities:
                return f"dimension '{dim}': relationship '{hop}' points to unknown entity '{rel.entity}'"
            entity_name = rel.entity
            here = None
        target = here or self.current_table(entity_name)
        if target is None:
            return f"dimension '{dim}': entity '{entity_name}' has no table"
        if target.has(column):
            return None
        if here is not None:  # the metric's own table: the entity's current table is one join away
            current = self.current_table(entity_name)
            if current is not None and current.has(column) and bound.has(self._pk(entity_name)):
                return None
        entity = self.entities[entity_name].spec
        assert isinstance(entity, Entity)
        choices = {d.name for d in entity.dimensions} | set(target.columns or ())
        return f"unknown dimension '{dim}': '{column}' is not a column of {target.name}. " + did_you_mean(
            column, choices
        )

    def _pk(self, entity: str) -> str:
        spec = self.entities[entity].spec
        assert isinstance(spec, Entity)
        return spec.primary_key

    def _check_filter_value(self, item: Located, sub: tuple[str | int, ...], op: str, value) -> None:
        if op in ("is", "is not"):
            if value not in (None, "null", "NULL", "true", "false", True, False):
                self.report(item, sub, f"operator '{op}' takes null, true or false, not {value!r}")
            return
        values = value if isinstance(value, list) else [value]
        if op in ("in", "not in") and not isinstance(value, list):
            text = str(value).strip()
            if text.startswith("(") and text.endswith(")"):
                values = [v for v in text[1:-1].split(",")]
        for v in values:
            if v is None:
                self.report(item, sub, f"operator '{op}' needs a value; for a null test use operator: is")
                return
            if isinstance(v, bool | int | float):
                continue
            tree = self._parse(item, sub, str(v))
            if tree is None:
                return
            if not _is_literal(tree):
                self.report(
                    item,
                    sub,
                    f"filter value {v!r} is SQL that is not a literal (it reads as "
                    f"{'a column name' if isinstance(tree, exp.Column) else 'an expression'}); "
                    f"quote strings as SQL literals, e.g. value: \"'{str(v).strip()}'\"",
                )

    def _parse(self, item: Located, sub: tuple[str | int, ...], sql: str) -> exp.Expression | None:
        try:
            return parse_expression(sql)
        except ParseError as err:
            detail = err.errors[0] if err.errors else {}
            where = f" at line {detail.get('line')}, column {detail.get('col')}" if detail.get("line") else ""
            desc = detail.get("description") or str(err).splitlines()[0]
            self.report(item, sub, f"invalid SQL{where}: {desc} (in {sql!r})")
            return None

    def _check_deprecation(self, item: Located) -> None:
        spec = item.spec
        assert isinstance(spec, Metric)
        dep = spec.deprecation
        if dep is None:
            return
        if dep.replaced_by and dep.replaced_by not in self._located:
            self.report(
                item,
                ("deprecation", "replaced_by"),
                f"replaced_by names unknown metric '{dep.replaced_by}'. {did_you_mean(dep.replaced_by, self._located)}",
            )
        if dep.sunset_date and dep.sunset_date < dep.deprecated_at:
            self.report(item, ("deprecation", "sunset_date"), "sunset_date must not be before deprecated_at")

    def build(self, metric_items: list[Located], files: dict[str, str], digest: str) -> Project:
        current, previous = self.resolve_metrics(metric_items)
        sources = {f"entity:{n}": Source(i.file, i.line()) for n, i in self.entities.items()}
        sources |= {f"metric:{n}": Source(i.file, i.line()) for n, i in self._located.items()}
        entities = {n: i.spec for n, i in self.entities.items() if isinstance(i.spec, Entity)}
        return Project(entities, current, previous, sources, files, digest, dict(self.tables))


def allowed_grains(finest: str | None) -> tuple[str, ...]:
    """Grains a table of the given finest grain can answer (weeks do not roll up from months).

    >>> allowed_grains("day")
    ('day', 'week', 'month', 'quarter', 'year')
    >>> allowed_grains("month")
    ('month', 'quarter', 'year')
    """
    if finest is None:
        return GRAINS
    if finest == "week":
        return ("week",)
    rank = grain_rank(finest)
    return tuple(g for g in GRAINS if grain_rank(g) >= rank and not (g == "week" and rank > grain_rank("day")))


def _is_literal(tree: exp.Expression) -> bool:
    if isinstance(tree, exp.Paren):
        return _is_literal(tree.this)
    if isinstance(tree, exp.Tuple):
        return all(_is_literal(e) for e in tree.expressions)
    if isinstance(tree, exp.Neg):
        return _is_literal(tree.this)
    if isinstance(tree, exp.Cast):
        return _is_literal(tree.this)
    return isinstance(tree, exp.Literal | exp.Boolean | exp.Null)


def _qualified(name: str) -> str:
    return (name if "." in name else f"main.{name}").lower()


def _key_parts(sub: tuple[str | int, ...]) -> list[str]:
    parts: list[str] = []
    for p in sub:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"
        else:
            parts.append(str(p))
    return parts


def _respec(overrides: dict) -> dict:
    """Turn dumped override fields back into spec objects for ``model_copy``."""
    from app.definitions.spec import Filter, NonAdditiveDimension, Window

    out = dict(overrides)
    if out.get("filters") is not None:
        out["filters"] = tuple(Filter(**f) for f in out["filters"])
    if out.get("non_additive_dimension") is not None:
        out["non_additive_dimension"] = NonAdditiveDimension(**out["non_additive_dimension"])
    if out.get("window") is not None:
        out["window"] = Window(**out["window"])
    for key in ("time_grains", "dimensions"):
        if out.get(key) is not None:
            out[key] = tuple(out[key])
    return out
