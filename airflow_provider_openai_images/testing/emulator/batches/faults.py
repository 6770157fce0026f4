"""Scripted fates of emulated batches: failing validation, expiring, or stalling part way.

Queued with ``emulator.inject_batch(...)`` and taken, in order, by the next batch(es) created, as
:class:`~airflow_provider_openai_images.testing.emulator.faults.Fault` s are by the next requests.
Billing follows the real API: the lines a batch processed before expiring, stalling or being
cancelled are paid for (at batch price); a batch that fails validation bills nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: what the error file says of a line a batch never executed, by the batch's fate
UNEXECUTED_ERRORS = {
    "expired": ("batch_expired", "This request could not be executed before the completion window expired."),
    "cancelled": ("batch_cancelled", "This request was not executed because the batch was cancelled."),
}


@dataclass(frozen=True)
class BatchFault:
    """The fate of the next created batch(es).

    :param kind: ``fail`` (status ``failed`` at validation, with ``code`` and ``message`` in its
        ``errors``: nothing processed or billed), ``expire`` (``lines`` lines processed, then status
        ``expired``: the others go to the error file as ``batch_expired``) or ``stall`` (``lines``
        lines processed, then it stays ``in_progress`` until cancelled).
    :param lines: for ``expire`` and ``stall``: how many lines are processed first. A batch with
        no more lines than that completes normally.
    :param times: how many batches it applies to.
    """

    kind: Literal["fail", "expire", "stall"]
    lines: int = 0
    code: str = "invalid_request"
    message: str = "The batch could not be validated."
    times: int = 1

    @classmethod
    def fail(
        cls, code: str = "invalid_request", message: str = "The batch could not be validated.", *, times: int = 1
    ) -> BatchFault:
        """Fail at validation with this error (``Batch.errors.data[0]``), processing nothing."""
        return cls("fail", code=code, message=message, times=times)

    @classmethod
    def expire_after(cls, lines: int, *, times: int = 1) -> BatchFault:
        """Process ``lines`` lines, then expire: the rest go to the error file as ``batch_expired``."""
        return cls("expire", lines=lines, times=times)

    @classmethod
    def stall_after(cls, lines: int, *, times: int = 1) -> BatchFault:
        """Process ``lines`` lines, then stay ``in_progress`` until the batch is cancelled."""
        return cls("stall", lines=lines, times=times)
