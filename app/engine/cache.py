"""An in-memory LRU of rendered results, keyed by definitions hash, data version and request.

Entries expire at their own ``expires_at`` (a TTL, or earlier when something they touched
reaches its sunset). What an entry holds is the caller's business (the API keeps rendered
answers); the cache only needs to know when it expires and how many bytes it holds. The cache is
capped in entries and in bytes; an entry larger than an eighth of the byte cap is never kept.
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

    @property
    def nbytes(self) -> int:
        """About how much memory the entry holds."""
        ...


E = TypeVar("E", bound=Expiring)


class ResultCache(Generic[E]):
    def __init__(self, *, max_entries: int, ttl_s: float, max_bytes: int = 256 * 2**20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self._entries: OrderedDict[Hashable, E] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0  # what the entries hold

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def get(self, key: Hashable) -> E | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires_at <= time.monotonic():
                if entry is not None:
                    self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: E) -> None:
        if not self.enabled or entry.nbytes > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self.nbytes += entry.nbytes
            while len(self._entries) > self.max_entries or self.nbytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.nbytes = 0

    def _drop(self, key: Hashable) -> None:
        self.nbytes -= self._entries.pop(key).nbytes
