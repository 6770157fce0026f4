"""A small, thread-safe cache whose entries expire: what the gallery keeps between requests (a thumbnail
request would otherwise read S3 or object storage again for every image of a page)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    """At most ``kept`` values, each reused for ``ttl_seconds`` after it was made (the oldest goes first).

    :param ttl_seconds: how long a value is reused.
    :param kept: how many values are kept at most.
    """

    def __init__(self, ttl_seconds: float, kept: int) -> None:
        self.ttl_seconds = ttl_seconds
        self.kept = kept
        self._values: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value kept for ``key``, else ``make()``, kept (two threads may both make it: the last one stays).
        An exception of ``make`` is raised and nothing is kept."""
        with self._lock:
            kept = self._values.get(key)
            if kept is not None and time.monotonic() - kept[0] <= self.ttl_seconds:
                return kept[1]
        value = make()
        with self._lock:
            if key not in self._values and len(self._values) >= self.kept:
                self._values.pop(min(self._values, key=lambda old: self._values[old][0]))
            self._values[key] = (time.monotonic(), value)
        return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
