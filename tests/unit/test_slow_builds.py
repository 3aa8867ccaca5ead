"""The morning check flags a build over twice its trailing median, and only against a median of a second or
more: 0.05 s against a median of 0.01 s is noise (it flagged every small table of a PostgreSQL demo)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from app.engine.building.status import _last_builds


@pytest.mark.parametrize(
    ("before", "last", "slow"),
    [
        ([0.01, 0.01, 0.02], 0.5, False),  # fifty times a tiny median: noise
        ([2.0, 2.1, 1.9], 5.0, True),  # over twice a median of seconds
        ([2.0, 2.1, 1.9], 3.9, False),  # under twice it
        ([1.0, 1.0, 1.0], 2.5, True),  # the floor itself counts
    ],
)
def test_a_build_is_slow_over_twice_a_median_of_a_second_or_more(
    migrated_db: Path, tmp_path: Path, before: list[float], last: float, slow: bool
) -> None:
    copy = tmp_path / "records.duckdb"
    shutil.copy(migrated_db, copy)
    start = datetime(2026, 11, 1)
    with duckdb.connect(str(copy)) as con:
        for i, seconds in enumerate([*before, last]):
            con.execute(
                "INSERT INTO meta.build_runs (run_id, table_name, seq, batch_start, batch_end, status, rows_in, "
                "rows_out, seconds, started_at, finished_at) VALUES (?, 'entity.t', 0, ?, ?, 'success', 0, 10, ?, ?, ?)",
                [f"r{i}", start, start, seconds, start + timedelta(hours=i), start + timedelta(hours=i, seconds=1)],
            )
        built = _last_builds(con.cursor())["entity.t"]
    assert built["run_id"] == f"r{len(before)}" and built["seconds"] == last
    assert built["slow"] is slow
