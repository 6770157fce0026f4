"""Deferral: an operator's requests handed to the triggerer as a job, and the task resumed with its outcome.

Functions of the operator rather than methods, so that the base operator stays one job: deciding what
to request and landing it in the worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk.exceptions import AirflowException

from airflow_provider_openai_images.jobs import JobItem, JobSpec, stage_inputs
from airflow_provider_openai_images.operators.failures import airflow_exception, content_policy_outcome
from airflow_provider_openai_images.records import ImageRecord, PreparationReport
from airflow_provider_openai_images.results import JobOutcome

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_openai_images.core.requests import ImageRequest
    from airflow_provider_openai_images.operators.base import BaseOpenAIImagesOperator


def single_request_job(
    operator: BaseOpenAIImagesOperator,
    context: Context,
    request: ImageRequest,
    values: Mapping[str, Any],
    wanted: int,
    prepared: PreparationReport | None,
) -> JobSpec:
    """A single-request operator's request as a one-item job; its prepared inputs are staged in S3 under
    ``{prefix}/inputs/`` (trigger arguments never carry bytes)."""
    prefix = operator.key_prefix(context)
    item: JobItem = {
        "endpoint": request.endpoint,
        "values": {**values, "n": wanted},
        "prefix": prefix,
        "sources": operator.describe_inputs(),
    }
    if request.file_fields:
        item["inputs"] = stage_inputs(operator.s3_hook, request, operator.s3_bucket, f"{prefix}/inputs")
    if prepared is not None:
        item["prepared"] = prepared
    return job_spec(operator, [item], context)


def job_spec(
    operator: BaseOpenAIImagesOperator,
    items: list[JobItem],
    context: Context,
    *,
    max_concurrency: int = 1,
    images_per_minute: float | None = None,
    manifest: bool = False,
) -> JobSpec:
    """A job of ``items`` landing in the operator's task instance prefix, as the operator lands."""
    return {
        "bucket": operator.s3_bucket,
        "prefix": operator.key_prefix(context),
        "items": items,
        "overwrite": operator.overwrite,
        "max_concurrency": max_concurrency,
        "images_per_minute": images_per_minute,
        "spill_path": operator.spill_path or operator.hook.spill_path,
        "task": operator.task_instance(context),
        "manifest": manifest,
        "thumbnail_size": operator.thumbnail_size,
    }


def defer_job(operator: BaseOpenAIImagesOperator, spec: JobSpec) -> NoReturn:
    """Hand ``spec`` to the triggerer; the operator's ``execute_complete`` resumes with its outcome."""
    from airflow_provider_openai_images.triggers import OpenAIImagesTrigger

    trigger = OpenAIImagesTrigger(
        spec,
        conn_id=operator.conn_id,
        aws_conn_id=operator.aws_conn_id,
        retry_possibly_billed=operator.retry_possibly_billed,
    )
    operator.log.info("Deferring %d request(s) to the triggerer", len(spec["items"]))
    operator.defer(trigger=trigger, method_name="execute_complete")
    raise AssertionError("unreachable: defer() raises TaskDeferred")


def job_outcome(event: dict[str, Any]) -> JobOutcome:
    """The outcome a trigger event carries; a trigger that failed fails the try."""
    if event.get("status") != "success":
        raise AirflowException(f"The images trigger failed: {event.get('message')}")
    outcome: JobOutcome = event["outcome"]
    return outcome


def single_request_result(operator: BaseOpenAIImagesOperator, event: dict[str, Any]) -> list[ImageRecord]:
    """A single-request operator's records from the trigger, or the exception its failure means."""
    (item,) = job_outcome(event)["items"]
    failure = item["failure"]
    if failure is None:
        return item["records"]
    landed = [record for record in item["records"] if record["status"] == "landed"]
    if failure["kind"] == "rejected":
        action = operator.on_content_policy_violation
        operator.log.warning("Safety rejection, on_content_policy_violation=%r: %s", action, failure["message"])
        return landed + content_policy_outcome(failure, action=action, model=item["records"][-1].get("model"))
    raise airflow_exception(failure)
