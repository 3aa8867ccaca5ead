"""What the running service holds: settings, the loaded project, the database connection."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import duckdb

from app.definitions.loader import load_project
from app.definitions.project import Project
from app.engine.database import connect, read_catalog
from app.engine.executor import harden
from app.settings import Settings

log = logging.getLogger("tapflow")


@dataclass
class ServiceState:
    settings: Settings
    con: duckdb.DuckDBPyConnection
    project: Project
    warnings: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings) -> ServiceState:
        """Open the database and load the definitions; invalid definitions refuse to start."""
        con = connect(settings.database, settings=settings)
        try:
            project = load_project(settings.project_dir, read_catalog(con))
            harden(con)
        except Exception:
            con.close()
            raise
        warnings = []
        if settings.api_keys_file is None:
            warnings.append("Authentication is off (TAPFLOW_API_KEYS_FILE is not set): every request is served.")
        for w in warnings:
            log.warning(w)
        return cls(settings, con, project, warnings)

    def close(self) -> None:
        self.con.close()
