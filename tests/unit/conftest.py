"""Fixtures of the unit tests: the tiny warehouse, opened read-only."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from tests.unit.tiny_warehouse import warehouse_file


@pytest.fixture(scope="module")
def wh() -> Iterator[duckdb.DuckDBPyConnection]:
    """The tiny warehouse (tests/unit/tiny_warehouse.py) as a read-only connection."""
    con = duckdb.connect(str(warehouse_file()), read_only=True)
    yield con
    con.close()
