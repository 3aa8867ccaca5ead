"""The query connection itself refuses file access, reconfiguration and writes, whatever SQL reaches it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import pytest

from app.engine import executor
from app.engine.database import connect
from app.engine.executor import run_select
from app.errors import DatabaseError, InvalidQuery, QueryTimeout


@pytest.fixture
def con(demo_db: Path, tmp_path: Path):
    db = tmp_path / "x.duckdb"
    shutil.copy(demo_db, db)
    connection = connect(db)  # as every connection of the project is opened
    yield connection
    connection.close()


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file only this test wrote; an unhardened connection reads it (so a refusal means something)."""
    path = tmp_path / "secret.csv"
    path.write_text("a,b\n1,2\n")
    with duckdb.connect() as plain:
        assert plain.execute(f"SELECT * FROM read_csv('{path}')").fetchall() == [(1, 2)]
        assert plain.execute(f"SELECT content FROM read_text('{path}')").fetchone()[0] == "a,b\n1,2\n"
    return path


def reads(path: Path) -> list[str]:
    return [f"SELECT * FROM read_csv('{path}')", f"SELECT content FROM read_text('{path}')"]


def test_no_file_access_and_no_reconfiguration(con, tmp_path: Path, secret: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    hostile = [
        *reads(secret),
        "SELECT * FROM read_csv('/etc/passwd')",
        f"COPY (SELECT 1) TO '{out / 'copied.csv'}'",
        f"COPY entity.entity_customers TO '{out / 'customers.parquet'}' (FORMAT parquet)",
        f"ATTACH '{out / 'evil.duckdb'}' AS evil",
        "SET enable_external_access = true",
    ]
    for sql in hostile:
        with pytest.raises((DatabaseError, InvalidQuery)):
            run_select(con, sql, timeout_s=5)
    assert list(out.iterdir()) == []


REENABLE = [
    "SET enable_external_access = true",
    "SET GLOBAL enable_external_access = true",
    "RESET enable_external_access",
    "SET lock_configuration = false",
    "RESET lock_configuration",
    "SET allowed_directories = ['{dir}']",
    "SET allowed_paths = ['{file}']",
]


@pytest.mark.parametrize("attempt", REENABLE)
def test_file_access_cannot_be_turned_back_on(con, secret: Path, attempt: str) -> None:
    sql = attempt.format(dir=secret.parent, file=secret)
    with pytest.raises(duckdb.Error):
        con.execute(sql)  # on the connection itself, not only through run_select
    for read in reads(secret):  # and after the attempt, files stay out of reach
        with pytest.raises(duckdb.Error):
            con.execute(read).fetchall()
        with pytest.raises((DatabaseError, InvalidQuery)):
            run_select(con, read, timeout_s=5)


RECONFIGURE = [  # a query that could run one of these would change every later query of the server
    ("memory_limit", "SET memory_limit = '1MB'"),
    ("threads", "SET threads = 1"),
    ("threads", "PRAGMA threads = 1"),
    ("enable_progress_bar", "SET enable_progress_bar = true"),
    ("lock_configuration", "SET lock_configuration = false"),
]


@pytest.mark.parametrize(("setting", "sql"), RECONFIGURE, ids=[s for _, s in RECONFIGURE])
def test_the_configuration_is_locked(con, setting: str, sql: str) -> None:
    before = con.execute(f"SELECT current_setting('{setting}')").fetchone()[0]
    with pytest.raises((DatabaseError, InvalidQuery)):
        run_select(con, sql, timeout_s=5)
    with pytest.raises(duckdb.Error):
        con.execute(sql)
    assert con.execute(f"SELECT current_setting('{setting}')").fetchone()[0] == before
    # a query needing more than a megabyte still runs (memory_limit was not lowered)
    assert run_select(con, "SELECT count(DISTINCT i::VARCHAR) FROM range(300000) t(i)", timeout_s=60).rows == [
        (300000,)
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM entity.entity_customers",
        "INSERT INTO meta.data_versions VALUES (999, now(), 'x')",
        "DROP TABLE entity.entity_customers",
        "WITH gone AS (DELETE FROM entity.entity_customers RETURNING *) SELECT count(*) FROM gone",  # a SELECT
        "COMMIT; DELETE FROM entity.entity_customers",  # the read-only transaction ended first
        "ROLLBACK; DELETE FROM entity.entity_customers; SELECT 1",
    ],
)
def test_queries_cannot_change_data(con, sql: str) -> None:
    before = con.execute("SELECT count(*) FROM entity.entity_customers").fetchone()[0]
    with pytest.raises((DatabaseError, InvalidQuery)):
        run_select(con, sql, timeout_s=5)
    assert con.execute("SELECT count(*) FROM entity.entity_customers").fetchone()[0] == before


def test_a_long_query_is_interrupted(con) -> None:
    with pytest.raises(QueryTimeout):
        run_select(
            con, "SELECT sum(list_sum(generate_series(1, 20000 + i % 7))) FROM range(200000) t(i)", timeout_s=0.2
        )
    assert run_select(con, "SELECT 1", timeout_s=5).rows == [(1,)]


LONG_QUERY = "SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b"  # minutes if not stopped


def test_a_short_timeout_after_a_long_one_is_kept(con, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog sleeps until the soonest deadline it knows; a query whose deadline comes sooner wakes it. Its
    patrol here is a minute, so a missed wake would let the query run on for a minute."""
    watchdog = executor.Watchdog()
    monkeypatch.setattr(watchdog, "PATROL_S", 60.0)
    monkeypatch.setattr(executor, "WATCHDOG", watchdog)
    started = time.monotonic()
    with watchdog.watching(con.cursor(), 3600):  # the thread now sleeps towards this (a minute, its patrol)
        time.sleep(0.2)
        with pytest.raises(QueryTimeout):
            run_select(con, LONG_QUERY, timeout_s=0.5)
    assert time.monotonic() - started < 30  # stopped at its 0.5 s, not at the patrol's 60 s


def test_a_statement_parsed_once_binds_each_runs_values(con) -> None:
    sql = "SELECT count(*) FROM entity.entity_customers WHERE customer_tier = $tier"
    by_hand = dict(con.execute("SELECT customer_tier, count(*) FROM entity.entity_customers GROUP BY ALL").fetchall())
    assert len(by_hand) > 1
    for tier, count in [*by_hand.items(), *by_hand.items()]:  # the second round from the parsed statement
        assert run_select(con, sql, timeout_s=5, params={"tier": tier}).rows == [(count,)]
    assert sql in executor.PARSED._known
