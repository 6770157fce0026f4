"""Spend per DAG and per day: what the records of each run say it landed, lost and cost, added up.

Each run is read once through the gallery's own record reading
(:func:`~airflow_provider_openai_images.ui.listing.find_records`) and reduced to a :class:`Tally`; a finished
run's tally is cached (:class:`RunCache`), a run still going is read again on every request. Money is
counted in micro-dollars (records' costs have six decimals), so a table's totals are exactly the sum of its
rows, whatever the order.

What the figures mean:

* ``cost_usd``: the records' ``cost_usd`` (landed images; a rejection costs 0); landed images of unknown price
  are counted in ``unpriced``.
* possibly billed: failed records whose ``failure_kind`` is ``possibly_billed`` (a request that may have been
  billed without an answer, not retried), with their ``possibly_billed_cost_usd`` (at most what it cost).
* saved through the Batch API: for each landed image with a ``batch_id``, its synchronous price
  (``cost_usd / BATCH_DISCOUNT``) less its ``cost_usd``; the share is ``saved / (cost + saved)``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from airflow_provider_openai_images.core.pricing import BATCH_DISCOUNT
from airflow_provider_openai_images.records import is_record
from airflow_provider_openai_images.ui.listing import find_records
from airflow_provider_openai_images.ui.schemas import SpendFigures, SpendRow, SpendTable

MICRO = 1_000_000
#: run states after which a run's records no longer change (unless it is cleared: see :class:`RunCache`)
FINISHED = frozenset({"success", "failed"})
DEFAULT_DAYS = 30
#: the CSV's columns, in order: the page's table, then the runs of each row
CSV_COLUMNS = (
    "day", "dag_id", "runs", "images_landed", "images_rejected", "images_failed", "cost_usd", "unpriced",
    "possibly_billed", "possibly_billed_cost_usd", "possibly_billed_unpriced", "batch_images", "saved_usd",
    "saved_share", "run_ids",
)  # fmt: skip
_MONEY = frozenset({"cost_usd", "possibly_billed_cost_usd", "saved_usd"})
#: a spreadsheet would read a cell starting with one of these as a formula
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Tally:
    """What some records say: counts, and USD in micro-dollars."""

    images_landed: int = 0
    images_rejected: int = 0
    images_failed: int = 0
    cost: int = 0
    unpriced: int = 0
    possibly_billed: int = 0
    possibly_billed_cost: int = 0
    possibly_billed_unpriced: int = 0
    batch_images: int = 0
    saved: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))

    @property
    def records(self) -> int:
        """How many records were counted."""
        return self.images_landed + self.images_rejected + self.images_failed

    def figures(self, runs: int) -> dict[str, Any]:
        """The tally as the fields of :class:`~airflow_provider_openai_images.ui.schemas.SpendFigures`."""
        synchronous = self.cost + self.saved
        return {
            "runs": runs,
            "images_landed": self.images_landed,
            "images_rejected": self.images_rejected,
            "images_failed": self.images_failed,
            "cost_usd": self.cost / MICRO,
            "unpriced": self.unpriced,
            "possibly_billed": self.possibly_billed,
            "possibly_billed_cost_usd": self.possibly_billed_cost / MICRO,
            "possibly_billed_unpriced": self.possibly_billed_unpriced,
            "batch_images": self.batch_images,
            "saved_usd": self.saved / MICRO,
            "saved_share": round(self.saved / synchronous, 4) if synchronous > 0 else None,
        }


def micro(value: object) -> int | None:
    """``value`` USD in micro-dollars; ``None`` for anything but a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return round(value * MICRO)


def tally_records(records: Iterable[Mapping[str, Any]]) -> Tally:
    """The :class:`Tally` of ``records`` (image records of any status; anything else is skipped)."""
    counts = dict.fromkeys((field.name for field in dataclasses.fields(Tally)), 0)
    for record in records:
        if not is_record(record):
            continue
        status = record["status"]
        counts[f"images_{status}"] += 1
        cost = micro(record.get("cost_usd"))
        if cost is not None:
            counts["cost"] += cost
        elif status == "landed":
            counts["unpriced"] += 1
        if status == "landed" and record.get("batch_id"):
            counts["batch_images"] += 1
            if cost is not None:
                counts["saved"] += round(cost / BATCH_DISCOUNT) - cost
        if status == "failed" and record.get("failure_kind") == "possibly_billed":
            counts["possibly_billed"] += 1
            possibly = micro(record.get("possibly_billed_cost_usd"))
            if possibly is None:
                counts["possibly_billed_unpriced"] += 1
            else:
                counts["possibly_billed_cost"] += possibly
    return Tally(**counts)


@dataclass(frozen=True)
class RunSpend:
    """A run's tally, and the day it counts for."""

    dag_id: str
    run_id: str
    day: date
    tally: Tally


def aggregate(runs: Iterable[RunSpend], *, since: date, until: date) -> SpendTable:
    """One row per DAG and day (newest day first, then by DAG), its runs in the order given, and the totals
    of the rows; runs without records make no row."""
    grouped: dict[tuple[date, str], list[RunSpend]] = {}
    for run in runs:
        if run.tally.records:
            grouped.setdefault((run.day, run.dag_id), []).append(run)
    rows = []
    total, total_runs = Tally(), 0
    for (day, dag_id), spent in sorted(grouped.items(), key=lambda entry: (-entry[0][0].toordinal(), entry[0][1])):
        tally = sum((run.tally for run in spent), Tally())
        run_ids = [run.run_id for run in spent]
        rows.append(SpendRow(day=day, dag_id=dag_id, run_ids=run_ids, **tally.figures(len(spent))))
        total, total_runs = total + tally, total_runs + len(spent)
    return SpendTable(since=since, until=until, rows=rows, totals=SpendFigures(**total.figures(total_runs)))


