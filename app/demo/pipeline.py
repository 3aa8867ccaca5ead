"""The demo as a pipeline: generate the inputs (the seed), then build every entity table from entities/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from app.definitions.loader import load_project
from app.demo.clock import build_until
from app.engine.building.plan import BuildRequest, plan_build
from app.engine.building.runner import BuildReport, Progress, run_build
from app.engine.database import read_catalog
from app.errors import BuildError


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
