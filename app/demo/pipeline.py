"""The demo as a pipeline: generate the inputs (the seed), then build every entity table from entities/."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from app.definitions.loader import load_project
from app.definitions.rollups import SCHEMA as ROLLUP_SCHEMA
from app.demo.clock import build_until
from app.demo.generator import SEEDED_TABLES, SeedReport, seed
from app.engine.building.plan import BuildRequest, plan_build
from app.engine.building.runner import BuildReport, Progress, run_build
from app.engine.database import read_catalog
from app.engine.migrations import apply_migrations
from app.engine.warehouse import Buildable, Loadable
from app.errors import BuildError


def build_everything(
    con: duckdb.DuckDBPyConnection,
    project_dir: Path,
    clock: datetime,
    *,
    origin: str = "seed",
    on_batch: Callable[[Progress], None] | None = None,
    warehouse: Buildable | None = None,
) -> BuildReport:
    """A full refresh of every built table (after a seed: the inputs changed from the first day), in the
    DuckDB file of ``con`` or in ``warehouse`` (``con`` recording the run)."""
    report = _seed_build(con, project_dir, clock, origin, on_batch, warehouse, resume=False)
    assert report is not None
    return report


def finish_seed_build(
    con: duckdb.DuckDBPyConnection,
    project_dir: Path,
    clock: datetime,
    *,
    on_batch: Callable[[Progress], None] | None = None,
    warehouse: Buildable | None = None,
) -> BuildReport | None:
    """The seed's build that a stopped process left unfinished, run to its end from where it stopped (None:
    there is none): the demo's inputs are there, its entity tables not all built."""
    return _seed_build(con, project_dir, clock, "seed", on_batch, warehouse, resume=True)


def _seed_build(
    con: duckdb.DuckDBPyConnection,
    project_dir: Path,
    clock: datetime,
    origin: str,
    on_batch: Callable[[Progress], None] | None,
    warehouse: Buildable | None,
    *,
    resume: bool,
) -> BuildReport | None:
    catalog = warehouse.catalog() if warehouse is not None else None
    project = load_project(project_dir, catalog if catalog is not None else read_catalog(con))
    until = build_until(con, clock, catalog)
    plan = plan_build(con, project, BuildRequest(full_refresh=True), until, resume=resume, warehouse=warehouse)
    if resume and not plan.resumed:
        return None
    report = run_build(con, project, plan, origin=origin, on_batch=on_batch, warehouse=warehouse)
    if report.status != "success":
        raise BuildError(f"Building the demo's entity tables failed: {report.error}")
    return report


def seed_into(
    warehouse: Loadable,
    records: duckdb.DuckDBPyConnection | None,
    scale: float,
    project_dir: Path,
    clock: datetime,
    *,
    on_batch: Callable[[Progress], None] | None = None,
) -> tuple[SeedReport, BuildReport | None, dict[str, int]]:
    """The demo in another warehouse: generated in a scratch DuckDB file and its inputs loaded into
    ``warehouse`` in one transaction (COPY), then the entity tables built there, the run recorded in ``records``
    (the service's DuckDB file; None: not built). A warehouse that takes no builds (Spark's lake) gets the entity
    tables built in the scratch file and loaded with the inputs (not the rollups, which DuckDB serves).
    The seed's report, the build's, and the rows loaded per table."""
    with (
        tempfile.TemporaryDirectory(prefix="tapflow-seed-") as folder,
        duckdb.connect(str(Path(folder) / "scratch.duckdb")) as con,
    ):
        apply_migrations(con, project_dir / "migrations")
        report = seed(con, scale)
        if not isinstance(warehouse, Buildable):
            built = build_everything(con, project_dir, clock, on_batch=on_batch)
            tables = [name for name in read_catalog(con) if not name.startswith(f"{ROLLUP_SCHEMA}.")]
            return report, built, warehouse.load(con, tables)
        loaded = warehouse.load(con, list(SEEDED_TABLES))
    if records is None:
        return report, None, loaded
    return report, build_everything(records, project_dir, clock, on_batch=on_batch, warehouse=warehouse), loaded
