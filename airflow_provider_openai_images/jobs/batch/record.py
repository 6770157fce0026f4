"""The record of a task instance's batch in S3 (``{prefix}/batch.json``), and how a batch is recognised.

The record is written the moment a batch is created, before the task defers: a retried task reads it
and re-attaches to the same batch instead of paying for a second one. Should the worker die between
creating the batch and writing the record, the batch's metadata (the task instance, a fingerprint of
its items and the batch's number within the task instance) lets the retry find it with
``GET /batches``. Once the batch's output has landed the record says so, with the failures no retry
can fix, so that later tries neither wait for it again nor send those requests again, and with the
lines of its files that named none of its requests.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.core.batches import batch_metadata
from airflow_provider_openai_images.records import ItemFailure, TaskInstanceInfo

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.jobs.spec import JobItem

BATCH_RECORD = "batch.json"
#: the ``created_by`` metadata of every batch this provider creates
CREATED_BY = "airflow-provider-openai-images"


class UnknownLine(TypedDict):
    """A line of a batch's output or error file that names none of the requests the batch was sent, or
    that could not be read far enough to say which it names.

    :param line: its number among the file's non-empty lines, from 1.
    :param custom_id: the ``custom_id`` it gave, cut to 100 characters (``None``: none could be read).
    :param message: what is wrong with it.
    """

    batch_id: str
    file_id: str
    line: int
    size_bytes: int
    custom_id: str | None
    message: str


class BatchRecord(TypedDict):
    """What ``{prefix}/batch.json`` holds.

    :param number: the batch's number within the task instance (1, then 2 if a later try sends what an
        expired or cancelled batch did not run, ...).
    :param sent: custom id -> the image indices its request asks for (the item's missing images).
    :param finished: the batch ended and its output was landed.
    :param final_failures: custom id -> why its images are missing, for failures no retry fixes
        (safety rejections, refused requests): not sent again.
    :param previous: ids of the task instance's earlier batches.
    :param unknown_lines: the lines of this batch's and the earlier batches' files that named none of
        their requests (see :mod:`.unknown_lines`), once landed.
    """

    batch_id: str
    input_file_id: str
    endpoint: str
    fingerprint: str
    number: int
    sent: dict[str, list[int]]
    task: TaskInstanceInfo
    created_at: int
    finished: bool
    status: NotRequired[str]
    final_failures: dict[str, ItemFailure]
    previous: list[str]
    unknown_lines: NotRequired[list[UnknownLine]]


def custom_id(number: int) -> str:
    """The ``custom_id`` of item ``number``: its key segment, ``item-00042``."""
    return f"item-{number:05d}"


def item_number(custom_id: str) -> int | None:
    """The item a ``custom_id`` names (``None`` if it is not one :func:`custom_id` makes: ``item-²`` and
    ``item-7`` name none)."""
    head, _, digits = custom_id.partition("-")
    if head != "item" or not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
        return None
    number = int(digits)
    return number if f"item-{number:05d}" == custom_id else None


def items_fingerprint(items: list[JobItem]) -> str:
    """A digest of what the items ask for (endpoint, parameters, inputs): the same on every try of the
    task instance as long as its items are the same."""
    asked = [[item["endpoint"], item["values"], item.get("inputs"), item.get("sources")] for item in items]
    return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()


def batch_metadata_for(task: TaskInstanceInfo, fingerprint: str, number: int) -> dict[str, str]:
    """The metadata that names a task instance's batch ``number`` (the Batch API keeps 16 pairs)."""
    return batch_metadata(
        {
            "created_by": CREATED_BY,
            "airflow_dag_id": task["dag_id"],
            "airflow_run_id": task["run_id"],
            "airflow_task_id": task["task_id"],
            "airflow_map_index": task["map_index"],
            "items_fingerprint": fingerprint,
            "batch_number": number,
        }
    )


def read_batch_record(s3_hook: S3Hook, bucket: str, prefix: str) -> BatchRecord | None:
    """The task instance's batch record, or ``None`` if it has none."""
    location = s3.S3Location(bucket, f"{prefix}/{BATCH_RECORD}")
    if f"{prefix}/{BATCH_RECORD}" not in s3.object_sizes(s3_hook, bucket, location.key):
        return None
    record: BatchRecord = json.loads(s3.read_object(s3_hook, location, parameter="batch record"))
    return record


def write_batch_record(s3_hook: S3Hook, bucket: str, prefix: str, record: BatchRecord) -> str:
    """Write the record (with S3's write retries) and return its URI."""
    key = f"{prefix}/{BATCH_RECORD}"
    body = json.dumps(record, indent=1).encode()
    s3.put_object(s3_hook, s3.S3_WRITE_RETRY, Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return f"s3://{bucket}/{key}"
