"""Every :class:`~airflow_provider_openai_images.records.ItemFailure` is built here: what a request the
client gave up on means for its task (a message that says what happened, what may have been paid and what
a retry will do, and a kind that says whether an Airflow retry can help), images that did not land, and
refusals. One home, whether a task ran in the worker, the triggerer or through the Batch API.

Pure (no Airflow): operators turn failures into exceptions (:mod:`~airflow_provider_openai_images.operators.failures`),
jobs and triggers carry them in records and events.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow_provider_openai_images.core.attempts import Attempt
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesBadRequestError,
    OpenAIImagesContentPolicyError,
    OpenAIImagesError,
    OpenAIImagesModelNotFoundError,
    OpenAIImagesRateLimitError,
    OpenAIImagesValidationError,
)
from airflow_provider_openai_images.records import FailureKind, ItemFailure

#: failures no Airflow retry can fix
FINAL_FAILURES: frozenset[FailureKind] = frozenset({"rejected", "refused", "possibly_billed"})


def item_failure(
    kind: FailureKind, message: str, *, code: str | None = None, request_id: str | None = None
) -> ItemFailure:
    """The one constructor of an :class:`ItemFailure`: every failure of an item, wherever it happened, is made
    here (a batch's lines build theirs with it: :mod:`~airflow_provider_openai_images.jobs.batch.line_failures`)."""
    return {"kind": kind, "message": message, "code": code, "request_id": request_id}


def possibly_billed_summary(attempts: tuple[Attempt, ...]) -> str:
    """Which attempts may have been billed without an answer, and how to find them; empty if none."""
    suspects = [attempt for attempt in attempts if attempt.possibly_billed]
    if not suspects:
        return ""
    listed = "; ".join(
        f"attempt {a.attempt} at {a.started_at} ({a.error}, request id {a.request_id or 'not received'}, "
        f"{a.images_asked or 1} image{'s' if (a.images_asked or 1) != 1 else ''} asked)"
        for a in suspects
    )
    return (
        f" {len(suspects)} attempt{'s' if len(suspects) != 1 else ''} may have been billed without an answer: "
        f"{listed}. Look for them at those times in the usage dashboard of the API key's project."
    )


def describe_failure(error: OpenAIImagesError, retry: RetryPolicy) -> ItemFailure:
    """What a request the client gave up on means for its task, as JSON (it travels in trigger events).

    Safety rejections are ``rejected``; requests the API refused, models the endpoint does not serve,
    and failures that may have been billed when ``retry.retry_possibly_billed`` is off are ``refused`` or
    ``possibly_billed`` (no Airflow retry helps); rate limits say when to retry; the rest is
    ``gave_up`` (Airflow's task retries ask only for what is missing). Every message says which
    attempts may have been billed.
    """
    billed = possibly_billed_summary(error.attempt_log)

    def failure(kind: FailureKind, message: str) -> ItemFailure:
        return item_failure(kind, message, code=error.code, request_id=error.request_id)

    if isinstance(error, OpenAIImagesContentPolicyError):
        return failure("rejected", error.message)
    if isinstance(error, OpenAIImagesValidationError):
        return failure("refused", f"Bad input, nothing was sent or paid for: {error}")
    if error.possibly_billed and not retry.retry_possibly_billed:
        message = (
            f"The request may have been billed: it was sent and no usable answer came back ({error}). Not retried "
            f"(retry_possibly_billed is off), so it is not paid for twice.{billed}"
        )
        return failure("possibly_billed", message)
    if isinstance(error, (OpenAIImagesBadRequestError, OpenAIImagesModelNotFoundError)):
        message = f"The API refused the request; retrying would not help: {error}.{billed}"
        return failure("refused", message)
    if isinstance(error, OpenAIImagesRateLimitError) and error.retry_after is not None:
        ready = datetime.now(timezone.utc) + timedelta(seconds=error.retry_after)
        message = (
            f"Rate limited by the Images API: it asks to wait {error.retry_after:.0f} s, longer than the "
            f"{retry.max_retry_after:.0f} s this task waits in place. Retry after {ready:%Y-%m-%d %H:%M:%S} UTC "
            f"(Airflow's task retries do, if retries and retry_delay allow). {error}.{billed}"
        )
        return failure("rate_limited", message)
    attempts = f" after {error.attempts} attempts" if error.attempts else ""
    message = (
        f"The Images API call failed{attempts}; images already landed are kept and Airflow's task retry "
        f"(if retries allow) asks only for the missing ones. {error}.{billed}"
    )
    return failure("gave_up", message)


def not_landed(message: str) -> ItemFailure:
    """Images that were paid for and did not land (kept for the next try where they could be)."""
    return item_failure("not_landed", message)


def refused(message: str) -> ItemFailure:
    """A failure no retry fixes (nothing was sent for it)."""
    return item_failure("refused", message)


def batch_possibly_created(error: OpenAIImagesError) -> ItemFailure:
    """Creating a batch failed after the request may have reached the API, and the lookup by metadata
    failed too: a retry looks again before creating another, so it is not paid for twice."""
    message = (
        f"Creating the batch failed after it may have reached the API ({error}); it was not looked up "
        "successfully either. A retry of this task looks for it by its metadata before creating another, "
        "so it is not paid for twice."
    )
    return item_failure("gave_up", message, code=error.code, request_id=error.request_id)
