"""One batch's life, on a daemon thread of its own: ``validating``, ``in_progress`` (each line executed
as its endpoint would execute it, and billed at batch price), ``finalizing`` (the output and error
files written, in a shuffled order), then ``completed``; or ``failed``, ``expired``, ``cancelled``.

Timings are the emulator's settings, read at each step: every phase lasts at least
``batch_phase_seconds``, and each line takes ``batch_seconds_per_line`` more. A cancellation is seen
at once, between two lines (a line being generated is finished first); the batch then stays
``cancelling`` for ``batch_phase_seconds`` before it is ``cancelled``, its unexecuted lines in the
error file as ``batch_cancelled``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, Literal, Protocol

from airflow_provider_openai_images.testing.emulator.batches.faults import UNEXECUTED_ERRORS
from airflow_provider_openai_images.testing.emulator.batches.lines import (
    BatchErrorJSON,
    InputLine,
    check_input,
    read_body,
)
from airflow_provider_openai_images.testing.emulator.batches.output import Spool, answered_line, unexecuted_line
from airflow_provider_openai_images.testing.emulator.batches.record import EmulatedBatch
from airflow_provider_openai_images.testing.emulator.files import FileStore
from airflow_provider_openai_images.testing.emulator.images.prices import answer_cost
from airflow_provider_openai_images.testing.emulator.images.validation import ValidatedRequest
from airflow_provider_openai_images.testing.emulator.recordings import RecordedRequest
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected

Fate = Literal["completed", "expired", "cancelled"]
#: validates, moderates and answers one image request (raises ``RequestRejected``)
Generate = Callable[[RecordedRequest], tuple[ValidatedRequest, dict[str, Any]]]


class BatchSettings(Protocol):
    """The emulator settings a batch reads at each step."""

    #: seconds a batch stays at least in ``validating``, ``in_progress``, ``finalizing`` and ``cancelling``
    batch_phase_seconds: float
    #: seconds spent per line while ``in_progress``
    batch_seconds_per_line: float


class Stopped(Exception):
    """Raised in a runner's thread when its store stops: the batch is left as it is."""


