"""Before a task defers to its batch: what earlier tries left, which batch to wait for, and creating it
if there is none.

:func:`plan_batch` lists the task instance's prefix once and reads its batch record. A record of a
batch still to be landed means re-attaching to it; otherwise only the items with images missing, and
no failure a retry cannot fix, are sent. :func:`submit_batch` writes their input file (each request
checked as it is written, before anything is uploaded), looks for a batch with the same metadata
first (a worker that died between creating a batch and recording it), uploads the file, creates the
batch and records it in S3.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.core.batches import BATCH_ENDPOINTS, BatchObject
from airflow_provider_openai_images.core.requests import ImageRequest
from airflow_provider_openai_images.exceptions import OpenAIImagesError
from airflow_provider_openai_images.jobs.batch.input_file import write_input_file
from airflow_provider_openai_images.jobs.batch.record import (
    BatchRecord,
    UnknownLine,
    batch_metadata_for,
    custom_id,
    items_fingerprint,
    read_batch_record,
    write_batch_record,
)
from airflow_provider_openai_images.jobs.outcome import ItemOutcome, item_outcome
from airflow_provider_openai_images.jobs.spec import (
    REQUEST_TYPES,
    JobSpec,
    item_landers,
    read_item_inputs,
    recover_item,
)
from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.records import ImageRecord, ItemFailure

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.core.batch_client import AsyncBatchClient

log = logging.getLogger(__name__)


@dataclass
class BatchPlan:
    """What a try of a batch-mode task starts from.

    :param recovered: per item, the images in S3 now and the failure of images kept in the spill.
    :param record: the task instance's batch record, if it has one for these items.
    """

    spec: JobSpec
    recovered: list[tuple[dict[int, ImageRecord], ItemFailure | None]]
    record: BatchRecord | None
    fingerprint: str

    @property
    def unfinished_batch(self) -> str | None:
        """The recorded batch whose output is still to be landed: the one to re-attach to."""
        return self.record["batch_id"] if self.record is not None and not self.record["finished"] else None

    @property
    def final_failures(self) -> dict[str, ItemFailure]:
        """Items an earlier batch refused for good: not sent again."""
        return dict(self.record["final_failures"]) if self.record is not None else {}

    @property
    def unknown_lines(self) -> list[UnknownLine]:
        """The lines of earlier batches' files that named none of their requests (for the manifest)."""
        return list(self.record.get("unknown_lines", [])) if self.record is not None else []

    def to_send(self) -> dict[str, list[int]]:
        """custom id -> the missing image indices of every item to send."""
        final = self.final_failures
        sending: dict[str, list[int]] = {}
        for number, (item, (landed, failure)) in enumerate(zip(self.spec["items"], self.recovered, strict=True)):
            missing = [index for index in range(item["values"].get("n") or 1) if index not in landed]
            if missing and failure is None and custom_id(number) not in final:
                sending[custom_id(number)] = missing
        return sending

    def outcomes(self) -> list[ItemOutcome]:
        """Every item's outcome as things stand, when nothing is to be sent."""
        final = self.final_failures
        return [
            item_outcome(landed, failure or final.get(custom_id(number)), item["values"].get("model"))
            for number, (item, (landed, failure)) in enumerate(zip(self.spec["items"], self.recovered, strict=True))
        ]


def plan_batch(s3_hook: S3Hook, spec: JobSpec) -> BatchPlan:
    """List the task instance's prefix once, recover every item, and read its batch record."""
    fingerprint = items_fingerprint(spec["items"])
    if spec["overwrite"]:
        return BatchPlan(spec, [({}, None) for _ in spec["items"]], None, fingerprint)
    sizes = s3.object_sizes(s3_hook, spec["bucket"], f"{spec['prefix']}/")
    landers = item_landers(s3_hook, spec)
    recovered = [recover_item(lander, item, sizes) for lander, item in zip(landers, spec["items"], strict=True)]
    record = read_batch_record(s3_hook, spec["bucket"], spec["prefix"])
    if record is not None and record["fingerprint"] != fingerprint:
        log.warning(
            "The batch record under s3://%s/%s is for other items (batch %s): not re-attaching to it",
            spec["bucket"],
            spec["prefix"],
            record["batch_id"],
        )
        record = None
    return BatchPlan(spec, recovered, record, fingerprint)


def batch_requests(s3_hook: S3Hook, spec: JobSpec, sending: dict[str, list[int]]) -> Iterator[tuple[str, ImageRequest]]:
    """``(custom_id, request)`` for each item to send, asking for its missing images only."""
    for number, item in enumerate(spec["items"]):
        missing = sending.get(custom_id(number))
        if missing:
            files: dict[str, Any] = read_item_inputs(s3_hook, item)
            request = REQUEST_TYPES[item["endpoint"]].from_values({**item["values"], "n": len(missing)}, **files)
            yield custom_id(number), request


async def submit_batch(
    client: AsyncBatchClient, s3_hook: S3Hook, plan: BatchPlan, sending: dict[str, list[int]]
) -> BatchRecord:
    """Create (or find) the batch of ``sending`` and record it in S3 before anything else can fail.

    :raises OpenAIImagesValidationError: for a request the Batch API cannot take; nothing is uploaded.
    :raises OpenAIImagesError: when the batch could not be created; with ``possibly_billed`` when it
        may exist all the same (a retry finds it by its metadata).
    """
    spec = plan.spec
    (endpoint,) = {item["endpoint"] for item in spec["items"]}  # an operator sends one kind of request
    previous = ([*plan.record["previous"], plan.record["batch_id"]]) if plan.record is not None else []
    number = len(previous) + 1
    metadata = batch_metadata_for(spec["task"], plan.fingerprint, number)
    input_file = write_input_file(batch_requests(s3_hook, spec, sending), catalogue=client.settings.catalogue)
    try:
        batch = await client.find_batch(metadata, endpoint=BATCH_ENDPOINTS[endpoint])
        if batch is not None:
            log.info("Found batch %s of this task instance (created by an earlier try): waiting for it", batch["id"])
        else:
            batch = await _create(client, input_file.path, metadata, BATCH_ENDPOINTS[endpoint], spec)
    finally:
        input_file.remove()
    record: BatchRecord = {
        "batch_id": batch["id"],
        "input_file_id": batch["input_file_id"],
        "endpoint": batch["endpoint"],
        "fingerprint": plan.fingerprint,
        "number": number,
        "sent": sending,
        "task": spec["task"],
        "created_at": batch["created_at"],
        "finished": False,
        "status": batch["status"],
        "final_failures": plan.final_failures,
        "previous": previous,
        "unknown_lines": plan.unknown_lines,
    }
    write_batch_record(s3_hook, spec["bucket"], spec["prefix"], record)
    return record


async def _create(
    client: AsyncBatchClient, path: str, metadata: dict[str, str], endpoint: str, spec: JobSpec
) -> BatchObject:
    task = spec["task"]
    filename = key_segment(f"{task['dag_id']}.{task['run_id']}.{task['task_id']}.{task['map_index']}") + ".jsonl"
    with open(path, "rb") as file:
        uploaded = await client.upload_file(file, filename)
    log.info("Uploaded the batch input file %s (%d bytes)", uploaded["id"], uploaded["bytes"])
    try:
        batch = await client.create_batch(uploaded["id"], endpoint, metadata)
    except OpenAIImagesError as error:
        found = await client.find_batch(metadata, endpoint=endpoint) if error.possibly_billed else None
        if found is None:
            if not error.possibly_billed:
                await client.delete_file(uploaded["id"])
            raise
        batch = found
    log.info("Created batch %s for %s", batch["id"], endpoint)
    return batch
