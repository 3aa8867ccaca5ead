"""Every connection the project opens is hardened (issue 12, point 2): no file or environment reads
from SQL, whether it reads (CLI, impact, bench) or writes (migrate, seed, the server before it locks)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from app.engine.database import connect, connection, lock_configuration

READS = [
    "SELECT content FROM read_text('{secret}')",
    "SELECT * FROM read_csv('{secret}')",
    "SELECT count(*) FROM glob('{dir}/*')",
    "COPY (SELECT 1) TO '{dir}/out.csv'",
    "ATTACH '{dir}/other.duckdb' AS other",
]


@pytest.fixture
def files(tmp_path: Path, demo_db: Path) -> tuple[Path, Path]:
    db = tmp_path / "db" / "tapflow.duckdb"
    db.parent.mkdir()
    shutil.copy(demo_db, db)
    secret = tmp_path / "secret.csv"
    secret.write_text("a,b\n1,2\n")
    with duckdb.connect() as plain:  # an unhardened connection reads it: a refusal below means something
        assert plain.execute(f"SELECT content FROM read_text('{secret}')").fetchone()[0] == "a,b\n1,2\n"
    return db, secret


def refuses_files(con: duckdb.DuckDBPyConnection, secret: Path) -> None:
    for sql in READS:
        with pytest.raises(duckdb.Error, match="(?i)external|disabled|permission"):
            con.execute(sql.format(secret=secret, dir=secret.parent)).fetchall()
    assert not (secret.parent / "out.csv").exists()


@pytest.mark.parametrize("read_only", [True, False])
def test_connect_refuses_files_and_locks(files, read_only) -> None:
    db, secret = files
    with connection(db, read_only=read_only) as con:
        refuses_files(con, secret)
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
        refuses_files(con, secret)


def test_a_connection_still_setting_up_cannot_read_files_either(files) -> None:
    db, secret = files
    con = connect(db, lock=False)  # the server's, before its migrations
    try:
        refuses_files(con, secret)
        con.execute("CREATE TABLE main.scratch AS SELECT 1 AS x")  # it may write the database itself
        lock_configuration(con)
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
        refuses_files(con, secret)
    finally:
        con.close()
