"""Apply ``migrations/NNNN_name.sql`` in order, each in one transaction, recorded with a checksum."""

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
BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.schema_migrations (
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

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(folder: Path) -> list[Migration]:
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
        found[version] = Migration(version, m.group(2), path)
    return [found[v] for v in sorted(found)]


def applied(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[str, str]]:
    """{version: (name, checksum)} of what the database has recorded."""
    con.execute(BOOTSTRAP)
    rows = con.execute("SELECT version, name, checksum FROM meta.schema_migrations").fetchall()
    return {v: (n, c) for v, n, c in rows}


def has_data_versions(con: duckdb.DuckDBPyConnection) -> bool:
    sql = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'data_versions'"
    return int(scalar(con, sql)) > 0


def apply_migrations(con: duckdb.DuckDBPyConnection, folder: Path) -> list[Migration]:
    """Apply pending migrations; refuse if an applied one was edited or is missing. Returns those applied."""
    done = applied(con)
    migrations = discover(folder)
    by_version = {m.version: m for m in migrations}
    for version, (name, checksum) in sorted(done.items()):
        mig = by_version.get(version)
        if mig is None:
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
        with failing_as(MigrationError, f"Migration {mig.path.name} failed and was rolled back"):
            with transaction(con) as cur:
                cur.execute(sql)
                cur.execute(
                    "INSERT INTO meta.schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                    [mig.version, mig.name, mig.checksum],
                )
                if has_data_versions(cur):
                    bump(cur, f"migration {mig.path.name}")
    return pending
