"""The migrations runner: order, checksums, transactions."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from app.engine.migrations import apply_migrations, discover
from app.errors import MigrationError


@pytest.fixture
def folder(root: Path, tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(root / "migrations", target)
    return target


def test_applies_in_order_and_records_checksums(folder: Path) -> None:
    con = duckdb.connect()
    applied = [m for m in apply_migrations(con, folder) if m.scope == "project"]
    assert [m.version for m in applied] == sorted(m.version for m in discover(folder))
    rows = con.execute("SELECT version, name, checksum FROM meta.schema_migrations ORDER BY version").fetchall()
    assert [(v, n) for v, n, _ in rows] == [(m.version, m.name) for m in applied]
    assert all(len(c) == 64 for _, _, c in rows)
    schemas = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
    assert {"staging", "entity", "legacy", "meta"} <= schemas
    assert apply_migrations(con, folder) == []  # idempotent


def test_edited_applied_migration_is_an_error_naming_it(folder: Path) -> None:
    con = duckdb.connect()
    apply_migrations(con, folder)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an edit\n")
    with pytest.raises(MigrationError, match=first.name + " was edited after it was applied"):
        apply_migrations(con, folder)


def test_missing_applied_migration_is_an_error(folder: Path) -> None:
    con = duckdb.connect()
    apply_migrations(con, folder)
    last = sorted(folder.glob("*.sql"))[-1]
    last.unlink()
    with pytest.raises(MigrationError, match=last.name.removesuffix(".sql") + ".sql was applied"):
        apply_migrations(con, folder)


def test_failing_migration_rolls_back_whole(folder: Path) -> None:
    con = duckdb.connect()
    apply_migrations(con, folder)
    (folder / "9999_broken.sql").write_text(
        "CREATE TABLE meta.half_done (x INTEGER);\nINSERT INTO meta.no_such_table VALUES (1);\n"
    )
    with pytest.raises(MigrationError, match="9999_broken.sql failed and was rolled back"):
        apply_migrations(con, folder)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "half_done" not in tables
    assert con.execute("SELECT count(*) FROM meta.schema_migrations WHERE version = 9999").fetchone()[0] == 0


@pytest.mark.parametrize("name", ["1_short.sql", "0003-dash.sql", "0003_CamelCase.sql"])
def test_badly_named_file_is_refused(folder: Path, name: str) -> None:
    (folder / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        discover(folder)


def test_duplicate_number_is_refused(folder: Path) -> None:
    (folder / "0001_again.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share number 0001"):
        discover(folder)


SERVICE_TABLES = {"usage_events", "metric_versions", "data_versions", "service_migrations"}


def meta_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'meta'").fetchall()}


def test_the_service_tables_need_no_project_migrations(tmp_path: Path) -> None:
    con = duckdb.connect()
    applied = apply_migrations(con, tmp_path / "no-such-folder")
    assert [m.label for m in applied] == [
        "service/0001_meta.sql",
        "service/0002_usage_journal.sql",
        "service/0003_builds.sql",
        "service/0004_preaggregations.sql",
    ]
    assert SERVICE_TABLES <= meta_tables(con)
    assert "schema_migrations" not in meta_tables(con)  # no project migrations, no project ledger
    assert apply_migrations(con, None) == []  # idempotent


def test_a_database_from_before_the_move_upgrades(folder: Path, root: Path) -> None:
    """Databases whose project ledger recorded 0003, 0005 and 0006 (the service's tables, once project
    migrations) upgrade without an error, keep their rows, and never apply the service DDL twice."""
    old = {
        3: ("usage_events", "CREATE TABLE meta.usage_events (event_time TIMESTAMP, consumer VARCHAR);"),
        5: ("metric_registry", "CREATE TABLE meta.metric_versions (metric VARCHAR, version INTEGER);"),
        6: (
            "data_versions",
            "CREATE TABLE meta.data_versions (version BIGINT PRIMARY KEY, changed_at TIMESTAMP "
            "DEFAULT now(), reason VARCHAR);\nINSERT INTO meta.data_versions VALUES (1, now(), 'x');",
        ),
    }
    con = duckdb.connect()
    con.execute(
        "CREATE SCHEMA meta; CREATE TABLE meta.schema_migrations (version INTEGER PRIMARY KEY, "
        "name VARCHAR, checksum VARCHAR, applied_at TIMESTAMP DEFAULT now())"
    )
    for version, (name, sql) in old.items():
        con.execute(sql)
        con.execute(
            "INSERT INTO meta.schema_migrations (version, name, checksum) VALUES (?, ?, 'old')", [version, name]
        )
    con.execute("INSERT INTO meta.usage_events VALUES (TIMESTAMP '2026-01-01', 'kept')")
    for path in sorted(folder.glob("*.sql")):
        if int(path.name[:4]) not in old:
            con.execute(path.read_text())
            con.execute(
                "INSERT INTO meta.schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                [int(path.name[:4]), path.stem[5:], hashlib.sha256(path.read_bytes()).hexdigest()],
            )
    applied = apply_migrations(con, folder)
    assert [m.label for m in applied] == [
        "service/0001_meta.sql",
        "service/0002_usage_journal.sql",
        "service/0003_builds.sql",
        "service/0004_preaggregations.sql",
    ]
    assert con.execute("SELECT consumer FROM meta.usage_events").fetchall() == [("kept",)]
    assert con.execute("SELECT min(version) FROM meta.data_versions").fetchone()[0] == 1


def test_a_recorded_migration_that_did_not_move_is_still_missing(folder: Path) -> None:
    con = duckdb.connect()
    apply_migrations(con, folder)
    con.execute("INSERT INTO meta.schema_migrations (version, name, checksum) VALUES (3, 'something_else', 'x')")
    with pytest.raises(MigrationError, match="0003_something_else.sql was applied"):
        apply_migrations(con, folder)
