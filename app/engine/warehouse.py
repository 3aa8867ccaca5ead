"""Where metric queries run: the warehouse interface, the embedded DuckDB one, and opening the configured one.

``TAPFLOW_WAREHOUSE`` names it: unset (or ``duckdb:``) is the DuckDB file of ``TAPFLOW_DATABASE``, which
also holds the service's state; ``postgresql://user@host:port/db`` is a PostgreSQL server (engine/postgres.py);
``spark:///path/to/lake`` a local Spark over Parquet folders, ``sc://host:15002`` a Spark Connect server
(engine/spark.py).
The compiler renders each query for the warehouse's ``dialect``; values are always bound parameters.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, runtime_checkable

import duckdb

from app.engine.database import connection, read_catalog
from app.engine.executor import Rows, run_select
from app.errors import DatabaseError, Unsupported
from app.settings import Settings


class Warehouse(Protocol):
    """An engine that runs the compiled SELECTs (read only, within a time limit) and describes its tables."""

    dialect: str  # sqlglot's name of its SQL
    name: str  # what a person calls it in messages and /health: "duckdb", "postgresql://tapflow@db:5432/x"
    notes: list[str]  # what /health warns of: how this engine's answers may differ, what it could not read

    def select(self, sql: str, *, timeout_s: float, params: dict[str, Any] | None = None) -> Rows:
        """Run one SELECT read-only; stopped past ``timeout_s`` (QueryTimeout), a caller's bad value a 400."""
        ...

    def catalog(self) -> dict[str, dict[str, str]]:
        """{"schema.table": {column: type}} of every table definitions may read, types named as DuckDB names
        them (VARCHAR, TIMESTAMP, DECIMAL(12,2) ...) whatever the engine."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Loadable(Warehouse, Protocol):
    """A warehouse the demo can be loaded into (`tapflow seed`): its tables replaced by a DuckDB file's."""

    def load(self, source: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, int]: ...


class Writer(Protocol):
    """A build's hold on one table of a warehouse: no other process builds it until the hold ends."""

    def run(
        self,
        statements: list[tuple[str, dict[str, Any]]],
        *,
        timeout_s: float | None,
        stop: threading.Event | None = None,
    ) -> list[int]:
        """Run ``statements`` (text, parameters) in one transaction, within ``timeout_s`` in all; the rows each
        wrote or removed. A failure rolls every one back (DatabaseError; QueryTimeout past the limit, or when
        ``stop`` is set while a statement runs)."""
        ...

    def columns(self, sql: str) -> list[str]:
        """The names of the columns a SELECT answers (run with LIMIT 0 by the caller)."""
        ...


@runtime_checkable
class Buildable(Warehouse, Protocol):
    """A warehouse `tapflow build` writes entity tables in (PostgreSQL; the DuckDB file builds on its own)."""

    def writer(self, table: str) -> AbstractContextManager[Writer]:
        """Hold ``table`` for a build (BuildConflict while another process holds it)."""
        ...


class DuckDBWarehouse:
    """The embedded DuckDB file: queries run on cursors of the service's one connection."""

    dialect = "duckdb"
    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.notes: list[str] = []

    def select(self, sql: str, *, timeout_s: float, params: dict[str, Any] | None = None) -> Rows:
        return run_select(self.con, sql, timeout_s=timeout_s, params=params)

    def catalog(self) -> dict[str, dict[str, str]]:
        cur = self.con.cursor()
        try:
            return read_catalog(cur)
        finally:
            cur.close()

    def close(self) -> None:
        """The connection is the state database's too: its owner closes it."""


def as_warehouse(source: Warehouse | duckdb.DuckDBPyConnection) -> Warehouse:
    """A DuckDB connection is a warehouse of its own."""
    return DuckDBWarehouse(source) if isinstance(source, duckdb.DuckDBPyConnection) else source


