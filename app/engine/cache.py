"""An in-memory LRU of rendered results, keyed by definitions hash, data version and request.

Entries expire at their own ``expires_at`` (a TTL, or earlier when something they touched
reaches its sunset). What an entry holds is the caller's business (the API keeps rendered
answers); the cache only needs to know when it expires.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar


class Expiring(Protocol):
    @property
    def expires_at(self) -> float:
        """When the entry stops being served, on the ``time.monotonic()`` clock."""
        ...


E = TypeVar("E", bound=Expiring)


class ResultCache(Generic[E]):
    def __init__(self, *, max_entries: int, ttl_s: float) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[Hashable, E] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def get(self, key: Hashable) -> E | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires_at <= time.monotonic():
                if entry is not None:
                    del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: E) -> None:
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