def to_csv(table: SpendTable) -> str:
    """The table as CSV (:data:`CSV_COLUMNS`): a line per row, then a ``total`` line; run ids space-separated
    (Airflow's run ids hold no spaces, unless ``[scheduler] allowed_run_id_pattern`` allows them).
    Money has six decimals (exactly the JSON's); a cell a spreadsheet would take for a formula starts with ``'``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in table.rows:
        writer.writerow(_cells({**row.model_dump(), "day": row.day.isoformat(), "run_ids": " ".join(row.run_ids)}))
    writer.writerow(_cells({**table.totals.model_dump(), "day": "total", "dag_id": "", "run_ids": ""}))
    return out.getvalue()


def _cells(values: Mapping[str, Any]) -> list[str]:
    cells = []
    for column in CSV_COLUMNS:
        value = values[column]
        if column in _MONEY:
            cells.append(f"{value:.6f}")
        elif value is None:
            cells.append("")
        elif isinstance(value, str):
            cells.append("'" + value if value.startswith(_FORMULA) else value)
        else:
            cells.append(str(value))
    return cells


def from_csv(text: str) -> list[dict[str, str]]:
    """The lines of :func:`to_csv`'s CSV as dicts, each cell as written, less the ``'`` that guards a formula."""
    return [{key: _unguarded(value) for key, value in line.items()} for line in csv.DictReader(io.StringIO(text))]


def _unguarded(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA) else cell


@dataclass(frozen=True)
class RunInWindow:
    """A run of the window that has return values, and what would say its records changed."""

    dag_id: str
    run_id: str
    day: date
    state: str | None
    version: tuple[Any, ...]
    """The run's end, clear count, and its return values' count and latest write: a finished run whose
    version is unchanged has the records it had."""


class RunCache:
    """Finished runs' tallies by ``(dag_id, run_id)``, each with the version it was computed at; at most
    ``max_runs`` (the least recently used go first). Shared by the API server's request threads."""

    def __init__(self, max_runs: int = 100_000) -> None:
        self.max_runs = max_runs
        self._tallies: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], Tally]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run: RunInWindow) -> Tally | None:
        """The run's cached tally, if it is finished and unchanged since."""
        if run.state not in FINISHED:
            return None
        with self._lock:
            cached = self._tallies.get((run.dag_id, run.run_id))
            if cached is None or cached[0] != run.version:
                return None
            self._tallies.move_to_end((run.dag_id, run.run_id))
            return cached[1]

    def put(self, run: RunInWindow, tally: Tally) -> None:
        """Keep a finished run's tally (a run still going is not kept: its records may still come)."""
        if run.state not in FINISHED:
            return
        with self._lock:
            self._tallies[(run.dag_id, run.run_id)] = (run.version, tally)
            self._tallies.move_to_end((run.dag_id, run.run_id))
            while len(self._tallies) > self.max_runs:
                self._tallies.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._tallies.clear()

    def __len__(self) -> int:
        return len(self._tallies)


#: the API server's cache (per process)
CACHE = RunCache()


def window(today: date, days: int = DEFAULT_DAYS) -> tuple[date, datetime, datetime]:
    """The first day of ``days`` days ending ``today``, and the window's bounds in UTC (the end excluded)."""
    since = today - timedelta(days=days - 1)
    start = datetime.combine(since, time.min, tzinfo=timezone.utc)
    return since, start, datetime.combine(today + timedelta(days=1), time.min, tzinfo=timezone.utc)


def _when() -> Any:
    from airflow.models.dagrun import DagRun

    return func.coalesce(DagRun.logical_date, DagRun.run_after)


def dags_in_window(session: Session, start: datetime, end: datetime) -> set[str]:
    """The DAGs with runs in the window (the ones whose access is worth asking about)."""
    from airflow.models.dagrun import DagRun

    query = select(DagRun.dag_id).distinct().where(_when() >= start, _when() < end)
    return set(session.scalars(query))


def runs_in_window(session: Session, dag_ids: Collection[str], start: datetime, end: datetime) -> list[RunInWindow]:
    """The runs of ``dag_ids`` in the window that have return values, oldest first (one query)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel

    if not dag_ids:
        return []
    when = _when()
    columns = (DagRun.id, DagRun.dag_id, DagRun.run_id, DagRun.state, when, DagRun.end_date, DagRun.clear_number)
    query = (
        select(*columns, func.count(), func.max(XComModel.timestamp))
        .join(XComModel, and_(XComModel.dag_run_id == DagRun.id, XComModel.key == "return_value"))
        .where(DagRun.dag_id.in_(sorted(dag_ids)), when >= start, when < end)
        .group_by(*columns)
        .order_by(when, DagRun.id)
    )
    return [
        RunInWindow(dag_id, run_id, _utc(at).date(), state, (end_date, clears, values, latest))
        for _, dag_id, run_id, state, at, end_date, clears, values, latest in session.execute(query)
    ]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def spend_table(
    session: Session, dag_ids: Collection[str], *, today: date, days: int = DEFAULT_DAYS, cache: RunCache = CACHE
) -> SpendTable:
    """Spend per DAG and per day over the ``days`` days ending ``today`` (UTC), of ``dag_ids`` only: the
    caller passes the DAGs the user may read."""
    since, start, end = window(today, days)
    spent = []
    for run in runs_in_window(session, dag_ids, start, end):
        tally = cache.get(run)
        if tally is None:
            tally = tally_records(found.record for found in find_records(session, run.dag_id, run.run_id))
            cache.put(run, tally)
        spent.append(RunSpend(run.dag_id, run.run_id, run.day, tally))
    return aggregate(spent, since=since, until=today)
