"""The emulated Batch API's state: one :class:`BatchRecord` per batch, created, listed and cancelled by
:class:`BatchStore`, and processed by a :class:`~.batch_runner.BatchRun` on a daemon thread of its own,
so that polls answer at once.

Every change to a record happens under the store's condition, which is notified at each change:
polls see consistent batches, waits (:meth:`BatchStore.wait`, a runner's pauses) wake up at once on
a cancellation or :meth:`BatchStore.stop`.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images.testing._scripts import FaultScript
from airflow_provider_openai_images.testing.emulator.batch_faults import BatchFault
from airflow_provider_openai_images.testing.emulator.batch_lines import BatchErrorJSON
from airflow_provider_openai_images.testing.emulator.batch_runner import BatchRun
from airflow_provider_openai_images.testing.emulator.files import FileStore
from airflow_provider_openai_images.testing.emulator.records import RecordedRequest
from airflow_provider_openai_images.testing.emulator.validation import RequestRejected, ValidatedRequest

BatchStatus = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]
#: statuses a batch never leaves
TERMINAL_BATCH_STATUSES: frozenset[str] = frozenset({"completed", "failed", "expired", "cancelled"})
#: a batch expires 24 hours after its creation (``completion_window: 24h``)
BATCH_TTL = 24 * 3600
_USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")

#: validates, moderates and answers one image request (raises ``RequestRejected``)
Generate = Callable[[RecordedRequest], tuple[ValidatedRequest, dict[str, Any]]]


class BatchSettings(Protocol):
    """The emulator settings a batch reads at each step."""

    #: seconds a batch stays at least in ``validating``, ``in_progress``, ``finalizing`` and ``cancelling``
    batch_phase_seconds: float
    #: seconds spent per line while ``in_progress``
    batch_seconds_per_line: float


class BatchJSON(TypedDict):
    """The spec's ``Batch``. Fields not set yet are left out (the spec types them non-nullable)."""

    id: str
    object: Literal["batch"]
    endpoint: str
    input_file_id: str
    completion_window: str
    status: str
    created_at: int
    expires_at: int
    request_counts: dict[str, int]
    usage: dict[str, Any]
    metadata: dict[str, str] | None
    model: NotRequired[str]
    errors: NotRequired[dict[str, Any]]
    output_file_id: NotRequired[str]
    error_file_id: NotRequired[str]


