"""Deferral: an operator's requests handed to the triggerer as a job, and the task resumed with its outcome.

Functions of values (a :class:`~airflow_provider_openai_images.landing.target.LandingTarget`, the request),
so that the base operator stays one job: deciding what to request and landing it in the worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk.exceptions import AirflowException

from airflow_provider_openai_images.jobs.outcome import JobOutcome
from airflow_provider_openai_images.jobs.spec import JobItem, JobSpec, stage_inputs
from airflow_provider_openai_images.operators.failures import airflow_exception, content_policy_outcome
from airflow_provider_openai_images.records import ImageRecord, PreparationReport

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.core.requests import ImageRequest
    from airflow_provider_openai_images.landing.target import LandingTarget
    from airflow_provider_openai_images.operators.arguments import ContentPolicyAction
    from airflow_provider_openai_images.operators.base import BaseOpenAIImagesOperator


def single_request_job(
    target: LandingTarget,
    request: ImageRequest,
    values: Mapping[str, Any],
    wanted: int,
    prepared: PreparationReport | None,
    *,
    sources: list[str],
    s3_hook: S3Hook,
) -> JobSpec:
    """A single-request operator's request as a one-item job; its prepared inputs are staged in S3 under
    ``{prefix}/inputs/`` (trigger arguments never carry bytes)."""
    item: JobItem = {
        "endpoint": request.endpoint,
        "values": {**values, "n": wanted},
        "prefix": target.prefix,
        "sources": sources,
    }
    if request.file_fields:
        item["inputs"] = stage_inputs(s3_hook, request, target.bucket, f"{target.prefix}/inputs")
    if prepared is not None:
        item["prepared"] = prepared
    return job_spec(target, [item])


def job_spec(
    target: LandingTarget,
    items: list[JobItem],
    *,
    max_concurrency: int = 1,
    images_per_minute: float | None = None,
    manifest: bool = False,
) -> JobSpec:
    """A job of ``items`` landing where ``target`` says, as the operator itself lands."""
    return {
        "bucket": target.bucket,
        "prefix": target.prefix,
        "items": items,
        "overwrite": target.overwrite,
        "max_concurrency": max_concurrency,
        "images_per_minute": images_per_minute,
        "spill_path": target.spill_path,
        "task": target.task,
        "manifest": manifest,
        "thumbnail_size": target.thumbnail_size,
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


def single_request_result(
    event: dict[str, Any], *, on_content_policy_violation: ContentPolicyAction, log: Any
) -> list[ImageRecord]:
    """A single-request operator's records from the trigger, or the exception its failure means."""
    (item,) = job_outcome(event)["items"]
    failure = item["failure"]
    if failure is None:
        return item["records"]
    landed = [record for record in item["records"] if record["status"] == "landed"]
    if failure["kind"] == "rejected":
        action = on_content_policy_violation
        log.warning("Safety rejection, on_content_policy_violation=%r: %s", action, failure["message"])
        return landed + content_policy_outcome(failure, action=action, model=item["records"][-1].get("model"))
    raise airflow_exception(failure)
