"""Apply migrations in order, each in one transaction, recorded with a checksum.

Two sets, each with its own ledger: the service's own (``app/engine/service_migrations``, shipped
in the package and applied to any database: usage events, the metric registry, data versions),
then the project's ``migrations/`` folder, which is optional and holds the project's own DDL.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from app.engine.database import failing_as, scalar, transaction
from app.engine.dataversion import bump
from app.errors import MigrationError

FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
SERVICE_DIR = Path(__file__).parent / "service_migrations"
SERVICE_LEDGER, PROJECT_LEDGER = "meta.service_migrations", "meta.schema_migrations"
# project migrations of earlier releases that the service now ships itself: recorded, no longer on disk
MOVED_TO_SERVICE = {3: "usage_events", 5: "metric_registry", 6: "data_versions"}
BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS {ledger} (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    checksum   VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT now()
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    scope: str = "project"  # "service" (shipped in the package) or "project" (the project's folder)

    @property
    def label(self) -> str:
        return f"service/{self.path.name}" if self.scope == "service" else self.path.name

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(folder: Path, scope: str = "project") -> list[Migration]:
    """The migrations of a folder, in order; a badly named or duplicated file is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        m = FILENAME.match(path.name)
        if not m:
            raise MigrationError(
                f"Migration file '{path.name}' is not named NNNN_name.sql (four digits, an underscore, "
                "lowercase snake_case), e.g. 0007_add_usage_events.sql."
            )
        version = int(m.group(1))
        if version in found:
            raise MigrationError(
                f"Migrations '{found[version].path.name}' and '{path.name}' share number {version:04d}."
            )
        found[version] = Migration(version, m.group(2), path, scope)
    return [found[v] for v in sorted(found)]


def applied(con: duckdb.DuckDBPyConnection, ledger: str = PROJECT_LEDGER) -> dict[int, tuple[str, str]]:
    """{version: (name, checksum)} of what the database has recorded in ``ledger``."""
    con.execute(BOOTSTRAP.format(ledger=ledger))
    rows = con.execute(f"SELECT version, name, checksum FROM {ledger}").fetchall()
    return {v: (n, c) for v, n, c in rows}


def has_data_versions(con: duckdb.DuckDBPyConnection) -> bool:
    sql = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'data_versions'"
    return int(scalar(con, sql)) > 0


def apply_migrations(con: duckdb.DuckDBPyConnection, folder: Path | None) -> list[Migration]:
    """Apply the service's pending migrations, then the project's (``folder``, when it exists);
    refuse if an applied one was edited or is missing. Returns those applied, in order."""
    done = _apply(con, discover(SERVICE_DIR, "service"), SERVICE_LEDGER, SERVICE_DIR, {})
    if folder is not None and folder.is_dir():
        done += _apply(con, discover(folder), PROJECT_LEDGER, folder, MOVED_TO_SERVICE)
    return done


def _apply(
    con: duckdb.DuckDBPyConnection, migrations: list[Migration], ledger: str, folder: Path, moved: dict[int, str]
) -> list[Migration]:
    done = applied(con, ledger)
    by_version = {m.version: m for m in migrations}
    for version, (name, checksum) in sorted(done.items()):
        mig = by_version.get(version)
        if mig is None:
            if moved.get(version) == name:
                continue
            raise MigrationError(
                f"Migration {version:04d}_{name}.sql was applied to this database but is missing from "
                f"{folder}. Restore it; applied migrations are never deleted."
            )
        if mig.checksum != checksum:
            raise MigrationError(
                f"Migration {mig.path.name} was edited after it was applied (checksum "
                f"{checksum[:12]} recorded, {mig.checksum[:12]} on disk). Revert the edit and put the "
                "change in a new migration file."
            )
    pending = [m for m in migrations if m.version not in done]
    for mig in pending:
        sql = mig.path.read_text(encoding="utf-8")
        with failing_as(MigrationError, f"Migration {mig.label} failed and was rolled back"):
            with transaction(con) as cur:
                cur.execute(sql)
                cur.execute(
                    f"INSERT INTO {ledger} (version, name, checksum) VALUES (?, ?, ?)",
                    [mig.version, mig.name, mig.checksum],
                )
                if has_data_versions(cur):
                    bump(cur, f"migration {mig.label}")
    return pending
