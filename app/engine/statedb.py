"""The state database: where the service's shared state lives (usage events and their journal marks, the metric
registry), so that several service processes behind one address share it.

``TAPFLOW_STATE_DATABASE`` unset: the DuckDB file of ``TAPFLOW_DATABASE`` (one process). ``postgresql://...``: a
PostgreSQL database that any number of replicas write to at once. The governance code writes its SQL once, with
``?`` markers, and reads ``dialect`` where the two engines' SQL differs (lists and arrays). What only one process
does (builds, data versions, the morning check) stays in the DuckDB file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from typing import Any, Protocol

import duckdb

from app.engine.database import first_line, transaction
from app.errors import DatabaseError
from app.settings import Settings

POSTGRES_SCHEMA = "state_postgres.sql"  # the state's tables on PostgreSQL (idempotent DDL)
MIGRATION_LOCK = 7_202_611  # pg_advisory_xact_lock key: replicas starting together create the tables once


class StateCursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any: ...


class StateDB(Protocol):
    dialect: str  # "duckdb" or "postgres": which SQL a query must be written in where they differ
    name: str

    def transaction(self) -> Any:
        """A context manager: a cursor in one transaction (committed at the end, rolled back on error)."""
        ...

    def close(self) -> None: ...


class DuckDBState:
    """The state in the service's DuckDB file (the default: one process)."""

    dialect = "duckdb"
    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with transaction(self.con) as cur:
            yield cur

    def close(self) -> None:
        """The connection is the service's: its owner closes it."""


class _PostgresCursor:
    """A psycopg cursor that reads the governance code's ``?`` markers (its SQL holds no other ``?`` or ``%``
    in literals but LIKE patterns, doubled here)."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        text = sql.replace("%", "%%").replace("?", "%s")
        return self._cur.execute(text, list(params) if params is not None else [])


class PostgresState:
    """The state in a PostgreSQL database, shared by every replica (a small pool per process)."""

    dialect = "postgres"

    def __init__(self, url: str, *, max_connections: int = 4) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        from app.engine.warehouse import redact_url

        self.name = redact_url(url)
        session: dict[str, Any] = {
            "connect_timeout": 10,
            "options": "-c TimeZone=UTC",
        }  # stored times are UTC, as in DuckDB
        try:
            psycopg.connect(url, **session).close()
        except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
            raise DatabaseError(
                f"Cannot reach the state database {self.name} (TAPFLOW_STATE_DATABASE): {redact_url(first_line(exc))}"
            ) from None
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs=session,
            check=ConnectionPool.check_connection,
            open=False,
            name="tapflow-state",
        )
        self.pool.open(wait=True, timeout=10)
        try:
            self.migrate()
        except DatabaseError:
            self.pool.close()
            raise

    def migrate(self) -> None:
        """Create the state's tables if missing (replicas starting at once take turns)."""
        import psycopg

        ddl = files("app.engine").joinpath(POSTGRES_SCHEMA).read_text()
        try:
            with self.pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
                conn.execute(ddl)
        except psycopg.Error as exc:
            raise DatabaseError(
                f"Cannot create the state's tables in {self.name}: {first_line(exc)} (the role needs CREATE on the "
                "database, or the schema meta made by its owner)."
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[_PostgresCursor]:
        import psycopg

        try:
            with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield _PostgresCursor(cur)
        except psycopg.Error as exc:
            raise DatabaseError(f"The state database {self.name} failed: {first_line(exc)}") from exc

    def close(self) -> None:
        self.pool.close()


def is_shared(settings: Settings) -> bool:
    return settings.state_database.strip().startswith(("postgresql://", "postgres://"))


def open_state(settings: Settings, con: duckdb.DuckDBPyConnection) -> StateDB:
    """The configured state database; ``con`` is the service's DuckDB file (the state when none is named)."""
    url = settings.state_database.strip()
    if not url:
        return DuckDBState(con)
    if is_shared(settings):
        return PostgresState(url, max_connections=settings.max_concurrent_queries)
    from app.engine.warehouse import redact_url

    raise DatabaseError(
        f"TAPFLOW_STATE_DATABASE={redact_url(url)!r} is not a PostgreSQL URL. Write "
        "postgresql://user:password@host:port/db for state shared by replicas, or leave it unset for the DuckDB file."
    )