@dataclass
class BatchRecord:
    """One batch as the emulator holds it: what ``GET /batches/{id}`` answers, and what the tests inspect.

    :param timestamps: ``in_progress_at``, ``finalizing_at``, ``completed_at``, ``failed_at``,
        ``expired_at``, ``cancelling_at``, ``cancelled_at`` once reached (Unix seconds).
    :param cancel_requested: ``POST /batches/{id}/cancel`` was received.
    :param lines_processed: lines executed so far (answered or refused; not the expired or cancelled).
    :param billed_images: images generated for its lines, paid for at batch price.
    :param billed_usd: their cost in USD at batch price, from the emulator's own prices (:mod:`.prices`).
    :param fault: the scripted fate it took at creation (``emulator.inject_batch``), if any.
    """

    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    created_at: int
    expires_at: int
    output_expires_after: int | None = None
    status: BatchStatus = "validating"
    model: str | None = None
    timestamps: dict[str, int] = field(default_factory=dict)
    errors: list[BatchErrorJSON] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    usage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_USAGE_KEYS, 0))
    cancel_requested: bool = False
    lines_processed: int = 0
    billed_images: int = 0
    billed_usd: float = 0.0
    fault: BatchFault | None = None

    def to_json(self) -> BatchJSON:
        answer = BatchJSON(
            id=self.id,
            object="batch",
            endpoint=self.endpoint,
            input_file_id=self.input_file_id,
            completion_window=self.completion_window,
            status=self.status,
            created_at=self.created_at,
            expires_at=self.expires_at,
            request_counts={"total": self.total, "completed": self.completed, "failed": self.failed},
            usage={
                **self.usage,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
            metadata=self.metadata,
        )
        if self.model is not None:
            answer["model"] = self.model
        if self.errors:
            answer["errors"] = {"object": "list", "data": list(self.errors)}
        if self.output_file_id is not None:
            answer["output_file_id"] = self.output_file_id
        if self.error_file_id is not None:
            answer["error_file_id"] = self.error_file_id
        answer.update(self.timestamps)  # type: ignore[typeddict-item]
        return answer


class Stopped(Exception):
    """Raised in a runner's thread when the store stops: the batch is left as it is."""


class BatchStore:
    """The batches of one emulator and their runners.

    :param settings: the timings, read at each step of each batch.
    :param files: where input files are read and output files written.
    :param generate: answers one image request (the core's, shared with the synchronous endpoints).
    """

    def __init__(self, settings: BatchSettings, files: FileStore, generate: Generate) -> None:
        self.settings = settings
        self.files = files
        self.generate = generate
        self.faults: FaultScript[BatchFault] = FaultScript()
        self._records: dict[str, BatchRecord] = {}
        self._changed = threading.Condition()
        self._runs: list[tuple[BatchRun, threading.Thread]] = []

    # -- the API ----------------------------------------------------------------------------------

    def create(self, request: dict[str, Any]) -> BatchJSON:
        """Create a batch from a ``CreateBatchRequest`` already checked (by :mod:`.batch_api`), and
        start processing it."""
        now = int(time.time())
        expiry = request.get("output_expires_after")
        record = BatchRecord(
            id=f"batch_{secrets.token_hex(16)}",
            endpoint=request["endpoint"],
            input_file_id=request["input_file_id"],
            completion_window=request["completion_window"],
            metadata=request.get("metadata"),
            created_at=now,
            expires_at=now + BATCH_TTL,
            output_expires_after=expiry["seconds"] if expiry else None,
            fault=self.faults.take(lambda fault: True),
        )
        run = BatchRun(self, record)
        thread = threading.Thread(target=run.run, name=f"images-emulator-{record.id}", daemon=True)
        with self._changed:
            self._records[record.id] = record
            self._runs.append((run, thread))
            answer = record.to_json()
        thread.start()
        return answer

    def json(self, batch_id: str) -> BatchJSON:
        with self._changed:
            return self._get(batch_id).to_json()

    def page(self, *, limit: int, after: str | None) -> tuple[list[BatchJSON], bool]:
        """Batches newest first, those created after (older than) the batch ``after``, at most ``limit``."""
        with self._changed:
            records = list(reversed(self._records.values()))
            if after is not None:
                ids = [record.id for record in records]
                if after not in ids:
                    raise RequestRejected(400, f"Invalid 'after': no such Batch object: {after}", param="after")
                records = records[ids.index(after) + 1 :]
            return [record.to_json() for record in records[:limit]], len(records) > limit

    def cancel(self, batch_id: str) -> BatchJSON:
        with self._changed:
            record = self._get(batch_id)
            if record.status in TERMINAL_BATCH_STATUSES:
                raise RequestRejected(409, f"Cannot cancel a batch with status '{record.status}'.")
            if not record.cancel_requested:
                record.cancel_requested = True
                record.status = "cancelling"
                record.timestamps["cancelling_at"] = int(time.time())
                self._changed.notify_all()
            return record.to_json()

    def _get(self, batch_id: str) -> BatchRecord:
        record = self._records.get(batch_id)
        if record is None:
            raise RequestRejected(404, f"No such Batch object: {batch_id}", param="batch_id")
        return record

    # -- inspection -------------------------------------------------------------------------------

    def records(self) -> list[BatchRecord]:
        """Copies of every batch's record, in order of creation."""
        with self._changed:
            return copy.deepcopy(list(self._records.values()))

    def wait(self, batch_id: str, statuses: Collection[str], timeout: float) -> BatchRecord:
        """A copy of the batch once its status is one of ``statuses`` (:class:`TimeoutError` after ``timeout``)."""
        with self._changed:
            record = self._get(batch_id)
            if not self._changed.wait_for(lambda: record.status in statuses, timeout):
                raise TimeoutError(
                    f"batch {batch_id} still {record.status!r} after {timeout:g} s (waited for {sorted(statuses)})"
                )
            return copy.deepcopy(record)

    # -- for runners ------------------------------------------------------------------------------

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Change records under the store's condition, then wake up whoever waits on it."""
        with self._changed:
            yield
            self._changed.notify_all()

    def pause(self, run: BatchRun, seconds: float, *, until_cancelled: bool = True) -> None:
        """Sleep ``seconds``, or less if the batch is cancelled (``until_cancelled``); :class:`Stopped` if
        the store stops meanwhile."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while not run.stopped and not (until_cancelled and run.record.cancel_requested):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            if run.stopped:
                raise Stopped

    def wait_for_cancel(self, run: BatchRun) -> None:
        """Block until the batch is cancelled (a stalled batch); :class:`Stopped` if the store stops."""
        with self._changed:
            self._changed.wait_for(lambda: run.stopped or run.record.cancel_requested)
            if run.stopped:
                raise Stopped

    # -- lifecycle --------------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        """End every runner's thread, leaving its batch as it is."""
        with self._changed:
            runs, self._runs = self._runs, []
            for run, _ in runs:
                run.stopped = True
            self._changed.notify_all()
        for _, thread in runs:
            if thread.ident is not None:
                thread.join(timeout)

    def reset(self) -> None:
        """End the runners, forget every batch and every queued :class:`BatchFault`."""
        self.stop()
        self.faults.clear()
        with self._changed:
            self._records.clear()
