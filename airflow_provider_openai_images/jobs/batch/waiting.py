"""A batch job in the triggerer: wait for the batch (polling ``GET /batches/{id}``), then land its output.

Everything here is asynchronous and never blocks the event loop: S3, JSON parsing of multi-MB lines,
base64 decoding and image checks run in the job's own thread (one: lines land one at a time, which
bounds memory by the largest line). A job run again (a triggerer restart, a retried task) skips what
is landed already and pays nothing: the batch was paid for once, when it ran.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import TypedDict

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.core.batches import TERMINAL_STATUSES, BatchObject
from airflow_provider_openai_images.exceptions import OpenAIImagesError
from airflow_provider_openai_images.jobs.batch.manifest import unknown_line_entries
from airflow_provider_openai_images.jobs.batch.output import BatchOutputLanding
from airflow_provider_openai_images.jobs.batch.record import (
    BatchRecord,
    UnknownLine,
    custom_id,
    read_batch_record,
    write_batch_record,
)
from airflow_provider_openai_images.jobs.batch.unknown_lines import merged_unknown_lines
from airflow_provider_openai_images.jobs.failures import FINAL_FAILURES, describe_failure
from airflow_provider_openai_images.jobs.outcome import ItemOutcome, JobOutcome, write_manifest
from airflow_provider_openai_images.jobs.spec import JobSpec
from airflow_provider_openai_images.records import ItemFailure

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.core.batch_client import AsyncBatchClient
    from airflow_provider_openai_images.hooks import OpenAIImagesHook

log = logging.getLogger(__name__)
T = TypeVar("T")
#: how long past ``batch_timeout`` a cancelled batch may take to end (OpenAI: up to 10 minutes)
CANCEL_GRACE_SECONDS = 15 * 60
#: polls that may fail in a row (after the client's own retries) before the job gives up
MAX_FAILED_POLLS = 10


class BatchJobSpec(TypedDict):
    """What a batch trigger carries (JSON; no secrets, no bytes).

    :param sent: custom id -> the image indices its request asked for.
    :param final_failures: items earlier batches refused for good (not sent).
    :param deadline: Unix time after which the batch is cancelled and what it finished is landed.
    """

    job: JobSpec
    batch_id: str
    sent: dict[str, list[int]]
    final_failures: dict[str, ItemFailure]
    poll_interval: float
    deadline: float
    keep_files: bool


async def wait_for_batch(
    client: AsyncBatchClient, spec: BatchJobSpec, *, logger: Any = log, sleep: Callable[[float], Any] = asyncio.sleep
) -> BatchObject:
    """Poll until the batch ends; past the deadline, cancel it and wait for what it finished.

    A poll that fails after the client's retries is logged and tried again at the next interval, up
    to :data:`MAX_FAILED_POLLS` in a row: a day-long batch does not fail for a passing outage.
    """
    batch_id, cancelled, failed_polls, shown = spec["batch_id"], False, 0, ""
    while True:
        try:
            batch = await client.retrieve_batch(batch_id)
            failed_polls = 0
        except OpenAIImagesError as error:
            failed_polls += 1
            if failed_polls >= MAX_FAILED_POLLS:
                raise
            logger.warning(
                "Polling batch %s failed (%s); trying again in %.0f s", batch_id, error, spec["poll_interval"]
            )
            await sleep(spec["poll_interval"])
            continue
        counts = batch.get("request_counts") or {"total": 0, "completed": 0, "failed": 0}
        progress = (
            f"{batch['status']}, {counts['completed']} of {counts['total']} requests done, {counts['failed']} failed"
        )
        if progress != shown:
            logger.info("Batch %s: %s", batch_id, progress)
            shown = progress
        if batch["status"] in TERMINAL_STATUSES:
            return batch
        now = time.time()
        if now >= spec["deadline"] and not cancelled:
            logger.warning("Batch %s still %s at batch_timeout: cancelling it, then landing what it finished",
                           batch_id, batch["status"])  # fmt: skip
            await client.cancel_batch(batch_id)
            cancelled = True
        elif cancelled and now >= spec["deadline"] + CANCEL_GRACE_SECONDS:
            raise TimeoutError(f"Batch {batch_id} was cancelled at batch_timeout but is still {batch['status']}")
        await sleep(spec["poll_interval"])


async def land_batch(
    client: AsyncBatchClient,
    batch: BatchObject,
    spec: BatchJobSpec,
    *,
    hook: OpenAIImagesHook,
    s3_hook: S3Hook,
    logger: Any = log,
) -> JobOutcome:
    """Land every line of an ended batch's output and error files, write the manifest and mark the
    record finished; delete the batch's files unless ``keep_files`` (or a line or an image of them
    did not land)."""
    job = spec["job"]
    landing = BatchOutputLanding(
        job,
        spec["batch_id"],
        spec["sent"],
        s3_hook=s3_hook,
        prices=hook.prices,
        image_bytes=hook.image_bytes,
        describe_failure=functools.partial(describe_failure, retry=hook.settings.retry),
        logger=logger,
    )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="images-batch") as thread:

        async def off_loop(function: Callable[..., T], *args: Any) -> T:
            return await asyncio.get_running_loop().run_in_executor(thread, functools.partial(function, *args))

        sizes = await off_loop(s3.object_sizes, s3_hook, job["bucket"], f"{job['prefix']}/")
        await off_loop(landing.recover, sizes)
        for file_id in (batch.get("output_file_id"), batch.get("error_file_id")):
            if file_id:
                async for line in client.file_lines(file_id):
                    await off_loop(landing.land_line, line, file_id)
        outcomes = landing.outcomes(_ended(batch), spec["final_failures"])
        manifest_uri = await off_loop(_finish, s3_hook, spec, batch, outcomes, landing.unknown.entries())
    logger.info("Batch %s: %d lines read, %d images landed", spec["batch_id"], landing.lines,
                landing.spend["images_landed"])  # fmt: skip
    if landing.keeps_files:
        logger.warning("Batch %s: %d line(s) named none of its requests and %d were not the spec's lines (see the "
                       "manifest %s); its files are kept", spec["batch_id"], len(landing.unknown), landing.malformed,
                       manifest_uri)  # fmt: skip
    not_landed = any(o["failure"] and o["failure"]["kind"] == "not_landed" for o in outcomes)
    if not spec["keep_files"] and not landing.keeps_files and not not_landed:
        await _delete_files(client, batch, logger)
    return {"items": outcomes, "manifest_uri": manifest_uri, "spend": landing.spend}


def _ended(batch: BatchObject) -> str:
    """The batch's final status, with its own errors if it failed as a whole."""
    errors = (batch.get("errors") or {}).get("data") or []
    detail = "; ".join(f"{e.get('code')}: {e.get('message')} (line {e.get('line')})" for e in errors[:3])
    return f"{batch['status']} ({detail})" if detail else batch["status"]


