"""What ``benchmarks/cluster.py`` measures, one instrument each: the account's rate limit in front of the
emulator, rows written to Postgres, and the worker-slot time the Celery workers logged (memory:
``memory_sampler.py``). Its module docstring says why each is measured the way it is."""

from __future__ import annotations

import json
import re
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.emulator.faults import Fault


class AccountRateLimit:
    """An account's images-per-minute limit on the emulator's ``POST /images/generations``, which the emulator
    does not enforce: a token bucket refilled at ``per_minute / 60`` images a second holding one second's worth
    (OpenAI quantises its per-minute limits to shorter periods), so that traffic above the rate is answered 429
    with ``Retry-After`` (the time until the bucket holds the request's images), billed nothing.

    It wraps the emulator core's ``answer`` (a private attribute: the emulator has no hook for this); the 429 is
    the emulator's own ``Fault.rate_limit``, injected and taken under one lock so that it reaches this request.
    """

    def __init__(self, emulator: ImagesAPIEmulator, per_minute: float, burst_seconds: float = 1.0) -> None:
        self.emulator = emulator
        self.rate = per_minute / 60
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.tokens, self.last = self.capacity, time.monotonic()
        self.refused = 0
        #: monotonic arrival time of every image request let through
        self.accepted: list[float] = []
        self._lock = threading.Lock()
        core = emulator._core
        self._answer: Callable[[Any], Any] = core.answer
        core.answer = self._limited  # type: ignore[method-assign]

    def _limited(self, parsed: Any) -> Any:
        record = parsed.record
        if record.endpoint != "generations" or parsed.rejection is not None:
            return self._answer(parsed)
        images = int((record.json or {}).get("n") or 1)
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= images:
                self.tokens -= images
                self.accepted.append(now)
            else:
                self.refused += 1
                wait = (images - self.tokens) / self.rate
                self.emulator.inject(Fault.rate_limit(retry_after=round(wait, 3), endpoint="generations"))
                return self._answer(parsed)  # answered at once, before generation: the lock is held briefly
        return self._answer(parsed)

    def mark(self) -> tuple[int, int]:
        """Where the counts stand now, for :meth:`since`."""
        with self._lock:
            return self.refused, len(self.accepted)

    def since(self, mark: tuple[int, int]) -> dict[str, float]:
        """429s since ``mark``, and the most image requests let through in any 1 s and any 60 s."""
        with self._lock:
            refused, times = self.refused - mark[0], self.accepted[mark[1] :]
        return {"429s": refused, "peak_1s": _peak(times, 1.0), "peak_60s": _peak(times, 60.0)}


def _peak(times: list[float], window: float) -> int:
    """The most of the sorted ``times`` in any half-open window of ``window`` seconds that ends at one of them."""
    return max(
        (index + 1 - bisect_left(times, moment - window, 0, index + 1) for index, moment in enumerate(times)), default=0
    )


# -- Postgres ---------------------------------------------------------------------------------------------------

#: the tables every report shows, written or not; others appear when they were written
KEY_TABLES = ("xcom", "task_instance", "task_instance_history", "asset_event", "asset", "log", "job", "trigger")
#: a backend reports its table counters within 10 s of going idle (PGSTAT_IDLE_INTERVAL, Postgres 15 and newer)
STATS_SETTLE_SECONDS = 11.0


@dataclass
class TableStats:
    """``pg_stat_user_tables`` counters per table, and the database's size, at one moment."""

    rows: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # table -> (inserted, updated, deleted)
    database_bytes: int = 0
    at: float = 0.0

    def minus(self, before: TableStats) -> dict[str, tuple[int, int, int]]:
        zero = (0, 0, 0)
        changed = {
            table: tuple(now - then for now, then in zip(counts, before.rows.get(table, zero), strict=True))
            for table, counts in self.rows.items()
        }
        return {table: counts for table, counts in changed.items() if any(counts)}  # type: ignore[misc]


class Metadata:
    """The cluster's metadata database through psycopg2 (``database_url`` without SQLAlchemy's driver)."""

    def __init__(self, database_url: str) -> None:
        import psycopg2

        self.connection = psycopg2.connect(database_url.replace("postgresql+psycopg2://", "postgresql://"))
        self.connection.autocommit = True

    def close(self) -> None:
        self.connection.close()

    def query(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return list(cursor.fetchall())

    def stats(self) -> TableStats:
        # Each query in autocommit is a transaction of its own: the counters are read afresh, not from a snapshot.
        rows = self.query("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")
        ((size,),) = self.query("SELECT pg_database_size(current_database())")
        return TableStats({name: (ins, upd, dele) for name, ins, upd, dele in rows}, size, time.monotonic())

    def xcom(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The run's XCom rows: how many, their keys, the bytes of their values as text and as Postgres stores them."""
        ((rows, text, stored, keys),) = self.query(
            "SELECT count(*), coalesce(sum(octet_length(value::text)), 0), coalesce(sum(pg_column_size(value)), 0),"
            " coalesce(string_agg(DISTINCT key, ','), '') FROM xcom WHERE dag_id = %s AND run_id = %s",
            dag_id,
            run_id,
        )
        return {"rows": int(rows), "bytes": int(text), "stored_bytes": int(stored), "keys": keys}


# -- the workers' slot time ------------------------------------------------------------------------------------

_CELERY_DONE = re.compile(r"Task \S+\[(?P<id>[0-9a-f-]+)\] (?:succeeded|raised|failed|retry)\S* in (?P<s>[0-9.]+)s")
_CELERY_RECEIVED = re.compile(r"Task \S+\[(?P<id>[0-9a-f-]+)\] received")


class CeleryLogs:
    """The workers' logs from a point on: Celery logs each task it takes (``received``) and how long the pool
    process ran it (``succeeded in 12.3s``), the time the slot was held, deferred tasks' two stretches apart."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths
        self.offsets = {name: path.stat().st_size for name, path in paths.items()}

    def read(self) -> dict[str, list[str]]:
        text = {}
        for name, path in self.paths.items():
            with path.open("rb") as log:
                log.seek(self.offsets[name])
                text[name] = log.read().decode(errors="replace").splitlines()
        return text

    def slot_seconds(self) -> tuple[dict[str, list[float]], int]:
        """Each worker's tasks' run times since the start, and how many tasks it received but has not finished."""
        runtimes, pending = {}, 0
        for name, lines in self.read().items():
            received = {m["id"] for line in lines if (m := _CELERY_RECEIVED.search(line))}
            done = {m["id"]: float(m["s"]) for line in lines if (m := _CELERY_DONE.search(line))}
            runtimes[name] = list(done.values())
            pending += len(received - set(done))
        return runtimes, pending


def task_stretches(log: str) -> list[float]:
    """Seconds of each stretch a task process ran, from its log (JSON lines): one per start, two for a
    deferred task (before deferring, after resuming)."""
    stretches: list[list[datetime]] = []
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("event") == "::group::Pre Execute":
            stretches.append([])
        if stretches and "timestamp" in entry:
            stretches[-1].append(datetime.fromisoformat(entry["timestamp"]))
    return [(times[-1] - times[0]).total_seconds() for times in stretches if times]
