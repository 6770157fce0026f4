"""What a failure means for the task: client errors turned into Airflow exceptions that say what
happened, what may have been paid, and what a retry will do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from airflow_provider_openai_images.exceptions import (
    OpenAIImagesBudgetError,
    OpenAIImagesModelNotFoundError,
    OpenAIImagesValidationError,
)
from airflow_provider_openai_images.jobs.failures import FINAL_FAILURES
from airflow_provider_openai_images.records import ImageRecord, ItemFailure, failure_record

if TYPE_CHECKING:
    from airflow_provider_openai_images.operators.arguments import ContentPolicyAction


@contextmanager
def bad_input_fails_at_once() -> Iterator[None]:
    """Input that cannot succeed, a request over budget, or a model OpenAI no longer serves fails the task
    without Airflow retries: nothing was sent or paid for."""
    try:
        yield
    except OpenAIImagesValidationError as error:
        raise AirflowFailException(f"Bad input, nothing was sent or paid for: {error}") from error
    except (OpenAIImagesBudgetError, OpenAIImagesModelNotFoundError) as error:
        raise AirflowFailException(str(error)) from error


def airflow_exception(failure: ItemFailure) -> AirflowException:
    """The exception that fails the try for ``failure``: without Airflow retries when they cannot help."""
    if failure["kind"] == "rejected":
        return AirflowFailException(f"Rejected by the safety system: {failure['message']} (not retried: the "
                                    "safety system would reject it again)")  # fmt: skip
    if failure["kind"] in FINAL_FAILURES:
        return AirflowFailException(failure["message"])
    return AirflowException(failure["message"])


def content_policy_outcome(
    failure: ItemFailure, *, action: ContentPolicyAction, model: str | None
) -> list[ImageRecord]:
    """What a safety rejection does: fail without retries, skip the task, or record it and carry on."""
    if action == "skip":
        raise AirflowSkipException(f"Skipped: rejected by the safety system: {failure['message']}")
    if action == "record":
        return [failure_record(failure, model=model)]
    raise airflow_exception(failure)
