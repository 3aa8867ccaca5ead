"""Shared fixtures: the repository's project folder, a migrated database, a seeded demo database."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from app.demo.generator import seed
from app.demo.pipeline import build_everything
from app.engine.database import read_catalog
from app.engine.migrations import apply_migrations

ROOT = Path(__file__).resolve().parents[1]
TEST_SCALE = 0.25  # 500 customers: every code path, generated in a second and built in a few


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with every migration applied and no data (enough for the catalog)."""
    path = tmp_path_factory.mktemp("migrated") / "tapflow.duckdb"
    with duckdb.connect(str(path)) as con:
        apply_migrations(con, ROOT / "migrations")
    return path


@pytest.fixture(scope="session")
def catalog(migrated_db: Path) -> dict[str, dict[str, str]]:
    with duckdb.connect(str(migrated_db), read_only=True) as con:
        return read_catalog(con)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The TapFlow demo data at the test scale. Read it only (copy it to change it)."""
    path = tmp_path_factory.mktemp("demo") / "tapflow.duckdb"
    with duckdb.connect(str(path)) as con:
        apply_migrations(con, ROOT / "migrations")
        seed(con, TEST_SCALE)
        build_everything(con, ROOT, datetime(2026, 11, 26))
    return path


@pytest.fixture(scope="module")
def demo_con(demo_db: Path):
    """A read-only connection to the demo data, for a module's oracle queries."""
    con = duckdb.connect(str(demo_db), read_only=True)
    yield con
    con.close()


@pytest.fixture
def demo_copy(demo_db: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database that a test may change."""
    target = tmp_path / "tapflow.duckdb"
    shutil.copy(demo_db, target)
    return target


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped definitions and migrations."""
    target = tmp_path / "project"
    for folder in ("metrics", "entities", "migrations", "docs"):
        shutil.copytree(ROOT / folder, target / folder)
    return target
