"""Build definitions checked (DESIGN 10): what each built table reads, found in its SQL by sqlglot,
every table it reads provided by a build or a source, no cycle, and build SQL that is one SELECT
over tables (no table functions, no other statement).

The result, ``BuildGraph``, gives the tables' dependencies and a build order; the builds themselves
are the engine's to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from app.definitions.allowlist import disallowed
from app.definitions.diagnostics import Problems, did_you_mean
from app.definitions.located import Located
from app.definitions.project import BoundTable
from app.definitions.spec import Build, DataTest, Entity

Sub = tuple[str | int, ...]
# functions that reach outside the database's tables: files, the environment, settings, other SQL
# the relation a snapshot build's sql reads its state rows from, and the bound parameters of a batch
SNAPSHOT = "snapshot"
PARAMETERS = ("start", "end")
OUTSIDE = (
    "read_",
    "getenv",
    "glob",
    "query",
    "current_setting",
    "duckdb_",
    "pragma_",
    "sql_auto_complete",
    "getvariable",
    "json_serialize_sql",
    "json_deserialize_sql",
    "json_execute_serialized_sql",
    "which_secret",
    "sniff_csv",
    "parquet_",
    "iceberg_",
    "delta_",
    "enable_",
    "disable_",
    "checkpoint",
    "force_checkpoint",
    "system",
)
# schemas no build reads or writes: the service's own tables and DuckDB's catalogs
RESERVED = ("meta", "information_schema", "pg_catalog", "system", "temp")


@dataclass
class BuildGraph:
    """Built tables (``schema.table``, lower case) -> the tables each reads."""

    reads: dict[str, frozenset[str]] = field(default_factory=dict)

    def order(self) -> list[str]:
        """Every built table after the built tables it reads (by name among equals)."""
        done: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for dep in sorted(self.reads.get(name, ())):
                if dep in self.reads:
                    visit(dep)
            done.append(name)

        for name in sorted(self.reads):
            visit(name)
        return done


class BuildChecker:
    """Checks every ``build`` of the entities and records what each reads."""

    def __init__(
        self,
        located: Mapping[str, Located[Entity]],
        tables: Mapping[tuple[str, str], BoundTable],
        catalog: Mapping[str, object] | None,
        problems: Problems,
    ):
        self.located = located
        self.tables = tables
        self.sources = {name.lower() for name in catalog} if catalog is not None else None
        self.catalog = catalog
        self.problems = problems
        self.graph = BuildGraph()
        self.relations: set[str] = set()  # what the last build sql checked reads, CTEs included
        built = [(n, k, t) for (n, k), t in tables.items() if t.spec.build is not None]
        self.provided = {t.name.lower() for _, _, t in built}
        builders: dict[str, tuple[str, str]] = {}
        for entity, key, table in built:
            build = table.spec.build
            assert build is not None
            self._check_target(self.located[entity], entity, key, table, builders)
            reads = self._check(self.located[entity], entity, key, build)
            self.graph.reads[table.name.lower()] = frozenset(reads)
        self._check_cycles(built)
        for (entity, key), table in tables.items():
            for i, test in enumerate(table.spec.tests):
                self._check_test(self.located[entity], table, test, ("tables", key, "tests", i))

    def _check_test(self, item: Located[Entity], table: BoundTable, test: DataTest, sub: Sub) -> None:
        """The columns a test names are the table's; an expression is a condition over them."""
        columns = list(test.unique or test.not_null or ())
        if test.accepted_values is not None:
            columns.append(test.accepted_values.column)
        if test.relationships is not None:
            columns.append(test.relationships.column)
            if not any(e == test.relationships.to for e, _ in self.tables):
                entities = sorted({e for e, _ in self.tables})
                to = test.relationships.to
                hint = did_you_mean(to, entities)
                self.problems.report_unknown(item, sub, f"relationships: no entity '{to}'. {hint}", name=to)
        if test.expression is not None:
            try:
                tree = sqlglot.parse_one(test.expression, dialect="duckdb")
            except (ParseError, TokenError) as err:
                self.problems.report(item, sub, f"expression: invalid SQL: {str(err).splitlines()[0][:200]}")
                return
            why = disallowed(tree)
            if why is not None:
                self.problems.report(item, sub, f"expression: {why}")
                return
            columns += [c.name for c in tree.find_all(exp.Column)]
        # a table not built yet, or without a database and without its own `columns:`: its columns are not known
        unknown = (self.sources is None and table.spec.columns is None) or (
            table.spec.build is not None and self.sources is not None and table.name.lower() not in self.sources
        )
        for column in [] if unknown else columns:
            if not table.has(column):
                known = sorted(table.columns or ())
                self.problems.report(
                    item, sub, f"'{column}' is not a column of {table.name}. " + did_you_mean(column, known)
                )

    def _check_target(
        self,
        item: Located[Entity],
        entity: str,
        key: str,
        table: BoundTable,
        builders: dict[str, tuple[str, str]],
    ) -> None:
        """What a build writes: a schema.table of its own (not the service's tables, not a table another
        definition builds)."""
        name = table.name.lower()
        sub: Sub = ("tables", key, "name")
        if "." not in name or name.split(".")[0] in RESERVED:
            self.problems.report(
                item, sub, f"a built table is named schema.table outside {', '.join(RESERVED)}; not '{table.name}'"
            )
        elif name in builders:
            other = builders[name]
            self.problems.report(item, sub, f"{table.name} is built by {other[0]}.{other[1]} already; build it once")
        builders.setdefault(name, (entity, key))

    def _check(self, item: Located[Entity], entity: str, key: str, build: Build) -> set[str]:
        sub: Sub = ("tables", key, "build")
        bases = [k for k in ("scd2", "snapshot") if getattr(build, k) is not None]
        if len(bases) > 1 or (not bases and build.sql is None):
            self.problems.report(
                item, sub, "a build is one of sql, scd2 or snapshot (a snapshot may add per-period sql)"
            )
            return set()
        if build.scd2 is not None and build.sql is not None:
            self.problems.report(item, (*sub, "sql"), "an scd2 build derives its rows from `from`; drop sql")
        reads: set[str] = set()
        for kind in bases:
            origin = getattr(build, kind).from_
            name = self._table_named(item, entity, origin, (*sub, kind, "from"))
            if name is not None:
                reads.add(name)
        if build.scd2 is not None and build.scd2.updated_at is None and not build.scd2.check_columns:
            self.problems.report(
                item, (*sub, "scd2"), "scd2 needs updated_at (a change log's time) or check_columns (successive states)"
            )
        order = ("hour", "day", "month")
        inc = build.incremental
        if inc is not None and inc.backfill and order.index(inc.backfill) < order.index(inc.batch):
            self.problems.report(
                item,
                (*sub, "incremental", "backfill"),
                f"backfill ({inc.backfill}) must not be finer than batch ({inc.batch})",
            )
        if (
            inc is not None
            and build.snapshot is not None
            and order.index(build.snapshot.grain) > order.index(inc.batch)
        ):
            self.problems.report(
                item,
                (*sub, "snapshot", "grain"),
                f"a {build.snapshot.grain} snapshot needs batches of a {build.snapshot.grain} or longer, "
                f"not a {inc.batch}",
            )
        if inc is not None and inc.late is not None:
            self._check_late(item, inc.late.table, (inc.late.time, inc.late.loaded_at), (*sub, "incremental", "late"))
        if build.incremental is not None and build.start is None:
            self.problems.report(
                item, (*sub, "incremental"), "an incremental build needs start (the first period of a full build)"
            )
        if build.sql is not None:
            own = {SNAPSHOT} if build.snapshot is not None else set()
            reads |= self._sql_reads(item, build.sql, (*sub, "sql"), own)
            if own and SNAPSHOT not in self.relations:
                self.problems.report(
                    item,
                    (*sub, "sql"),
                    "a snapshot build's sql is its final SELECT over the state rows: read `snapshot`",
                )
        return reads

    def _check_late(self, item: Located[Entity], source: str, columns: tuple[str, str], sub: Sub) -> None:
        """Late rows are counted in a table the database has (or a build makes), by two of its columns."""
        name = source.lower()
        if not self._known(name):
            known = sorted(self.provided | (self.sources or set()))
            self.problems.report(item, sub, f"late: no table '{source}'. " + did_you_mean(source, known, allowed=False))
            return
        have = self.catalog.get(name) if self.catalog is not None else None
        for column in columns:
            if isinstance(have, Mapping) and column.lower() not in have:
                self.problems.report(
                    item, sub, f"late: '{column}' is not a column of {source}. " + did_you_mean(column, list(have))
                )

    def _table_named(self, item: Located[Entity], entity: str, origin: str, sub: Sub) -> str | None:
        """``history`` (a key of the same entity) or ``schema.table``: the table's name, else a problem."""
        own = self.tables.get((entity, origin))
        if own is not None:
            return own.name.lower()
        name = origin.lower()
        if "." in name and self._known(name):
            return name
        keys = [k for (e, k) in self.tables if e == entity]
        self.problems.report(
            item,
            sub,
            f"'{origin}' is neither a table of '{entity}' nor a table a build or the database provides. "
            + did_you_mean(origin, keys + sorted(self.provided | (self.sources or set()))),
        )
        return None

    def _sql_reads(self, item: Located[Entity], sql: str, sub: Sub, own: set[str]) -> set[str]:
        self.relations = set(own)  # unknown (the sql does not parse): no second problem about it
        try:
            statements = [s for s in sqlglot.parse(sql, dialect="duckdb") if s is not None]
        except (ParseError, TokenError) as err:
            self.problems.report(item, sub, f"invalid SQL: {str(err).splitlines()[0][:200]}")
            return set()
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            self.problems.report(item, sub, "build sql is one SELECT (no other statement, nothing after it)")
            return set()
        tree = statements[0]
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)} | own
        self.relations = {".".join(p.name for p in t.parts).lower() for t in tree.find_all(exp.Table)}
        reads: set[str] = set()
        for placeholder in tree.find_all(exp.Placeholder):
            if placeholder.name not in PARAMETERS:
                self.problems.report(
                    item, sub, f"build sql takes the parameters $start and $end only, not {placeholder.sql('duckdb')!r}"
                )
        for table in tree.find_all(exp.Table):
            if isinstance(table.this, exp.GenerateSeries):  # generate_series(...), range(...): made up rows
                continue
            if not isinstance(table.this, exp.Identifier):  # read_csv(...), glob(...), query(...)
                self.problems.report(
                    item, sub, f"build sql reads tables only; {table.this.sql('duckdb')[:80]!r} is not a table"
                )
                continue
            name = ".".join(p.name for p in table.parts).lower()
            if len(table.parts) == 1 and name in ctes:  # a CTE is named by one identifier, never schema.table
                continue
            if "." not in name or not self._known(name):
                self.problems.report(
                    item,
                    sub,
                    f"build sql reads '{name}', which no build or source provides (write schema.table). "
                    + did_you_mean(name, sorted(self.provided | (self.sources or set())), allowed=False),
                )
                continue
            reads.add(name)
        for func in tree.find_all(exp.Func):
            if isinstance(func.parent, exp.Table):  # a table function: reported above
                continue
            name = (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()
            if name.startswith(OUTSIDE):
                self.problems.report(item, sub, f"build sql may not call '{name}': builds read the database's tables")
                break
        return reads

    def _known(self, name: str) -> bool:
        if name.split(".")[0] in RESERVED or name.count(".") != 1:  # the service's schema, the catalogs
            return False
        return name in self.provided or self.sources is None or name in self.sources

    def _check_cycles(self, built: list[tuple[str, str, BoundTable]]) -> None:
        where = {t.name.lower(): (entity, key) for entity, key, t in built}
        state: dict[str, int] = {}  # 1: on the path, 2: done
        path: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            path.append(name)
            for dep in sorted(self.graph.reads.get(name, ())):
                if dep not in self.graph.reads:
                    continue
                if state.get(dep) == 1:
                    cycle = path[path.index(dep) :] + [dep]
                    entity, key = where[dep]
                    self.problems.report(
                        self.located[entity],
                        ("tables", key, "build"),
                        "builds form a cycle: " + " -> ".join(cycle) + "; a table cannot be built from itself",
                    )
                elif dep not in state:
                    visit(dep)
            path.pop()
            state[name] = 2

        for name in sorted(self.graph.reads):
            if name not in state:
                visit(name)
