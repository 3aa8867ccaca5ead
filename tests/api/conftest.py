"""An in-process app (lifespan entered) over a copy of the demo data, and an oracle connection."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.from_thread
import duckdb
import httpx
import pytest
from fastapi import FastAPI

from app.api.main import create_app
from app.settings import Settings
from tests.conftest import ROOT


class SyncClient:
    """httpx over ASGITransport, driven from sync tests through an anyio portal."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, client: httpx.AsyncClient, app: FastAPI):
        self.portal = portal
        self.client = client
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.portal.call(lambda: self.client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@contextmanager
def app_client(app: FastAPI) -> Iterator[SyncClient]:
    """Enter the app's lifespan (ASGITransport does not) and yield a client."""
    with anyio.from_thread.start_blocking_portal() as portal:
        stack = AsyncExitStack()

        async def enter() -> httpx.AsyncClient:
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            return await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://t"))

        client = portal.call(enter)
        try:
            yield SyncClient(portal, client, app)
        finally:
            portal.call(stack.aclose)


@pytest.fixture(scope="session")
def served_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("served") / "tapflow.duckdb"
    shutil.copy(demo_db, target)
    return target


@pytest.fixture(scope="session")
def client(served_db: Path) -> Iterator[SyncClient]:
    settings = Settings(database=served_db, project_dir=ROOT, now=datetime(2026, 11, 26, 12))
    with app_client(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="session")
def oracle(demo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The same data, for independent hand-written SQL."""
    con = duckdb.connect(str(demo_db), read_only=True)
    yield con
    con.close()