def is_external(settings: Settings) -> bool:
    """Whether the warehouse is another engine than the DuckDB file of the service's state."""
    url = settings.warehouse.strip()
    return bool(url) and not url.startswith("duckdb:")


def buildable(warehouse: Warehouse, what: str) -> Buildable | None:
    """The warehouse a build writes in (None: the DuckDB file, which builds in the same transactions as its
    records); one that takes no writes is refused, saying why."""
    if isinstance(warehouse, DuckDBWarehouse):
        return None
    if not isinstance(warehouse, Buildable):
        raise Unsupported(
            f"{what} cannot write to {warehouse.name}: a Spark lake's Parquet folders take no DELETE or UPDATE, "
            "which a batch's replacement needs. Build in PostgreSQL or the DuckDB file and load the tables "
            "(`tapflow seed` does so for the demo), or write the tables with your own Spark jobs."
        )
    return warehouse


def only_on_duckdb(settings: Settings, what: str) -> None:
    """Refuse ``what`` (reseeding from the service) when queries run on another warehouse: it replaces the DuckDB
    file's tables, which then hold none of the served data."""
    if is_external(settings):
        raise Unsupported(
            f"{what} runs on the DuckDB file; TAPFLOW_WAREHOUSE={redact_url(settings.warehouse)} holds the served "
            "tables. Run `tapflow seed` there instead: it loads the demo's inputs into the warehouse and builds its "
            "entity tables in it."
        )


def open_warehouse(settings: Settings, con: duckdb.DuckDBPyConnection) -> Warehouse:
    """The configured warehouse; ``con`` is the DuckDB file's connection (the warehouse when none is named)."""
    return _external(settings) if is_external(settings) else DuckDBWarehouse(con)


@contextmanager
def warehouse_of(settings: Settings, *, create: bool = False) -> Iterator[Warehouse]:
    """The configured warehouse for one command (the DuckDB file opened read-only when none is named);
    ``create``: a Spark lake's folder is made when missing (to load it)."""
    if not is_external(settings):
        with connection(settings.database, read_only=True, settings=settings) as con:
            yield DuckDBWarehouse(con)
        return
    warehouse = _external(settings, create=create)
    try:
        yield warehouse
    finally:
        warehouse.close()


def _external(settings: Settings, *, create: bool = False) -> Warehouse:
    url = settings.warehouse.strip()
    if url.startswith(("postgresql://", "postgres://")):
        from app.engine.postgres import PostgresWarehouse

        return PostgresWarehouse(url, max_connections=settings.max_concurrent_queries)
    if url.startswith(("spark:", "sc://")):
        from app.engine.spark import SparkWarehouse

        return SparkWarehouse(url, create=create)
    raise DatabaseError(
        f"TAPFLOW_WAREHOUSE={redact_url(url)!r} names no engine TapFlow runs on. Write postgresql://user@host:port/db "
        "for PostgreSQL, spark:///path/to/lake for a local Spark over Parquet folders, sc://host:15002 for a Spark "
        "Connect server, or leave it unset for the DuckDB file of TAPFLOW_DATABASE."
    )


def redact_url(url: str) -> str:
    """``url`` (or a libpq conninfo) without its secrets, for messages and /health: the password of its user
    part, and the value of every password, sslpassword or token parameter.

    >>> redact_url("postgresql://tapflow:s3cret@db:5432/metrics")
    'postgresql://tapflow:***@db:5432/metrics'
    >>> redact_url("postgresql://db/metrics?user=u&password=s3cret"), redact_url("host=db password=s3cret")
    ('postgresql://db/metrics?user=u&password=***', 'host=db password=***')
    >>> redact_url("sc://spark:15002/;token=s3cret;use_ssl=true")
    'sc://spark:15002/;token=***;use_ssl=true'
    """
    url = re.sub(r"(?i)\b(password|sslpassword|token)(\s*=\s*)('[^']*'|[^&;\s]*)", r"\1\2***", url)
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo or "/" in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"
