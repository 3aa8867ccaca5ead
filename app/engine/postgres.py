"""The PostgreSQL warehouse (psycopg 3 and its pool): read-only queries under a statement timeout, its
catalog in DuckDB's type names, and bulk loads of a DuckDB file's tables by COPY.

The one place where ``psycopg.Error`` becomes a ``TapflowError``.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from sqlglot import exp

from app.engine.database import failed, first_line, misfit, timeout_error, unevaluable
from app.engine.executor import Rows
from app.engine.warehouse import redact_url
from app.errors import BuildConflict, DatabaseError

CONNECT_TIMEOUT_S = 10
LOCK_TIMEOUT_S = 60.0  # taking a table's lock, or reading the shape of a build's rows: no rows are read
ANALYZE_TIMEOUT_S = 600.0  # statistics of a table a build wrote (samples 30,000 rows by default, whatever its size)
# every session in UTC, as DuckDB and Spark read instants: a server's own TimeZone would shift TIMESTAMPTZ periods
# text as UTF-8 whatever the database's encoding (SQL_ASCII would hand psycopg bytes)
SESSION: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "options": "-c TimeZone=UTC",
    "client_encoding": "UTF8",
}
# PostgreSQL's information_schema type names -> DuckDB's, which the definitions and the compiler read
TYPES = {
    "character varying": "VARCHAR",
    "text": "VARCHAR",
    "character": "VARCHAR",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "date": "DATE",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "boolean": "BOOLEAN",
    "uuid": "UUID",
    "interval": "INTERVAL",
    "time without time zone": "TIME",
    "bytea": "BLOB",
    "json": "JSON",
    "jsonb": "JSON",
}


class PostgresWarehouse:
    """A PostgreSQL server: a pool of read-only connections for queries, one connection per load."""

    dialect = "postgres"

    def __init__(self, url: str, *, max_connections: int = 4) -> None:
        self.url = url
        self.name = redact_url(url)
        self.notes: list[str] = []  # what /health warns of: how this server differs from DuckDB
        with self._reaching(), psycopg.connect(url, **SESSION) as conn:  # a wrong host or password: said now
            row = conn.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()").fetchone()
        if row is not None and row[0] not in ("C", "POSIX", "C.UTF-8", "C.utf8"):
            self.notes.append(
                f"The warehouse {self.name} compares and orders text by the collation {row[0]!r}, DuckDB by bytes: "
                "`order` on text and `where` ranges on text (<, BETWEEN) may differ from DuckDB's (create the "
                "database with LC_COLLATE 'C' for the same answers)."
            )
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs=SESSION,
            configure=_read_only,
            check=ConnectionPool.check_connection,  # a connection the server ended is replaced, not used
            open=False,
            name="tapflow-warehouse",
        )
        self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)

    def select(self, sql: str, *, timeout_s: float, params: dict[str, Any] | None = None) -> Rows:
        started = time.perf_counter()
        with self._errors(timeout_s), self.pool.connection(timeout=timeout_s) as conn, conn.cursor() as cur:
            # the transaction's own limit (READ ONLY is the connection's): SET LOCAL takes no parameter
            cur.execute("SELECT set_config('statement_timeout', %s, true)", [f"{max(1, round(timeout_s * 1000))}ms"])
            cur.execute(sql, params or {})  # always with parameters: the text's %% are psycopg's escapes
            rows = cur.fetchall()
        return Rows(rows, (time.perf_counter() - started) * 1000)

    def catalog(self) -> dict[str, dict[str, str]]:
        """Tables, views, materialized views, partitioned and foreign tables (information_schema would miss
        materialized views), with their types as format_type writes them."""
        rows = self.select(
            """
            SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
              AND n.nspname NOT IN ('meta', 'information_schema', 'pg_catalog', 'pg_toast')
              AND n.nspname NOT LIKE 'pg\\_%%'
            ORDER BY n.nspname, c.relname, a.attnum
            """,
            timeout_s=60,
        ).rows
        catalog: dict[str, dict[str, str]] = {}
        for schema, table, column, kind in rows:
            catalog.setdefault(f"{schema}.{table}".lower(), {})[column.lower()] = duckdb_type(kind)
        return catalog

    def load(self, source: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, int]:
        """Replace ``tables`` (``schema.table``) here with those of ``source``, all in one transaction (a
        failure leaves every table as it was): each as CSV written by DuckDB and read by COPY. Rows of each."""
        counts: dict[str, int] = {}
        with self._reaching(), psycopg.connect(self.url, **SESSION) as conn:
            with tempfile.TemporaryDirectory(prefix="tapflow-load-") as folder, conn.transaction():
                for name in tables:
                    try:
                        counts[name] = _copy_table(source, conn, name, Path(folder) / "rows.csv")
                        conn.execute(exp.Analyze(tables=[_table(name)]).sql("postgres"))  # statistics for the planner
                    except psycopg.Error as exc:
                        raise DatabaseError(
                            f"Loading {name} into {self.name} failed, and nothing was loaded: {first_line(exc)} "
                            "(the role needs CREATE on the database, and room for the rows)."
                        ) from None
        return counts

    @contextmanager
    def writer(self, table: str) -> Iterator[PostgresWriter]:
        """A read-write connection of its own holding the advisory lock of ``table`` (session level: released
        when the build is done with the table, or when its connection ends), so one process at a time builds a
        table, whichever replica or command asked. The table's statistics are refreshed when it is done."""
        with self._reaching():
            conn = psycopg.connect(self.url, autocommit=True, **SESSION)
        try:
            with self._errors(LOCK_TIMEOUT_S):
                key = f"tapflow build {table}"
                held = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key]).fetchone()
            if held is None or not held[0]:
                raise BuildConflict(
                    f"{table} is being built by another process on {self.name} (another service replica or a "
                    "`tapflow build`); build it again when that build is done."
                )
            yield PostgresWriter(conn, self.name)
            with self._errors(ANALYZE_TIMEOUT_S):  # the planner's statistics of the rows written (for what reads it)
                conn.execute("SELECT set_config('statement_timeout', %s, false)", [f"{ANALYZE_TIMEOUT_S * 1000:.0f}ms"])
                conn.execute(exp.Analyze(tables=[_table(table)]).sql("postgres"))
        finally:
            conn.close()  # the session's lock goes with it

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        try:
            yield
        except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:  # ProgrammingError: a malformed URL
            raise DatabaseError(
                f"Cannot reach the PostgreSQL warehouse {self.name} (TAPFLOW_WAREHOUSE): {redact_url(first_line(exc))}"
            ) from None

    def _errors(self, timeout_s: float) -> AbstractContextManager[None]:
        return _errors(self.name, timeout_s)


