"""What the running service holds: settings, the loaded project, the database connection."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import duckdb

from app.api.builds import Builder
from app.api.caching import AnswerCache
from app.compiler.matching import Coverage
from app.compiler.query import MetricQuery
from app.definitions.loader import load_project
from app.definitions.project import Project
from app.demo.clock import build_until
from app.engine.building.rollups import coverage
from app.engine.building.status import morning_check
from app.engine.database import connect, lock_configuration
from app.engine.dataversion import current as current_data_version
from app.engine.migrations import apply_migrations
from app.engine.statedb import StateDB, open_state
from app.engine.warehouse import DuckDBWarehouse, Warehouse, open_warehouse
from app.errors import TapflowError
from app.governance.journal import replay
from app.governance.usage import UsageRecorder, event_of, insert_events
from app.governance.versions import InPlaceChange, sync_registry
from app.memo import Memo
from app.settings import Settings

log = logging.getLogger("tapflow")
STATUS_TTL_S = 60.0  # freshness moves with the clock: the check behind meta.data_status is redone this often
RELOAD_LOCK = threading.Lock()
WORKERS = 40  # requests being answered at once (as many as FastAPI's own thread pool takes); queries wait for a slot


@dataclass
class ServiceState:
    settings: Settings
    con: duckdb.DuckDBPyConnection  # the DuckDB file: builds, data versions (the warehouse unless one is named)
    warehouse: Warehouse  # where metric queries run (TAPFLOW_WAREHOUSE)
    statedb: StateDB  # usage events and the metric registry, shared by replicas (TAPFLOW_STATE_DATABASE)
    project: Project
    recorder: UsageRecorder
    catalog: dict[str, dict[str, str]]
    cache: AnswerCache
    data_version: int
    in_place: list[InPlaceChange] = field(default_factory=list)  # definitions changed without a version bump
    query_slots: threading.BoundedSemaphore = field(init=False)  # TAPFLOW_MAX_CONCURRENT_QUERIES
    # the threads metric answers are computed on (querying.answer_in_worker): one hop from the event loop and back
    workers: ThreadPoolExecutor = field(init=False)
    closed: bool = field(default=False, init=False)
    builder: Builder = field(init=False)
    checked: tuple[float, dict[str, Any]] | None = field(default=None, init=False)  # (when, morning check)
    # what each rollup holds, for (definitions hash, data version); hits and misses of each since start
    rollups_known: tuple[tuple[str, int], dict[str, Coverage]] | None = field(default=None, init=False)
    rollup_hits: Counter[str] = field(default_factory=Counter, init=False)
    rollup_misses: Counter[str] = field(default_factory=Counter, init=False)
    asked: Memo[tuple[str, bytes], tuple[MetricQuery, str | None]] = field(  # GET /metrics/{name}?...: its query
        default_factory=lambda: Memo(1024), init=False
    )

    def __post_init__(self) -> None:
        self.query_slots = threading.BoundedSemaphore(self.settings.max_concurrent_queries)
        self.workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="tapflow-answer")
        self.builder = Builder(self)

    @classmethod
    def open(cls, settings: Settings, *, serving: bool = True) -> ServiceState:
        """Open the database and load the definitions; invalid definitions refuse to start. ``serving`` False is for
        `tapflow docs`: the service's own tables are migrated as at any start, but the definitions are not recorded
        in the registry, a journal is not replayed, and no build is scheduled."""
        con = connect(settings.database, settings=settings, lock=False)  # migrations first, then locked
        warehouse: Warehouse | None = None
        statedb: StateDB | None = None
        try:
            apply_migrations(con, None)  # the service's own tables, on any database
            warehouse = open_warehouse(settings, con)
            statedb = open_state(settings, con)
            catalog = warehouse.catalog()
            project = load_project(settings.project_dir, catalog)
            in_place = sync_registry(statedb, project, settings.clock()) if serving else []
            journal = settings.usage_journal_dir
            if journal is not None and serving:  # events a killed server journalled but never inserted
                replay(statedb, journal, insert_events, event_of)
            lock_configuration(con)
        except Exception:
            for opened in (warehouse, statedb):
                if opened is not None:
                    opened.close()
            con.close()
            raise
        recorder = UsageRecorder(
            statedb, flush_s=settings.usage_flush_s, batch=settings.usage_batch, journal_dir=settings.usage_journal_dir
        )
        recorder.start()
        cache = AnswerCache(
            max_entries=settings.cache_max_entries, ttl_s=settings.cache_ttl_s, max_bytes=settings.cache_max_bytes
        )
        state = cls(
            settings, con, warehouse, statedb, project, recorder, catalog, cache, current_data_version(con), in_place
        )
        for warning in state.warnings:
            log.warning(warning)
        if serving:
            state.builder.start()
        return state

    @property
    def warnings(self) -> list[str]:
        """What /health reports: notes on how definitions were read, definitions changed in place, and
        auth being off."""
        out = list(self.project.warnings) + list(self.warehouse.notes) + [c.message() for c in self.in_place]
        if self.settings.api_keys_file is None:
            out.append("Authentication is off (TAPFLOW_API_KEYS_FILE is not set): every request is served.")
        return out

    def reload(self) -> Project:
        """Validate the definitions on disk and swap them in; on problems raise and keep the old set."""
        with RELOAD_LOCK:
            catalog = self.warehouse.catalog()
            project = load_project(self.settings.project_dir, catalog)
            in_place = sync_registry(self.statedb, project, self.settings.clock())
            self.catalog, self.project, self.in_place = catalog, project, in_place  # requests hold their own

            self.cache.clear()
            return project

    def data_changed(self) -> None:
        """After a write to the data (or its tests) through this process: newer version, empty caches."""
        self.data_version = current_data_version(self.con)
        self.checked = None
        self.cache.clear()

    def coverage(self, project: Project) -> dict[str, Coverage]:
        """What each rollup of ``project`` holds now (recomputed when the data or the definitions change)."""
        key = (project.hash, self.data_version)
        kept = self.rollups_known
        if kept is not None and kept[0] == key:
            return kept[1]
        known = self.rollup_coverage(project)
        self.rollups_known = (key, known)
        return known

    def rollup_coverage(self, project: Project, *, sizes: bool = False) -> dict[str, Coverage]:
        """What each rollup holds now, read from the database (``sizes``: with the bytes each takes); rollups are
        built in the DuckDB file, so another warehouse has none."""
        if not isinstance(self.warehouse, DuckDBWarehouse):
            return {}
        cur = self.con.cursor()
        try:
            return coverage(cur, project, sizes=sizes)
        finally:
            cur.close()

    def note_rollups(self, choice: dict[str, Any] | None) -> None:
        """Count a query answered from a rollup (a hit) and the rollups that could not answer it (misses)."""
        if choice is None:
            return
        if choice["used"]:
            self.rollup_hits[choice["used"]] += 1
        for skipped in choice["skipped"]:
            if not skipped["reason"].endswith("is smaller"):
                self.rollup_misses[skipped["name"]] += 1

    def check(self) -> dict[str, Any]:
        """The morning check without coverage (builds, tests, freshness, late rows), kept STATUS_TTL_S or until
        the data changes: what answers say in ``meta.data_status``."""
        kept = self.checked
        if kept is not None and time.monotonic() - kept[0] < STATUS_TTL_S:
            return kept[1]
        try:  # on another warehouse, from the records only: a freshness query per table would hold up answers
            check = self.morning(coverage=False, freshness=isinstance(self.warehouse, DuckDBWarehouse))
        except TapflowError as exc:  # an answer's data_status is a note: it never costs the answer
            log.warning("data status not computed: %s", exc.detail)
            check = {"tables": []}
        self.checked = (time.monotonic(), check)
        return check

    def morning(self, *, coverage: bool = True, only: set[str] | None = None, freshness: bool = True) -> dict[str, Any]:
        """The morning check now (of the tables ``only`` names, when given)."""
        external = None if isinstance(self.warehouse, DuckDBWarehouse) else self.warehouse
        cur = self.con.cursor()
        try:
            until = build_until(cur, self.settings.clock(), self.catalog if external is not None else None)
            timeout = self.settings.query_timeout_s
            return morning_check(
                cur,
                self.project,
                until,
                coverage=coverage,
                only=only,
                timeout_s=timeout,
                warehouse=external,
                freshness=freshness,
            )
        finally:
            cur.close()

    def close(self) -> None:
        """Write the buffered usage events and close the database (once; later calls do nothing)."""
        if self.closed:
            return
        self.closed = True
        self.builder.close()  # first: a build's warming asks its answers of the workers
        self.workers.shutdown(wait=False, cancel_futures=True)
        self.recorder.close()
        self.statedb.close()
        self.warehouse.close()
        self.con.close()
