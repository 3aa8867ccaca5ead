"""Entities bound to their physical tables (from the database catalog or the declarations), checked.

``BoundEntities`` is complete when constructed: every entity's tables bound and its keys,
timestamps, dimensions and relationships checked, problems reported with file and line.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp
from sqlglot.errors import ParseError

from app.definitions.allowlist import disallowed
from app.definitions.diagnostics import Problems, did_you_mean
from app.definitions.expressions import parse_expression
from app.definitions.located import Located
from app.definitions.project import BoundTable, current_key, grain_rank
from app.definitions.spec import GRAINS, Entity, Table

Catalog = Mapping[str, Mapping[str, str]]  # "schema.table" -> {column: type}

DECLARING_KEYS = frozenset({"primary_key", "tables", "dimensions", "columns", "relationships"})
GRAIN_OF_KEY = {
    "hourly": "hour",
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": "year",
}


class BoundEntities:
    """The project's entities with their tables bound; satisfies ``paths.EntityModel``."""

    def __init__(
        self,
        items: list[Located[Entity]],
        catalog: Catalog | None,
        problems: Problems,
        dropped: Mapping[str, frozenset[str]] | None = None,
    ):
        self.dropped = dropped or {}  # entity -> keys left out because their value failed (already reported)
        self.catalog = {k.lower(): {c.lower(): t for c, t in v.items()} for k, v in (catalog or {}).items()}
        self.has_catalog = catalog is not None
        self.problems = problems
        self.located = problems.by_name(items, "entity names must be unique: rename one")
        self.tables: dict[tuple[str, str], BoundTable] = {}
        self.entities: dict[str, Entity] = {name: item.spec for name, item in self.located.items()}
        for item in self.located.values():
            self._bind_tables(item.spec)
        for item in self.located.values():
            self._check(item)

    def current_table(self, entity: str) -> BoundTable | None:
        """The entity's current-state table (or its first table); None for an unknown entity."""
        spec = self.entities.get(entity)
        key = current_key(spec) if spec is not None else None
        return self.tables.get((entity, key)) if key is not None else None

    def columns_unknown(self, entity: str) -> bool:
        """Whether the entity's columns are uncertain: declared ones were left out and no catalog says."""
        return not self.has_catalog and bool(self.dropped.get(entity, frozenset()) & DECLARING_KEYS)

    def paths_unknown(self, entity: str) -> bool:
        """Whether a dimension path through the entity may be wrongly refused (its keys were left out: its
        relationships, or its dimensions, which may compute what no table holds)."""
        left_out = self.dropped.get(entity, frozenset())
        return bool(left_out & {"relationships", "dimensions"}) or self.columns_unknown(entity)

    def columns_hint(self, table: BoundTable, column: str) -> str:
        return did_you_mean(column, table.columns or ())

    def _bind_tables(self, entity: Entity) -> None:
        for key, table in entity.tables.items():
            columns: frozenset[str] | None
            types: dict[str, str] | None = None
            known = self.catalog.get(qualified(table.name)) if self.has_catalog else None
            if known is None and table.build is not None:  # not built yet: what its definition declares
                columns = frozenset(c.lower() for c in table.columns) if table.columns else declared_columns(entity)
            elif self.has_catalog:
                if known is None:
                    self.problems.report(
                        self.located[entity.name],
                        ("tables", key),
                        f"table '{table.name}' does not exist in the database. "
                        + did_you_mean(qualified(table.name), self.catalog, allowed=False),
                    )
                    columns = None
                else:
                    columns, types = frozenset(known), dict(known)
            elif table.columns is not None:
                columns = frozenset(c.lower() for c in table.columns)
            else:
                columns = declared_columns(entity)
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
            kind = self.catalog.get(qualified(table.name), {}).get(table.timestamp.lower(), "")
            if kind.upper() == "DATE":
                return "day"
        return None

    def _check(self, item: Located[Entity]) -> None:
        entity, report = item.spec, self.problems.report
        if not entity.tables:
            report(item, ("tables",), "an entity needs at least one table, such as current: schema.table")
        current = self.current_table(entity.name)
        if current and not current.has(entity.primary_key):
            report(
                item,
                ("primary_key",),
                f"primary key '{entity.primary_key}' is not a column of {current.name}. "
                + self.columns_hint(current, entity.primary_key),
            )
        for key in entity.tables:
            bound = self.tables[(entity.name, key)]
            ts = bound.spec.timestamp
            if ts and not bound.has(ts):
                report(
                    item,
                    ("tables", key, "timestamp"),
                    f"timestamp '{ts}' is not a column of {bound.name}. " + self.columns_hint(bound, ts),
                )
            valid_to = bound.spec.valid_to
            if valid_to and not ts:
                report(
                    item,
                    ("tables", key, "valid_to"),
                    "a history table (valid_to) needs timestamp: the column its rows are valid from",
                )
            if valid_to and not bound.has(valid_to):
                report(
                    item,
                    ("tables", key, "valid_to"),
                    f"valid_to '{valid_to}' is not a column of {bound.name}. " + self.columns_hint(bound, valid_to),
                )
        for i, dim in enumerate(entity.dimensions):
            if dim.expression is not None:
                self._check_computed(item, i, current)
                continue
            if current and not current.has(dim.name):
                report(
                    item,
                    ("dimensions", i, "name"),
                    f"dimension '{dim.name}' is not a column of {current.name}. "
                    + self.columns_hint(current, dim.name),
                )
        self._check_relationships(item)

    def _check_computed(self, item: Located[Entity], i: int, current: BoundTable | None) -> None:
        """A computed dimension: allow-listed SQL over its entity's own columns, per row."""
        entity, report = item.spec, self.problems.report
        dim = entity.dimensions[i]
        where = ("dimensions", i, "expression")
        tree = _parse(str(dim.expression))
        if isinstance(tree, str):
            report(item, where, f"expression of dimension '{dim.name}' is not valid SQL: {tree}")
            return
        refused = disallowed(tree)
        if refused is not None:
            report(item, where, refused)
            return
        if "type" not in dim.model_fields_set:
            report(
                item,
                ("dimensions", i, "type"),
                f"computed dimension '{dim.name}' declares no type: write type: string, number, integer, boolean, "
                "date or timestamp (it types the answer's column)",
            )
        if any(isinstance(node, exp.AggFunc) for node in tree.walk()):
            report(item, where, f"dimension '{dim.name}' is computed per row: its expression must not aggregate")
        computed = {d.name for d in entity.dimensions if d.expression}
        for column in tree.find_all(exp.Column):
            if column.table:
                report(item, where, f"write the entity's columns unqualified: '{column.sql()}' -> '{column.name}'")
            elif column.name in computed:
                report(item, where, f"'{column.name}' is a computed dimension too; write its expression instead")
            elif current and not current.has(column.name):
                hint = self.columns_hint(current, column.name)
                report(item, where, f"'{column.name}' is not a column of {current.name}. {hint}".rstrip())
        if current and current.columns is not None and current.has(dim.name):
            report(
                item,
                ("dimensions", i, "name"),
                f"computed dimension '{dim.name}' has the name of a column of {current.name}; name it differently",
            )

    def _check_relationships(self, item: Located[Entity]) -> None:
        entity, report = item.spec, self.problems.report
        seen: set[str] = set()
        for i, rel in enumerate(entity.relationships):
            if rel.name in seen:
                report(item, ("relationships", i, "name"), f"duplicate relationship name '{rel.name}'")
            seen.add(rel.name)
            if rel.entity not in self.entities:
                self.problems.report_unknown(
                    item,
                    ("relationships", i, "entity"),
                    f"relationship '{rel.name}' points to unknown entity '{rel.entity}'. "
                    + did_you_mean(rel.entity, self.entities),
                    name=rel.entity,
                )
                continue
            holder = self.current_table(rel.entity if rel.type == "one_to_many" else entity.name)
            if holder and not holder.has(rel.foreign_key):
                report(
                    item,
                    ("relationships", i, "foreign_key"),
                    f"foreign key '{rel.foreign_key}' of relationship '{rel.name}' is not a column of "
                    f"{holder.name} (a {rel.type} key lives on "
                    f"{'the related' if rel.type == 'one_to_many' else 'this'} entity's table). "
                    + self.columns_hint(holder, rel.foreign_key),
                )


def declared_columns(entity: Entity) -> frozenset[str]:
    """The columns an entity declares (used for its tables when there is no database catalog)."""
    cols = {entity.primary_key}
    cols |= {d.name for d in entity.dimensions if not d.expression} | {c.name for c in entity.columns}
    for d in entity.dimensions:  # a computed dimension's columns, not its name
        tree = _parse(d.expression) if d.expression else None
        cols |= {c.name for c in tree.find_all(exp.Column)} if isinstance(tree, exp.Expr) else set()
    cols |= {r.foreign_key for r in entity.relationships if r.type != "one_to_many"}
    cols |= {t.timestamp for t in entity.tables.values() if t.timestamp}
    return frozenset(c.lower() for c in cols)


def _parse(sql: str) -> exp.Expr | str:
    """The tree of a definition's SQL, or why it does not parse."""
    try:
        return parse_expression(sql)
    except ParseError as err:
        return str(err).splitlines()[0][:200]


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


def qualified(name: str) -> str:
    return (name if "." in name else f"main.{name}").lower()
