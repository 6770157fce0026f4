"""One emulated batch: :class:`EmulatedBatch`, what ``GET /batches/{id}`` answers (:meth:`EmulatedBatch.to_json`)
and what tests inspect (``emulator.batches``), and the statuses it moves through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images.testing.emulator.batches.faults import BatchFault
from airflow_provider_openai_images.testing.emulator.batches.lines import BatchErrorJSON

BatchStatus = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]
#: statuses a batch never leaves
TERMINAL_BATCH_STATUSES: frozenset[str] = frozenset({"completed", "failed", "expired", "cancelled"})
_USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


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
class EmulatedBatch:
    """One batch as the emulator holds it: what ``GET /batches/{id}`` answers, and what the tests inspect.

    :param timestamps: ``in_progress_at``, ``finalizing_at``, ``completed_at``, ``failed_at``,
        ``expired_at``, ``cancelling_at``, ``cancelled_at`` once reached (Unix seconds).
    :param cancel_requested: ``POST /batches/{id}/cancel`` was received.
    :param lines_processed: lines executed so far (answered or refused; not the expired or cancelled).
    :param billed_images: images generated for its lines, paid for at batch price.
    :param billed_usd: their cost in USD at batch price, from the emulator's own prices
        (:mod:`~airflow_provider_openai_images.testing.emulator.images.prices`).
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
