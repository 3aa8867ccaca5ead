"""The demo as a pipeline: generate the inputs (the seed), then build every entity table from entities/."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from app.definitions.loader import load_project
from app.definitions.rollups import SCHEMA as ROLLUP_SCHEMA
from app.demo.clock import build_until
from app.demo.generator import SeedReport, seed
from app.engine.building.plan import BuildRequest, plan_build
from app.engine.building.runner import BuildReport, Progress, run_build
from app.engine.database import read_catalog
from app.engine.migrations import apply_migrations
from app.errors import BuildError

if TYPE_CHECKING:
    from app.engine.warehouse import Loadable


def build_everything(
    con: duckdb.DuckDBPyConnection,
    project_dir: Path,
    clock: datetime,
    *,
    origin: str = "seed",
    on_batch: Callable[[Progress], None] | None = None,
) -> BuildReport:
    """A full refresh of every built table (after a seed: the inputs changed from the first day)."""
    project = load_project(project_dir, read_catalog(con))
    plan = plan_build(con, project, BuildRequest(full_refresh=True), build_until(con, clock), resume=False)
    report = run_build(con, project, plan, origin=origin, on_batch=on_batch)
    if report.status != "success":
        raise BuildError(f"Building the demo's entity tables failed: {report.error}")
    return report


def seed_into(
    warehouse: Loadable,
    scale: float,
    project_dir: Path,
    clock: datetime,
    *,
    on_batch: Callable[[Progress], None] | None = None,
) -> tuple[SeedReport, BuildReport, dict[str, int]]:
    """The demo in another warehouse: generated and built in a scratch DuckDB file, then every input and entity
    table (not the rollups, which DuckDB serves) loaded into ``warehouse`` in one transaction by COPY.
    The seed's report, the build's, and the rows loaded per table."""
    with (
        tempfile.TemporaryDirectory(prefix="tapflow-seed-") as folder,
        duckdb.connect(str(Path(folder) / "scratch.duckdb")) as con,
    ):
        apply_migrations(con, project_dir / "migrations")
        report = seed(con, scale)
        built = build_everything(con, project_dir, clock, on_batch=on_batch)
        tables = [name for name in read_catalog(con) if not name.startswith(f"{ROLLUP_SCHEMA}.")]
        return report, built, warehouse.load(con, tables)
