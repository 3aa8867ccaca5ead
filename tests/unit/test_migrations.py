"""The migrations runner: order, checksums, transactions."""

from __future__ import annotations

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
    applied = apply_migrations(con, folder)
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
