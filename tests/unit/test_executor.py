"""The query connection itself refuses file access and writes, whatever SQL reaches it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from app.engine.executor import harden, run_select
from app.errors import DatabaseError, InvalidQuery, QueryTimeout


@pytest.fixture
def con(demo_db: Path, tmp_path: Path):
    db = tmp_path / "x.duckdb"
    shutil.copy(demo_db, db)
    connection = duckdb.connect(str(db))
    harden(connection)
    yield connection
    connection.close()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "COPY (SELECT 1) TO '/tmp/tapflow-should-not-exist.csv'",
    "ATTACH '/tmp/tapflow-should-not-exist.duckdb' AS evil",
    "SET enable_external_access = true",
])
def test_no_file_access_and_no_reconfiguration(con, sql: str) -> None:
    with pytest.raises((DatabaseError, InvalidQuery)):
        run_select(con, sql, timeout_s=5)
    assert not Path("/tmp/tapflow-should-not-exist.csv").exists()
    assert not Path("/tmp/tapflow-should-not-exist.duckdb").exists()


@pytest.mark.parametrize("sql", [
    "DELETE FROM entity.entity_customers",
    "INSERT INTO meta.data_versions VALUES (999, now(), 'x')",
    "DROP TABLE entity.entity_customers",
])
def test_queries_cannot_change_data(con, sql: str) -> None:
    before = con.execute("SELECT count(*) FROM entity.entity_customers").fetchone()[0]
    with pytest.raises((DatabaseError, InvalidQuery)):
        run_select(con, sql, timeout_s=5)
    assert con.execute("SELECT count(*) FROM entity.entity_customers").fetchone()[0] == before


def test_a_long_query_is_interrupted(con) -> None:
    with pytest.raises(QueryTimeout):
        run_select(con, "SELECT sum(list_sum(generate_series(1, 20000 + i % 7))) FROM range(200000) t(i)",
                   timeout_s=0.2)
    assert run_select(con, "SELECT 1", timeout_s=5).rows == [(1,)]