class PostgresWriter:
    """The connection a build writes a table's batches on (each batch one transaction)."""

    def __init__(self, conn: psycopg.Connection[Any], name: str) -> None:
        self.conn, self.name = conn, name

    def run(
        self,
        statements: list[tuple[str, dict[str, Any]]],
        *,
        timeout_s: float | None,
        stop: threading.Event | None = None,
    ) -> list[int]:
        counts = []
        deadline = None if not timeout_s else time.monotonic() + timeout_s
        with (
            _errors(self.name, timeout_s or 0),
            _cancelled_when(stop, self.conn),
            self.conn.transaction(),
            self.conn.cursor() as cur,
        ):
            for sql, params in statements:
                if deadline is not None:  # the batch's limit, shared by its statements
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise timeout_error(timeout_s or 0)
                    cur.execute("SELECT set_config('statement_timeout', %s, true)", [f"{max(1, round(left * 1000))}ms"])
                cur.execute(sql, params)  # always with parameters: the text's %% are psycopg's escapes
                counts.append(max(cur.rowcount, 0))
        return counts

    def columns(self, sql: str) -> list[str]:
        with _errors(self.name, LOCK_TIMEOUT_S), self.conn.cursor() as cur:
            cur.execute(sql, {})
            return [d.name for d in cur.description or []]


