"""Fill the warehouse with the TapFlow demo company (deterministic; ``scale`` multiplies rows)."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from importlib import resources

import duckdb

from app.engine.database import failing_as, scalar, transaction
from app.engine.dataversion import bump
from app.engine.executor import WATCHDOG
from app.errors import SeedError

BASE_CUSTOMERS = 2000
# what a company has as input; every entity.* table is built from these (entities/*.yml, `build:`)
SEEDED_TABLES = (
    "staging.stg_crm__customers",
    "staging.stg_crm__customer_changes",
    "staging.stg_billing__subscriptions",
    "staging.stg_billing__seat_changes",
    "staging.stg_crm__team_changes",
    "staging.stg_crm__users",
    "staging.stg_app__user_activities",
    "staging.stg_crm__locations",
    "staging.stg_devices__devices",
    "staging.stg_devices__telemetry",
    "legacy.customer_facts",
)


@dataclass(frozen=True)
class SeedReport:
    scale: float
    customers: int
    rows: dict[str, int]
    elapsed_s: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def statements() -> list[str]:
    """The generator script, split on lines holding only ';'."""
    text = resources.files("app.demo").joinpath("tapflow.sql").read_text(encoding="utf-8")
    return [s.strip() for s in text.split("\n;\n") if s.strip() and not _only_comments(s)]


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())


def is_seeded(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the demo data was seeded (a warehouse of one's own has no meta.seed_runs at all)."""
    exists = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'seed_runs'"
    return int(scalar(con, exists)) > 0 and int(scalar(con, "SELECT count(*) FROM meta.seed_runs")) > 0


def seed(con: duckdb.DuckDBPyConnection, scale: float = 1.0, *, timeout_s: float | None = None) -> SeedReport:
    """Replace the demo data with the TapFlow company at ``scale`` (1 = about 2,000 customers).

    One transaction on a cursor of its own: its temporary tables and macros end with it. Past
    ``timeout_s`` the running statement is interrupted and everything is rolled back (SeedError).
    """
    if scale <= 0:
        raise SeedError(f"scale must be positive, got {scale}")
    customers = max(10, round(BASE_CUSTOMERS * scale))
    started = time.perf_counter()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with failing_as(SeedError, "Seeding failed and was rolled back"), transaction(con) as cur:
        watch = WATCHDOG.watching(cur, timeout_s) if timeout_s is not None else nullcontext()
        with watch:
            for table in SEEDED_TABLES:
                cur.execute(f"DELETE FROM {table}")  # trusted constant names
            cur.execute("CREATE OR REPLACE TEMP TABLE seed_params AS SELECT ?::INTEGER AS customers", [customers])
            for sql in statements():
                if deadline is not None and time.monotonic() > deadline:  # between statements, the watchdog
                    raise SeedError("Seeding was interrupted at its time limit and rolled back")  # has nothing to stop
                cur.execute(sql)
        rows = {t: int(scalar(cur, f"SELECT count(*) FROM {t}")) for t in SEEDED_TABLES}  # trusted constant names
        elapsed = time.perf_counter() - started
        cur.execute(
            "INSERT INTO meta.seed_runs VALUES (now(), ?, ?, ?, ?)",
            [scale, customers, sum(rows.values()), elapsed],
        )
        bump(cur, f"tapflow seed --scale {scale:g}")
    return SeedReport(scale, customers, rows, elapsed)
