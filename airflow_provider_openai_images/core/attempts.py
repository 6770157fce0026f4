"""The log of HTTP attempts behind one call: what was sent, what came back, what may have been paid.

A request that failed before the server could process it (no connection, a refusal by status) was
certainly not billed. One that failed after it was sent (no answer in time, the connection lost
while waiting, a 200 whose body is cut or not JSON) may have been: the server may have generated,
and billed, images the client never saw. The Images API has no idempotency key, so a retry of such
a request may pay twice; :class:`Attempt` says which ones those were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from typing_extensions import TypedDict

Outcome = Literal["answered", "refused", "failed"]


class AttemptRecord(TypedDict):
    """One attempt as kept in an image's sidecar (JSON)."""

    attempt: int
    started_at: str
    seconds: float
    outcome: Outcome
    status: int | None
    request_id: str | None
    error: str | None
    possibly_billed: bool
    images_asked: int | None
    images_answered: int | None


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt.

    :param outcome: ``answered`` (a 2xx that parsed: billed), ``refused`` (an error status: not
        billed) or ``failed`` (no usable answer).
    :param possibly_billed: a ``failed`` attempt sent after the request reached the server.
    :param images_asked: the ``n`` of the request (1 when not sent).
    :param images_answered: images in the answer (``answered`` only).
    """

    attempt: int
    started_at: str
    seconds: float
    outcome: Outcome
    status: int | None = None
    request_id: str | None = None
    error: str | None = None
    possibly_billed: bool = False
    images_asked: int | None = None
    images_answered: int | None = None

    def as_record(self) -> AttemptRecord:
        return {
            "attempt": self.attempt,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "outcome": self.outcome,
            "status": self.status,
            "request_id": self.request_id,
            "error": self.error,
            "possibly_billed": self.possibly_billed,
            "images_asked": self.images_asked,
            "images_answered": self.images_answered,
        }


def possibly_billed_images(attempts: list[Attempt] | tuple[Attempt, ...]) -> int:
    """Images asked for by attempts that may have been billed without an answer."""
    return sum(attempt.images_asked or 1 for attempt in attempts if attempt.possibly_billed)
