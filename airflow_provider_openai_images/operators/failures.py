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
from airflow_provider_openai_images.records import ImageRecord, rejected_record

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


def task_failure(error: OpenAIImagesError, *, max_retry_after: float, retry_possibly_billed: bool) -> AirflowException:
    """The exception that fails the try after the client gave up on ``error``.

    Requests the API rejected, models the endpoint does not serve, and failures that may have been
    billed when ``retry_possibly_billed`` is off fail without Airflow retries; rate limits say when to
    retry; everything else leaves it to Airflow's task retries. Every message says which attempts may
    have been billed.
    """
    billed = possibly_billed_summary(error.attempt_log)
    if error.possibly_billed and not retry_possibly_billed:
        return AirflowFailException(
            f"The request may have been billed: it was sent and no usable answer came back ({error}). Not retried "
            f"(retry_possibly_billed is off), so it is not paid for twice.{billed}"
        )
    if isinstance(error, (OpenAIImagesBadRequestError, OpenAIImagesModelNotFoundError)):
        return AirflowFailException(f"The API refused the request; retrying would not help: {error}.{billed}")
    if isinstance(error, OpenAIImagesRateLimitError) and error.retry_after is not None:
        ready = datetime.now(timezone.utc) + timedelta(seconds=error.retry_after)
        return AirflowException(
            f"Rate limited by the Images API: it asks to wait {error.retry_after:.0f} s, longer than the "
            f"{max_retry_after:.0f} s this task waits in place. Retry after {ready:%Y-%m-%d %H:%M:%S} UTC "
            f"(Airflow's task retries do, if retries and retry_delay allow). {error}.{billed}"
        )
    attempts = f" after {error.attempts} attempts" if error.attempts else ""
    return AirflowException(
        f"The Images API call failed{attempts}; images already landed are kept and Airflow's task retry "
        f"(if retries allow) asks only for the missing ones. {error}.{billed}"
    )


def content_policy_outcome(
    error: OpenAIImagesContentPolicyError, *, action: ContentPolicyAction, model: str | None
) -> list[ImageRecord]:
    """What a safety rejection does: fail without retries, skip the task, or record it and carry on."""
    if action == "skip":
        raise AirflowSkipException(f"Skipped: {error}") from error
    if action == "record":
        return [rejected_record(model=model, code=error.code, message=error.message, request_id=error.request_id)]
    raise AirflowFailException(f"{error} (not retried: the safety system would reject it again)") from error
