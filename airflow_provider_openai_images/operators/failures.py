"""What a failure means for the task: client errors turned into Airflow exceptions that say what
happened, what was paid, and what a retry will do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Literal

from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from airflow_provider_openai_images.exceptions import (
    OpenAIImagesBadRequestError,
    OpenAIImagesContentPolicyError,
    OpenAIImagesError,
    OpenAIImagesRateLimitError,
    OpenAIImagesValidationError,
)
from airflow_provider_openai_images.records import ImageRecord, rejected_record

ContentPolicyAction = Literal["fail", "skip", "record"]
CONTENT_POLICY_ACTIONS: tuple[ContentPolicyAction, ...] = ("fail", "skip", "record")


@contextmanager
def bad_input_fails_at_once() -> Iterator[None]:
    """Input that cannot succeed fails the task without Airflow retries: nothing was sent or paid for."""
    try:
        yield
    except OpenAIImagesValidationError as error:
        raise AirflowFailException(f"Bad input, nothing was sent or paid for: {error}") from error


def task_failure(error: OpenAIImagesError, *, max_retry_after: float) -> AirflowException:
    """The exception that fails the try after the client gave up on ``error``.

    Requests the API rejected fail without Airflow retries (the same request would be rejected
    again); rate limits say when to retry; everything else leaves it to Airflow's task retries.
    """
    if isinstance(error, OpenAIImagesBadRequestError):
        return AirflowFailException(f"The API rejected the request; retrying would not help: {error}")
    if isinstance(error, OpenAIImagesRateLimitError) and error.retry_after is not None:
        ready = datetime.now(timezone.utc) + timedelta(seconds=error.retry_after)
        return AirflowException(
            f"Rate limited by the Images API: it asks to wait {error.retry_after:.0f} s, longer than the "
            f"{max_retry_after:.0f} s this task waits in place. Retry after {ready:%Y-%m-%d %H:%M:%S} UTC "
            f"(Airflow's task retries do, if retries and retry_delay allow). {error}"
        )
    attempts = f" after {error.attempts} attempts" if error.attempts else ""
    return AirflowException(
        f"The Images API call failed{attempts}; images already landed are kept and Airflow's task retry "
        f"(if retries allow) asks only for the missing ones. {error}"
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
