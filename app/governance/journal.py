"""The usage journal: each recorded event is appended to a local file before anything else, so a
SIGKILL loses none of the events recorded before it.

One file per server process (``<database>.usage-journal/<start>-<pid>.jsonl``), one JSON line per
event, written with ``os.write`` on an ``O_APPEND`` descriptor: once ``append`` returns, the line is
in the operating system's hands and survives the process being killed (``sync`` flushes it to the
disk as well, which the writer thread does every flush interval, for a machine that loses power).
The writer inserts events into ``meta.usage_events`` and, in the same transaction, how many bytes of
the file they cover (``meta.usage_journal``). At start-up ``replay`` inserts what the files hold past
that mark, then removes them: an event is never inserted twice, and never lost once journalled.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from app.engine.statedb import StateCursor, StateDB

log = logging.getLogger("tapflow.usage")


class UsageJournal:
    """This process's journal file (created on construction)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{time.time_ns()}-{os.getpid()}.jsonl"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = 0  # bytes written so far

    def append(self, values: list[Any]) -> int:
        """Write one event as the JSON list of its ``values`` (the caller serializes calls; datetimes as
        ISO text); returns the file's size after it."""
        line = (json.dumps(values, default=_iso, separators=(",", ":")) + "\n").encode()
        os.write(self._fd, line)
        self.size += len(line)
        return self.size

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self, *, remove: bool) -> None:
        """Close the file; ``remove`` it when every event in it is in the database."""
        os.close(self._fd)
        if remove:
            self.path.unlink(missing_ok=True)


def mark(cur: StateCursor, file: str, applied_bytes: int) -> None:
    """Record (in the caller's transaction) that ``file``'s first ``applied_bytes`` are inserted."""
    cur.execute(
        "INSERT INTO meta.usage_journal VALUES (?, ?) ON CONFLICT (file) DO UPDATE SET applied_bytes = ?",
        [file, applied_bytes, applied_bytes],
    )


def replay(
    state: StateDB,
    folder: Path,
    insert: Callable[[StateCursor, list[Any]], None],
    event_of: Callable[[list[Any]], Any],
) -> int:
    """Insert the events journal files in ``folder`` hold past their mark (a line cut short by a crash
    is dropped), then remove the files. ``event_of(values)`` rebuilds an event from a line,
    ``insert(cur, events)`` writes them. Returns how many."""
    if not folder.is_dir():
        return 0
    replayed = 0
    for path in sorted(folder.glob("*.jsonl")):
        with state.transaction() as cur:
            row = cur.execute("SELECT applied_bytes FROM meta.usage_journal WHERE file = ?", [path.name]).fetchone()
            applied = int(row[0]) if row else 0
            data = path.read_bytes()[applied:]
            complete = data[: data.rfind(b"\n") + 1]
            events = [event_of(json.loads(line)) for line in complete.splitlines()]
            if events:
                insert(cur, events)
            mark(cur, path.name, applied + len(complete))
        replayed += len(events)
        path.unlink()
        with state.transaction() as cur:
            cur.execute("DELETE FROM meta.usage_journal WHERE file = ?", [path.name])
    if replayed:
        log.warning("replayed %d usage events from the journal of a server that did not stop cleanly", replayed)
    return replayed


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