class BatchRun:
    """Processes one batch; :meth:`run` is its thread's target.

    :param record: the batch, changed only under ``changed``.
    :param changed: the condition of the store holding the batch: every change to ``record`` happens under
        it and notifies it, and the runner's pauses wait on it, so a cancellation or a stop wakes them at once.
    :param settings: the timings, read at each step.
    :param files: where the input file is read and the output files are written.
    :param generate: answers one line's request (the core's, shared with the synchronous endpoints).
    """

    def __init__(
        self,
        record: EmulatedBatch,
        *,
        changed: threading.Condition,
        settings: BatchSettings,
        files: FileStore,
        generate: Generate,
    ) -> None:
        self.record = record
        self.settings = settings
        self.files = files
        self.generate = generate
        self._changed = changed
        #: set by ``BatchStore.stop``: the thread ends at its next step, leaving the batch as it is
        self.stopped = False

    def run(self) -> None:
        try:
            self._run()
        except Stopped:
            pass
        except Exception as error:  # an emulator bug: fail the batch visibly rather than leave it hanging
            self._fail([BatchErrorJSON(code="server_error", message=repr(error), param=None, line=None)])

    def _run(self) -> None:
        record = self.record
        self._pause(self.settings.batch_phase_seconds)
        if record.cancel_requested:
            self._conclude("cancelled", Spool(self.files.scratch), Spool(self.files.scratch))
            return
        if record.fault is not None and record.fault.kind == "fail":
            self._fail([BatchErrorJSON(code=record.fault.code, message=record.fault.message, param=None, line=None)])
            return
        try:
            input_file, handle = self.files.open(record.input_file_id)
        except RequestRejected:
            message = f"The input file {record.input_file_id} was deleted before the batch read it."
            self._fail([BatchErrorJSON(code="invalid_file", message=message, param="input_file_id", line=None)])
            return
        with handle:
            checked = check_input(handle, input_file.size, record.endpoint)
            if checked.errors:
                self._fail(checked.errors)
                return
            with self._changing():
                record.model, record.total = checked.model, len(checked.lines)
                if not record.cancel_requested:
                    record.status = "in_progress"
                    record.timestamps["in_progress_at"] = int(time.time())
            self._process(handle, checked.lines)

    def _process(self, handle: BinaryIO, lines: list[InputLine]) -> None:
        record, fault = self.record, self.record.fault
        output, errors = Spool(self.files.scratch), Spool(self.files.scratch)
        try:
            started, done, expired = time.monotonic(), 0, False
            for line in lines:
                if record.cancel_requested:
                    break
                if fault is not None and fault.kind in ("expire", "stall") and done == fault.lines:
                    if fault.kind == "stall":
                        self._wait_for_cancel()
                    expired = fault.kind == "expire"
                    break
                self._execute(handle, line, output, errors)
                done += 1
                self._pause(self.settings.batch_seconds_per_line)
            if not expired:
                self._pause(self.settings.batch_phase_seconds - (time.monotonic() - started))
            fate: Fate = "cancelled" if record.cancel_requested else "expired" if expired else "completed"
            if fate != "completed":
                code, message = UNEXECUTED_ERRORS[fate]
                for line in lines[done:]:
                    errors.append(unexecuted_line(line.custom_id, code, message))
                with self._changing():
                    record.failed += len(lines) - done
            self._conclude(fate, output, errors)
        finally:
            output.close()
            errors.close()

    def _execute(self, handle: BinaryIO, line: InputLine, output: Spool, errors: Spool) -> None:
        """Answer one line as its endpoint would, and bill what it generated at batch price."""
        record = self.record
        body = read_body(handle, line)
        request_id = f"req_{secrets.token_hex(16)}"
        try:
            if not isinstance(body, dict):
                raise RequestRejected(400, "The request body must be a JSON object.", param="body")
            endpoint = record.endpoint.removeprefix("/v1/images/")
            request = RecordedRequest("POST", record.endpoint, endpoint, {}, {}, "bearer", json=body)
            validated, answer = self.generate(request)
        except RequestRejected as refusal:
            errors.append(answered_line(line.custom_id, refusal.status, request_id, refusal.body))
            with self._changing():
                record.failed += 1
                record.lines_processed += 1
            return
        output.append(answered_line(line.custom_id, 200, request_id, answer))
        images, usage = len(answer["data"]), answer.get("usage")
        cost = answer_cost(validated, answer, batch=True)
        with self._changing():
            record.completed += 1
            record.lines_processed += 1
            record.billed_images += images
            record.billed_usd += cost
            for key in record.usage:
                record.usage[key] += int((usage or {}).get(key, 0))

    def _conclude(self, fate: Fate, output: Spool, errors: Spool) -> None:
        """Finalize (a completed batch goes through ``finalizing``), write the files, reach ``fate``."""
        record, phase = self.record, self.settings.batch_phase_seconds
        concluding = time.monotonic()
        if fate == "completed":
            with self._changing():
                if not record.cancel_requested:
                    record.status = "finalizing"
                    record.timestamps["finalizing_at"] = int(time.time())
        output_id, error_id = self._write(output, "output"), self._write(errors, "error")
        if fate == "completed":
            self._pause(phase - (time.monotonic() - concluding))
            if record.cancel_requested:  # cancelled while finalizing: every line is in the files already
                fate, concluding = "cancelled", time.monotonic()
        if fate == "cancelled":
            self._pause(phase - (time.monotonic() - concluding), until_cancelled=False)
        with self._changing():
            record.status = fate
            record.timestamps[f"{fate}_at"] = int(time.time())
            record.output_file_id, record.error_file_id = output_id, error_id

    def _write(self, spool: Spool, kind: str) -> str | None:
        if not len(spool):
            return None
        stored = self.files.add(
            spool.shuffled(f"{self.record.id}:{kind}"),
            filename=f"{self.record.id}_{kind}.jsonl",
            purpose="batch_output",
            expires_after=self.record.output_expires_after,
        )
        return stored.id

    def _fail(self, errors: list[BatchErrorJSON]) -> None:
        with self._changing():
            self.record.status = "failed"
            self.record.timestamps["failed_at"] = int(time.time())
            self.record.errors = list(errors)

    # -- waiting on the store's condition ---------------------------------------------------------

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Change the record under the store's condition, then wake up whoever waits on it."""
        with self._changed:
            yield
            self._changed.notify_all()

    def _pause(self, seconds: float, *, until_cancelled: bool = True) -> None:
        """Sleep ``seconds``, or less if the batch is cancelled (``until_cancelled``); :class:`Stopped` if
        the store stops meanwhile."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while not self.stopped and not (until_cancelled and self.record.cancel_requested):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            if self.stopped:
                raise Stopped

    def _wait_for_cancel(self) -> None:
        """Block until the batch is cancelled (a stalled batch); :class:`Stopped` if the store stops."""
        with self._changed:
            self._changed.wait_for(lambda: self.stopped or self.record.cancel_requested)
            if self.stopped:
                raise Stopped
