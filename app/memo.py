"""A bounded memo shared between threads: what was worked out before, by key; the oldest goes first."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """At most ``size`` values by key. A lookup takes no lock (one dict read); storing takes one, so that two
    threads making room at once forget one entry each, not the same one twice. First in, first out: what is
    asked for again and again (a dashboard's queries) is stored again soon after it goes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._known: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._known.get(key)

    def put(self, key: K, value: V) -> V:
        with self._lock:
            if key not in self._known and len(self._known) >= self.size:
                del self._known[next(iter(self._known))]
            self._known[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._known

    def __len__(self) -> int:
        return len(self._known)
