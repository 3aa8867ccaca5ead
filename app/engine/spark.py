"""The Apache Spark warehouse (pyspark): a local session over a folder of Parquet tables (``spark:///path``),
or a Spark Connect server (``sc://host:15002``) whose catalog holds the tables. Each query runs under a job
group (a tag on Spark Connect) that is cancelled past its time limit.

The one place where pyspark's errors become a ``TapflowError``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import sqlglot
from sqlglot import exp

from app.engine.database import failed, first_line, timeout_error, unevaluable
from app.engine.executor import Rows
from app.engine.warehouse import redact_url
from app.errors import DatabaseError, InvalidQuery, TapflowError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Spark's type names -> DuckDB's, which the definitions and the compiler read
TYPES = {
    "string": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp_ntz": "TIMESTAMP",  # a wall time with no zone: how TapFlow stores UTC instants
    "timestamp": "TIMESTAMP WITH TIME ZONE",  # an instant, shown in the session's zone (UTC here)
    "binary": "BLOB",
}
# a caller's value that does not fit (ANSI casts): a 400, its value never echoed
CALLER_ERRORS = ("CAST_INVALID_INPUT", "DATATYPE_MISMATCH", "NUMERIC_VALUE_OUT_OF_RANGE", "INVALID_DATETIME")


class SparkWarehouse:
    """A Spark session: local over a lake folder (``<lake>/<schema>/<table>/*.parquet``), or Spark Connect."""

    dialect = "spark"

    def __init__(self, url: str, *, shuffle_partitions: int = 4, create: bool = False) -> None:
        self.url = url
        parts = urlsplit(url)
        self.remote = parts.scheme == "sc"
        self.lake = None if self.remote else Path(parts.path)
        self.name = redact_url(url.split("?")[0])
        self.notes: list[str] = []  # lake folders Spark could not read, named for /health
        if self.lake is not None and not self.lake.is_dir():
            if not create:
                raise DatabaseError(
                    f"The Spark lake {self.lake} (TAPFLOW_WAREHOUSE) is not a folder. Point it at the folder holding "
                    "<schema>/<table>/ folders of Parquet files, or run `tapflow seed` to write the demo there."
                )
            self.lake.mkdir(parents=True)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.scratch = Path(tempfile.mkdtemp(prefix="tapflow-spark-"))
        self._lock = threading.Lock()  # registration of tables: one at a time
        self._registered: dict[str, dict[str, str]] = {}  # a local lake's tables, as registered
        try:
            self.spark = _session(
                url if self.remote else None, options.get("master", "local[2]"), shuffle_partitions, self.scratch
            )
            if self.lake is not None:
                self.register()
        except BaseException:
            self.close()
            raise

    def register(self) -> list[str]:
        """Every ``<lake>/<schema>/<table>`` folder not registered yet as the table ``schema.table`` (a local
        session's catalog lives as long as the session); a folder Spark cannot read is skipped and named in
        ``notes``. The names registered now."""
        assert self.lake is not None
        names, notes = [], []
        with self._lock:
            for schema_dir in sorted(p for p in self.lake.iterdir() if p.is_dir() and not p.name.startswith(".")):
                for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                    name = f"{schema_dir.name}.{table_dir.name}".lower()
                    if name in self._registered:
                        continue
                    try:
                        with self._errors(600):
                            self._register(schema_dir.name, table_dir.name, table_dir)
                    except TapflowError as exc:
                        notes.append(f"Lake folder {table_dir} is not a table Spark can read, skipped: {exc.detail}")
                        continue
                    names.append(name)
            self.notes = notes
        return names

    def select(self, sql: str, *, timeout_s: float, params: dict[str, Any] | None = None) -> Rows:
        _only_a_query(sql)
        started = time.perf_counter()
        group = f"tapflow-{uuid.uuid4().hex}"
        fired = threading.Event()
        with self._group(group):
            timer = threading.Timer(timeout_s, self._cancel, [group, fired])
            timer.daemon = True
            timer.start()
            try:
                with self._errors(timeout_s, fired):
                    rows = [tuple(row) for row in self.spark.sql(sql, args=params or None).collect()]
            finally:
                timer.cancel()
        return Rows(rows, (time.perf_counter() - started) * 1000)

    def catalog(self) -> dict[str, dict[str, str]]:
        if self.lake is not None:  # folders added since are registered now (a reload sees them)
            self.register()
            return {name: dict(columns) for name, columns in self._registered.items()}
        catalog: dict[str, dict[str, str]] = {}
        with self._errors(120):
            for database in self.spark.catalog.listDatabases():
                if database.name in ("meta", "global_temp"):
                    continue
                for table in self.spark.catalog.listTables(database.name):
                    if table.isTemporary:
                        continue
                    qualified = exp.table_(table.name, db=database.name, quoted=True).sql("spark")
                    columns = self.spark.catalog.listColumns(qualified)
                    catalog[f"{database.name}.{table.name}".lower()] = {
                        c.name.lower(): duckdb_type(c.dataType) for c in columns
                    }
        return catalog

    def load(self, source: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, int]:
        """Replace ``tables`` (``schema.table``) of the lake with those of ``source``, written by DuckDB as Parquet;
        each table's folder is swapped in whole once written. Rows of each."""
        if self.lake is None:
            raise DatabaseError(
                f"{self.name} is a Spark Connect server: load its tables with Spark itself; `tapflow seed` writes "
                "a local lake (TAPFLOW_WAREHOUSE=spark:///path/to/lake)."
            )
        counts: dict[str, int] = {}
        for name in tables:
            schema, _, table = name.partition(".")
            final = self.lake / schema / table
            with tempfile.TemporaryDirectory(prefix=".load-", dir=self.lake) as folder:
                staged = Path(folder) / table
                staged.mkdir()
                export = exp.Copy(
                    this=exp.Subquery(this=exp.select("*").from_(exp.table_(table, db=schema, quoted=True))),
                    kind=False,
                    files=[exp.Literal.string(str(staged / "part-0.parquet"))],
                    params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("parquet"))],
                )
                source.execute(export.sql("duckdb"))
                counted = exp.select(exp.Count(this=exp.Star())).from_(exp.table_(table, db=schema, quoted=True))
                counts[name] = int(source.execute(counted.sql("duckdb")).fetchone()[0])  # type: ignore[index]
                final.parent.mkdir(parents=True, exist_ok=True)
                retired = Path(folder) / "retired"
                if final.exists():
                    os.rename(final, retired)
                os.rename(staged, final)
            with self._lock, self._errors(600):
                self._register(schema, table, final)
        return counts

    def close(self) -> None:
        spark = getattr(self, "spark", None)
        if spark is not None:
            spark.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _register(self, schema: str, table: str, folder: Path) -> None:
        namespace = exp.Table(db=exp.to_identifier(schema, quoted=True))
        self.spark.sql(exp.Create(kind="SCHEMA", this=namespace, exists=True).sql("spark"))
        target = exp.table_(table, db=schema, quoted=True)
        self.spark.sql(exp.Drop(kind="TABLE", tables=[target], exists=True).sql("spark"))
        frame = self.spark.catalog.createTable(target.sql("spark"), path=str(folder), source="parquet")
        self._registered[f"{schema}.{table}".lower()] = {
            field.name.lower(): duckdb_type(field.dataType.simpleString()) for field in frame.schema.fields
        }

    @contextmanager
    def _group(self, group: str) -> Iterator[None]:
        """The queries of this thread in job group (local) or under tag (Spark Connect) ``group``."""
        if self.remote:
            self.spark.addTag(group)
            try:
                yield
            finally:
                self.spark.removeTag(group)
            return
        context = self.spark.sparkContext
        context.setJobGroup(group, "tapflow metric query", interruptOnCancel=True)
        try:
            yield
        finally:
            context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]

    def _cancel(self, group: str, fired: threading.Event) -> None:
        fired.set()
        if self.remote:
            self.spark.interruptTag(group)
        else:  # the jobs the query still starts after this one too (a query can be several jobs)
            self.spark.sparkContext._jsc.sc().cancelJobGroupAndFutureJobs(group, "tapflow: the query's time limit")

    @contextmanager
    def _errors(self, timeout_s: float, fired: threading.Event | None = None) -> Iterator[None]:
        from pyspark.errors import PySparkException

        try:
            yield
        except Exception as exc:
            if fired is not None and fired.is_set():
                raise timeout_error(timeout_s) from None
            if isinstance(exc, PySparkException) and any(code in str(exc) for code in CALLER_ERRORS):
                raise unevaluable(exc) from None
            if "NumberFormatException" in str(exc):  # a number too large for Spark's literals, bound by py4j
                raise InvalidQuery("A number in the query is too large for Spark (at most 64-bit integers).") from None
            if isinstance(exc, PySparkException) or "py4j" in type(exc).__module__:
                raise failed(exc) from exc
            raise


def duckdb_type(kind: str) -> str:
    """DuckDB's name of a Spark column type.

    >>> duckdb_type("decimal(12,2)"), duckdb_type("timestamp_ntz"), duckdb_type("array<int>")
    ('DECIMAL(12,2)', 'TIMESTAMP', 'ARRAY<INT>')
    """
    if kind.startswith("decimal"):
        return kind.upper().replace(" ", "")
    return TYPES.get(kind, kind.upper())


def _only_a_query(sql: str) -> None:
    """Refuse anything but one query (what the compiler writes): no INSERT behind a WITH, no DDL."""
    try:
        tree = sqlglot.parse_one(sql, read="spark")
    except sqlglot.errors.ParseError:
        tree = None
    writes = (exp.Insert, exp.Create, exp.Drop, exp.Delete, exp.Update, exp.Merge, exp.Alter, exp.Command)
    if not isinstance(tree, exp.Query) or any(tree.find_all(*writes)):
        raise DatabaseError("Only queries (SELECT) run on the Spark warehouse.")


def _session(remote: str | None, master: str, shuffle_partitions: int, scratch: Path) -> SparkSession:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DatabaseError(
            "TAPFLOW_WAREHOUSE names Spark, but pyspark is not installed: pip install 'tapflow-metrics[spark]'."
        ) from None
    if remote is not None:
        try:
            return SparkSession.builder.remote(remote).getOrCreate()
        except Exception as exc:
            raise DatabaseError(
                f"Cannot use the Spark Connect server {redact_url(remote)}: {redact_url(first_line(exc))} "
                "(Spark Connect needs pyspark's connect extras: pip install 'pyspark[connect]')."
            ) from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise DatabaseError("Spark needs Java 17 or newer (java on PATH, or JAVA_HOME).")
    builder = (
        SparkSession.builder.master(master)
        .appName("tapflow")
        .config("spark.sql.session.timeZone", "UTC")  # stored instants are UTC; zones are the compiler's work
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.local.dir", str(scratch))
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("FATAL")  # a caller's bad value is a 400 here, not a logged stack trace
    return spark
