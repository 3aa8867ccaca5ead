"""An in-process app (lifespan entered) over a copy of the demo data, and an oracle connection."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.10 would rather drive its TestClient with httpx2; the project pins httpx,
    # which Starlette still supports. Only this one import-time notice is silenced: every
    # other warning stays an error (filterwarnings = error).
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient` is deprecated",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from tests.conftest import ROOT


@contextmanager
def app_client(app: FastAPI) -> Iterator[TestClient]:
    """A test client with the app's lifespan entered (startup on enter, shutdown on exit)."""
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="session")
def served_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("served") / "tapflow.duckdb"
    shutil.copy(demo_db, target)
    return target


@pytest.fixture(scope="session")
def client(served_db: Path) -> Iterator[TestClient]:
    settings = Settings(database=served_db, project_dir=ROOT, now=datetime(2026, 11, 26, 12))
    with app_client(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="session")
def oracle(demo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The same data, for independent hand-written SQL."""
    con = duckdb.connect(str(demo_db), read_only=True)
    yield con
    con.close()
