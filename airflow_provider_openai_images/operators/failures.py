"""What a failure means for the task: client errors turned into Airflow exceptions that say what
happened, what may have been paid, and what a retry will do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Literal

from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from airflow_provider_openai_images.core.attempts import Attempt
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesBadRequestError,
    OpenAIImagesBudgetError,
    OpenAIImagesContentPolicyError,
    OpenAIImagesError,
    OpenAIImagesModelNotFoundError,
    OpenAIImagesRateLimitError,
    OpenAIImagesValidationError,
)
from airflow_provider_openai_images.records import FailureKind, ImageRecord, ItemFailure, rejected_record

ContentPolicyAction = Literal["fail", "skip", "record"]
CONTENT_POLICY_ACTIONS: tuple[ContentPolicyAction, ...] = ("fail", "skip", "record")


@contextmanager
def bad_input_fails_at_once() -> Iterator[None]:
    """Input that cannot succeed, or a request over budget, fails the task without Airflow retries:
    nothing was sent or paid for."""
    try:
        yield
    except OpenAIImagesValidationError as error:
        raise AirflowFailException(f"Bad input, nothing was sent or paid for: {error}") from error
    except OpenAIImagesBudgetError as error:
        raise AirflowFailException(str(error)) from error


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


def describe_failure(error: OpenAIImagesError, *, max_retry_after: float, retry_possibly_billed: bool) -> ItemFailure:
    """What a request the client gave up on means for its task, as JSON (it travels in trigger events).

    Safety rejections are ``rejected``; requests the API refused, models the endpoint does not serve,
    and failures that may have been billed when ``retry_possibly_billed`` is off are ``refused`` or
    ``possibly_billed`` (no Airflow retry helps); rate limits say when to retry; the rest is
    ``gave_up`` (Airflow's task retries ask only for what is missing). Every message says which
    attempts may have been billed.
    """
    billed = possibly_billed_summary(error.attempt_log)

    def failure(kind: FailureKind, message: str) -> ItemFailure:
        return {"kind": kind, "message": message, "code": error.code, "request_id": error.request_id}

    if isinstance(error, OpenAIImagesContentPolicyError):
        return failure("rejected", error.message)
    if error.possibly_billed and not retry_possibly_billed:
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
            f"{max_retry_after:.0f} s this task waits in place. Retry after {ready:%Y-%m-%d %H:%M:%S} UTC "
            f"(Airflow's task retries do, if retries and retry_delay allow). {error}.{billed}"
        )
        return failure("rate_limited", message)
    attempts = f" after {error.attempts} attempts" if error.attempts else ""
    message = (
        f"The Images API call failed{attempts}; images already landed are kept and Airflow's task retry "
        f"(if retries allow) asks only for the missing ones. {error}.{billed}"
    )
    return failure("gave_up", message)


#: failures no Airflow retry can fix
_FINAL: frozenset[FailureKind] = frozenset({"rejected", "refused", "possibly_billed"})


def airflow_exception(failure: ItemFailure) -> AirflowException:
    """The exception that fails the try for ``failure``: without Airflow retries when they cannot help."""
    if failure["kind"] == "rejected":
        return AirflowFailException(f"Rejected by the safety system: {failure['message']} (not retried: the "
                                    "safety system would reject it again)")  # fmt: skip
    if failure["kind"] in _FINAL:
        return AirflowFailException(failure["message"])
    return AirflowException(failure["message"])


def failure_record(failure: ItemFailure, *, model: str | None) -> ImageRecord:
    """The record that stands for images a failure left missing (``rejected`` for a safety rejection)."""
    record = rejected_record(model=model, code=failure["code"], message=failure["message"],
                             request_id=failure["request_id"])  # fmt: skip
    if failure["kind"] != "rejected":
        record["status"] = "failed"
        record["cost_usd"] = None
    return record


def content_policy_outcome(
    failure: ItemFailure, *, action: ContentPolicyAction, model: str | None
) -> list[ImageRecord]:
    """What a safety rejection does: fail without retries, skip the task, or record it and carry on."""
    if action == "skip":
        raise AirflowSkipException(f"Skipped: rejected by the safety system: {failure['message']}")
    if action == "record":
        return [failure_record(failure, model=model)]
    raise airflow_exception(failure)
