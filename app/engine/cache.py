"""An in-memory LRU of rendered results, keyed by definitions hash, data version and request.

Entries expire after a TTL, or earlier when something they touched reaches its sunset.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entry:
    body: bytes  # the representation served from cache (meta.cached is true)
    media_type: str
    headers: dict[str, str]  # ETag, Cache-Control, deprecation headers
    etag: str
    expires_at: float  # time.monotonic()
    usage: dict[str, Any] = field(default_factory=dict)  # what a usage event records about the request


class ResultCache:
    def __init__(self, *, max_entries: int, ttl_s: float):
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def get(self, key: tuple) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires_at <= time.monotonic():
                if entry is not None:
                    del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: Entry) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
