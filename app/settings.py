"""Runtime settings, read once from the environment (prefix ``TAPFLOW_``)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service. Each field is documented in the README (a test checks)."""

    model_config = SettingsConfigDict(env_prefix="TAPFLOW_", env_ignore_empty=True, extra="ignore")

    database: Path = Field(Path("tapflow.duckdb"), description="Path of the DuckDB file.")
    warehouse: str = Field(
        "",
        description="Where metric queries run: unset for the DuckDB file of `TAPFLOW_DATABASE`, "
        "`postgresql://user:password@host:port/db`, `spark:///path/to/lake` or `sc://host:15002`.",
    )
    state_database: str = Field(
        "",
        description="Where the shared state (usage events, the metric registry) lives: unset for the DuckDB file of "
        "`TAPFLOW_DATABASE` (one process), or `postgresql://user:password@host:port/db` for several replicas.",
    )
    project_dir: Path = Field(Path("."), description="Folder holding `metrics/`, `entities/` and `migrations/`.")
    host: str = Field("127.0.0.1", description="Address `tapflow serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `tapflow serve` listens on.")
    query_timeout_s: float = Field(30.0, gt=0, description="A query running longer is interrupted (answer 504).")
    max_rows: int = Field(100_000, ge=1, description="Upper bound on `limit` for one query.")
    default_limit: int = Field(10_000, ge=1, description="Rows returned when no `limit` is given.")
    time_zone: str = Field(
        "UTC", description="IANA time zone of queries that name none (`tz`): periods, start and end are read in it."
    )
    week_start: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = Field(
        "monday", description="The day weeks start on for queries that name none (`week_start`)."
    )
    fiscal_year_start: int = Field(
        1, ge=1, le=12, description="The month (1-12) fiscal years start in (grains `fiscal_quarter`, `fiscal_year`)."
    )
    max_concurrent_queries: int = Field(
        4,
        ge=1,
        description="Queries the warehouse runs at once (PostgreSQL: its pool's size); more wait their turn "
        "(cached answers never wait).",
    )
    max_dimensions: int = Field(10, ge=1, description="Most dimensions one query may group by.")
    max_metrics: int = Field(100, ge=1, description="Most metrics one query may ask for.")
    max_body_bytes: int = Field(2_000_000, ge=1024, description="Largest request body accepted (413 above).")
    header_timeout_s: float = Field(
        10.0, gt=0, description="A connection that has not sent a request's headers within this is closed."
    )
    keep_alive_s: float = Field(5.0, gt=0, description="An idle keep-alive connection is closed after this.")
    max_connections: int = Field(
        1000, ge=1, description="Open connections and requests served at once; more are answered 503."
    )
    max_where_chars: int = Field(2000, ge=10, description="Longest `where` expression accepted.")
    max_where_depth: int = Field(10, ge=1, description="Deepest parenthesis nesting accepted in `where`.")
    threads: int = Field(0, ge=0, description="DuckDB worker threads; 0 lets DuckDB decide.")
    memory_limit: str = Field("", description="DuckDB memory limit such as `4GB`; empty: default.")
    api_keys_file: Path | None = Field(None, description="YAML file of API keys; unset means auth is off (demo mode).")
    log_level: str = Field("info", description="Log level of the server.")
    now: datetime | None = Field(
        None, description="Pretend the current UTC time is this (tests and demos of sunsets); unset: the real clock."
    )
    cache_ttl_s: float = Field(
        300.0, ge=0, description="How long a cached result may be served (0 turns the result cache off)."
    )
    cache_max_entries: int = Field(4096, ge=1, description="Results kept in the in-memory cache (LRU).")
    cache_max_bytes: int = Field(
        256 * 2**20,
        ge=2**20,
        description="Bytes the result cache may hold; an answer larger than an eighth of it is not cached.",
    )
    impact_timeout_s: float = Field(
        60.0, gt=0, description="Time budget of one `POST /impact` (504 with the partial report past it)."
    )
    impact_max_changes: int = Field(
        200, ge=1, description="Most changed metrics and entities one impact request may analyse (413 above)."
    )
    demo_mode: bool = Field(
        False, description="Allow `POST /admin/seed` to regenerate the demo data (`make run` turns it on)."
    )
    seed_timeout_s: float = Field(
        600.0, gt=0, description="`POST /admin/seed` past this is interrupted and rolled back (answer 504)."
    )
    build_batch_timeout_s: float = Field(
        3600.0, gt=0, description="A build batch running longer is interrupted, rolled back and the build stopped."
    )
    warm_queries: int = Field(
        20,
        ge=0,
        le=1000,
        description="After a build changes the data, compute again this many of the answers most asked for in the "
        "last 24 hours into the result cache (0: off).",
    )
    usage_tracking: bool = Field(
        True, description="Record usage events; turning it off blinds /usage and /deprecations (for benchmarks)."
    )
    usage_journal: bool = Field(
        True,
        description="Journal each usage event to `<database>.usage-journal/` before buffering it, so a killed "
        "server loses none (replayed at the next start).",
    )
    usage_flush_s: float = Field(0.5, gt=0, description="How often buffered usage events are written.")
    usage_batch: int = Field(500, ge=1, description="Buffered usage events that trigger an early write.")

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        import zoneinfo

        text = value.strip()
        if text.upper() in ("UTC", "Z"):
            return "UTC"
        if text not in zoneinfo.available_timezones() or "/" not in text:
            raise ValueError(f"{value!r} is not a known IANA time zone; write e.g. UTC or Europe/Berlin")
        return text

    def clock(self) -> datetime:
        """The current UTC time (naive), or the pinned ``now``."""
        if self.now is not None:
            return self.now.astimezone(UTC).replace(tzinfo=None) if self.now.tzinfo else self.now
        return datetime.now(UTC).replace(tzinfo=None)

    @property
    def usage_journal_dir(self) -> Path | None:
        return Path(f"{self.database}.usage-journal") if self.usage_journal and self.usage_tracking else None

    @property
    def migrations_dir(self) -> Path:
        return self.project_dir / "migrations"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings(...)`` instead)."""
    return Settings()
