"""A real PostgreSQL server for the tests: a throwaway cluster (initdb, pg_ctl) on a free loopback port.

PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres`` user of Debian's package
(or ``nobody``). `make install` installs the server from the system's packages when it is missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from app.engine.postgres import PostgresWarehouse
from tests.helpers import free_port


def binaries() -> Path:
    """The folder holding initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not versions:
        raise RuntimeError(
            "PostgreSQL's server programs (initdb, pg_ctl) are not installed: run `make install` (it installs "
            "Debian's postgresql package) or `apt-get install postgresql`."
        )
    return Path(versions[-1]).parent


def _owner() -> str | None:
    """The unprivileged user the cluster runs as when the tests run as root (None: the current user)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("Running as root with neither a 'postgres' nor a 'nobody' user to run PostgreSQL as.")


@contextmanager
def postgres_server() -> Iterator[str]:
    """A started cluster; yields the URL of its ``postgres`` database (superuser ``tapflow``, no password)."""
    bin_dir, user = binaries(), _owner()
    folder = Path(tempfile.mkdtemp(prefix="tapflow-pg-"))
    data, port = folder / "data", free_port()
    if user is not None:
        shutil.chown(folder, user)
    run = {"user": user, "check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(
            [bin_dir / "initdb", "-D", data, "-U", "tapflow", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"],
            **run,  # type: ignore[call-overload]
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        options += " -c full_page_writes=off -c max_connections=200"
        subprocess.run(
            [bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "server.log", "-w", "-t", "60", "start"],
            **run,  # type: ignore[call-overload]
        )
    except subprocess.CalledProcessError as exc:
        log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{log}") from exc
    try:
        yield f"postgresql://tapflow@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], user=user, capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server_url: str, name: str, options: str = "") -> str:
    """An empty database ``name`` (dropped first if there, created with ``options``) on the server; its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # test-chosen constant names and options
        conn.execute(f'CREATE DATABASE "{name}" {options}')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def warehouse_on(url: str, *statements: str) -> Iterator[PostgresWarehouse]:
    """The warehouse TapFlow opens on ``url``, after the test's own ``statements`` ran there; closed after."""
    with psycopg.connect(url, autocommit=True, client_encoding="UTF8") as conn:
        for statement in statements:
            conn.execute(statement)  # test-written SQL
    warehouse = PostgresWarehouse(url)
    try:
        yield warehouse
    finally:
        warehouse.close()
