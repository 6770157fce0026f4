"""The emulated Batch API's state: one :class:`EmulatedBatch` per batch, created, listed and cancelled by
:class:`BatchStore`, and processed by a :class:`~.runner.BatchRun` on a daemon thread of its own,
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
from collections.abc import Collection
from typing import Any

from airflow_provider_openai_images.testing.emulator.batches.faults import BatchFault
from airflow_provider_openai_images.testing.emulator.batches.record import (
    TERMINAL_BATCH_STATUSES,
    BatchJSON,
    EmulatedBatch,
)
from airflow_provider_openai_images.testing.emulator.batches.runner import BatchRun, BatchSettings, Generate
from airflow_provider_openai_images.testing.emulator.fault_script import FaultScript
from airflow_provider_openai_images.testing.emulator.files import FileStore
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected

#: a batch expires 24 hours after its creation (``completion_window: 24h``)
BATCH_TTL = 24 * 3600


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
        self._records: dict[str, EmulatedBatch] = {}
        self._changed = threading.Condition()
        self._runs: list[tuple[BatchRun, threading.Thread]] = []

    # -- the API ----------------------------------------------------------------------------------

    def create(self, request: dict[str, Any]) -> BatchJSON:
        """Create a batch from a ``CreateBatchRequest`` already checked (by :mod:`.api`), and
        start processing it."""
        now = int(time.time())
        expiry = request.get("output_expires_after")
        record = EmulatedBatch(
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
        run = BatchRun(record, changed=self._changed, settings=self.settings, files=self.files, generate=self.generate)
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

    def _get(self, batch_id: str) -> EmulatedBatch:
        record = self._records.get(batch_id)
        if record is None:
            raise RequestRejected(404, f"No such Batch object: {batch_id}", param="batch_id")
        return record

    # -- inspection -------------------------------------------------------------------------------

    def records(self) -> list[EmulatedBatch]:
        """Copies of every batch's record, in order of creation."""
        with self._changed:
            return copy.deepcopy(list(self._records.values()))

    def wait(self, batch_id: str, statuses: Collection[str], timeout: float) -> EmulatedBatch:
        """A copy of the batch once its status is one of ``statuses`` (:class:`TimeoutError` after ``timeout``)."""
        with self._changed:
            record = self._get(batch_id)
            if not self._changed.wait_for(lambda: record.status in statuses, timeout):
                raise TimeoutError(
                    f"batch {batch_id} still {record.status!r} after {timeout:g} s (waited for {sorted(statuses)})"
                )
            return copy.deepcopy(record)

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