@contextmanager
def _cancelled_when(stop: threading.Event | None, conn: psycopg.Connection[Any]) -> Iterator[None]:
    """While the block runs, a set ``stop`` (a build cancelled) cancels the statement running on ``conn``."""
    if stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(0.2):
                if not done.is_set():
                    conn.cancel_safe()
                return

    watcher = threading.Thread(target=watch, name="tapflow-build-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


@contextmanager
def _errors(name: str, timeout_s: float) -> Iterator[None]:
    """What running a statement raises, as the DuckDB seam says it (database.query_errors)."""
    try:
        yield
    except (psycopg.errors.QueryCanceled, PoolTimeout):
        raise timeout_error(timeout_s) from None
    except psycopg.errors.DataError as exc:  # PostgreSQL quotes a value that does not parse in double quotes
        raise unevaluable(exc, "'\"") from None
    except psycopg.errors.UndefinedFunction as exc:
        if "operator does not exist" not in str(exc):
            raise failed(exc) from exc
        raise misfit(exc) from None
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"The PostgreSQL warehouse {name} failed: {first_line(exc)}") from exc
    except psycopg.Error as exc:
        raise failed(exc) from exc


def _read_only(conn: psycopg.Connection[Any]) -> None:
    conn.read_only = True


def duckdb_type(kind: str) -> str:
    """DuckDB's name of a PostgreSQL column type as ``format_type`` writes it.

    >>> duckdb_type("numeric(12,2)"), duckdb_type("numeric"), duckdb_type("timestamp(3) without time zone")
    ('DECIMAL(12,2)', 'DOUBLE', 'TIMESTAMP')
    >>> duckdb_type("character varying(20)"), duckdb_type("text[]")
    ('VARCHAR', 'TEXT[]')
    """
    decimal = re.fullmatch(r"numeric\((\d+),(\d+)\)", kind)
    if decimal is not None:  # without a precision, numeric holds any number: read as a double
        precision, scale = int(decimal[1]), int(decimal[2])
        return f"DECIMAL({precision},{scale})" if precision <= 38 else "DOUBLE"
    base = re.sub(r"\(\d+(,\d+)?\)", "", kind).strip()
    return "DOUBLE" if base == "numeric" else TYPES.get(base, kind.upper())


def _table(name: str) -> exp.Table:
    schema, _, table = name.partition(".")
    return exp.table_(table, db=schema, quoted=True)


def _copy_table(source: duckdb.DuckDBPyConnection, conn: psycopg.Connection[Any], name: str, csv: Path) -> int:
    schema, _, table = name.partition(".")
    target = _table(name)
    columns = source.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        raise DatabaseError(f"Cannot load '{name}': no such table in the source.")
    definitions = [
        exp.ColumnDef(this=exp.to_identifier(column, quoted=True), kind=exp.DataType.build(kind, dialect="duckdb"))
        for column, kind in columns
    ]
    conn.execute(
        exp.Create(kind="SCHEMA", this=exp.Table(db=exp.to_identifier(schema, quoted=True)), exists=True).sql(
            "postgres"
        )
    )
    conn.execute(exp.Drop(kind="TABLE", tables=[target.copy()], exists=True).sql("postgres"))
    conn.execute(exp.Create(kind="TABLE", this=exp.Schema(this=target.copy(), expressions=definitions)).sql("postgres"))
    export = exp.Copy(
        this=exp.Subquery(this=exp.select("*").from_(target.copy())),
        kind=False,
        files=[exp.Literal.string(str(csv))],
        params=[
            exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("csv")),
            exp.CopyParameter(this=exp.var("HEADER"), expression=exp.false()),
        ],
    )
    source.execute(export.sql("duckdb"))
    rows = 0
    with conn.cursor() as cur:
        copy_sql = exp.Copy(
            this=target.copy(),
            kind=True,
            files=[exp.var("STDIN")],
            params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("csv"))],
        )
        with cur.copy(copy_sql.sql("postgres")) as copy, csv.open("rb") as rows_file:
            while block := rows_file.read(1 << 20):
                copy.write(block)
        rows = cur.rowcount
    return rows
