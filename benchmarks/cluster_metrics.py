"""What ``benchmarks/cluster.py`` measures, one instrument each: rows written to Postgres, and the worker-slot
time the Celery workers logged (memory: ``memory_sampler.py``; the account's rate: the emulator's
``images_per_minute``). Its module docstring says why each is measured the way it is."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

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
