"""A thread-safe queue of scripted faults, taken in order by the requests (or batches) they match: the emulator's
faults and batch fates wait in one; the repository's S3 fault proxy (``tests/support/s3_faults.py``) uses it too."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Generic, Protocol, TypeVar


class _Scripted(Protocol):
    @property
    def times(self) -> int: ...


FaultT = TypeVar("FaultT", bound=_Scripted)


class FaultScript(Generic[FaultT]):
    """Thread-safe, in-order faults; each applies to ``times`` matching requests after skipping ``after``."""

    def __init__(self) -> None:
        self._faults: list[FaultT] = []
        self._lock = threading.Lock()

    def add(self, *faults: FaultT) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def remaining(self) -> int:
        with self._lock:
            return sum(fault.times for fault in self._faults)

    def take(self, matches: Callable[[FaultT], bool]) -> FaultT | None:
        """The fault for this request, if the first matching fault applies to it now."""
        with self._lock:
            for position, fault in enumerate(self._faults):
                if not matches(fault):
                    continue
                after: Any = getattr(fault, "after", 0)
                if after > 0:
                    self._faults[position] = replace(fault, after=after - 1)  # type: ignore[type-var]
                    return None
                if fault.times <= 1:
                    del self._faults[position]
                else:
                    self._faults[position] = replace(fault, times=fault.times - 1)  # type: ignore[type-var]
                return fault
        return None