def _finish(
    s3_hook: S3Hook, spec: BatchJobSpec, batch: BatchObject, outcomes: list[ItemOutcome], unknown: list[UnknownLine]
) -> str:
    """Write the manifest (with the unknown lines of this batch and of the earlier ones), then mark the
    record finished, with the failures no retry fixes; the manifest's URI."""
    job = spec["job"]
    record = read_batch_record(s3_hook, job["bucket"], job["prefix"])
    ours = record is not None and record["batch_id"] == spec["batch_id"]
    earlier = record.get("unknown_lines", []) if record is not None and ours else []
    unknown_lines = merged_unknown_lines(earlier, spec["batch_id"], unknown)
    manifest_uri = write_manifest(s3_hook, job["bucket"], job["prefix"], outcomes, unknown_line_entries(unknown_lines))
    if record is None or not ours:
        return manifest_uri  # another batch was recorded since: its own job marks it
    final: dict[str, ItemFailure] = dict(record["final_failures"])
    for number, outcome in enumerate(outcomes):
        failure = outcome["failure"]
        if failure is not None and failure["kind"] in FINAL_FAILURES:
            final[custom_id(number)] = failure
    updated: BatchRecord = {**record, "finished": True, "status": batch["status"], "final_failures": final,
                            "unknown_lines": unknown_lines}  # fmt: skip
    write_batch_record(s3_hook, job["bucket"], job["prefix"], updated)
    return manifest_uri


async def _delete_files(client: AsyncBatchClient, batch: BatchObject, logger: Any) -> None:
    for file_id in (batch.get("input_file_id"), batch.get("output_file_id"), batch.get("error_file_id")):
        if file_id:
            try:
                await client.delete_file(file_id)
            except OpenAIImagesError as error:  # the images are landed: a leftover file is no failure
                logger.warning("Could not delete the batch's file %s: %s", file_id, error)


async def run_batch_job(
    spec: BatchJobSpec, *, hook: OpenAIImagesHook, s3_hook: S3Hook, logger: Any = log
) -> JobOutcome:
    """Wait for the batch of ``spec`` and land it, through ``hook``'s connection (read already)."""
    client = await asyncio.to_thread(hook.get_async_batch_client)
    try:
        batch = await wait_for_batch(client, spec, logger=logger)
        return await land_batch(client, batch, spec, hook=hook, s3_hook=s3_hook, logger=logger)
    finally:
        await client.aclose()
