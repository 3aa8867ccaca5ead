"""The tapflow CLI as a separate process: validate, migrate, seed."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from tests.helpers import env_for, tapflow


def test_validate_passes_on_the_shipped_definitions(demo_db: Path) -> None:
    result = tapflow("validate", env=env_for(demo_db))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checked against the database catalog" in result.stdout


def test_validate_without_a_database(tmp_path: Path) -> None:
    result = tapflow("validate", env=env_for(tmp_path / "none.duckdb"))
    assert result.returncode == 0, result.stderr
    assert "no database" in result.stdout
    assert not (tmp_path / "none.duckdb").exists()


def test_validate_lists_problems_and_exits_1(project_copy: Path, root: Path, tmp_path: Path) -> None:
    shutil.copy(root / "tests" / "broken" / "m24_many_problems.yml", project_copy / "metrics" / "zz.yml")
    result = tapflow("validate", env=env_for(tmp_path / "none.duckdb", project_copy))
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("metrics/zz.yml:")]
    assert len(lines) >= 5, result.stdout
    assert any(line.startswith("metrics/zz.yml:14: metrics.revenue_v1.expression") for line in lines)


def test_migrate_then_seed_if_empty(tmp_path: Path) -> None:
    db = tmp_path / "fresh.duckdb"
    env = env_for(db)
    first = tapflow("migrate", env=env)
    assert first.returncode == 0 and "applied 0001_schemas.sql" in first.stdout
    assert "up to date" in tapflow("migrate", env=env).stdout
    seeded = tapflow("seed", "--scale", "0.05", "--if-empty", env=env)
    assert seeded.returncode == 0 and "seeded 100 customers" in seeded.stdout, seeded.stderr
    again = tapflow("seed", "--if-empty", env=env)
    assert "not seeding" in again.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM entity.entity_customers").fetchone()[0] == 100


def test_edited_migration_fails_migrate_with_its_name(project_copy: Path, tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    env = env_for(db, project_copy)
    assert tapflow("migrate", env=env).returncode == 0
    mig = project_copy / "migrations" / "0001_schemas.sql"
    mig.write_text(mig.read_text() + "-- edited\n")
    result = tapflow("migrate", env=env)
    assert result.returncode == 1
    assert "0001_schemas.sql was edited after it was applied" in result.stderr
