"""A job's contract: what it is made of (:class:`JobSpec`, :class:`JobItem`: JSON, no image bytes, no secrets,
so a trigger can carry it), its request types, its items' landers and what earlier runs left for them, and
the input files staged in S3 for it. Shared by the real-time job (:mod:`.realtime`) and the Batch API
(:mod:`.batch`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.core.models import Endpoint
from airflow_provider_openai_images.core.requests import (
    EditRequest,
    GenerateRequest,
    ImageFile,
    ImageRequest,
    VariationRequest,
)
from airflow_provider_openai_images.exceptions import OpenAIImagesForeignImagesError
from airflow_provider_openai_images.jobs.failures import not_landed, refused
from airflow_provider_openai_images.landing.lander import ImageLander
from airflow_provider_openai_images.records import ImageRecord, ItemFailure, PreparationReport, TaskInstanceInfo

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

REQUEST_TYPES: dict[Endpoint, type[ImageRequest]] = {
    "generations": GenerateRequest,
    "edits": EditRequest,
    "variations": VariationRequest,
}


class JobItem(TypedDict):
    """One request of a job.

    :param values: the request's normalised values; ``n`` is how many images the item wants.
    :param prefix: the key prefix the item's images land under.
    :param inputs: upload field -> ``s3://`` URIs of its prepared input files (edits, variations).
    """

    endpoint: Endpoint
    values: dict[str, Any]
    prefix: str
    inputs: NotRequired[dict[str, list[str]]]
    prepared: NotRequired[PreparationReport]
    sources: NotRequired[list[str]]


class JobSpec(TypedDict):
    """Everything a job needs but the connections: JSON, so a trigger can carry it."""

    bucket: str
    prefix: str
    items: list[JobItem]
    overwrite: bool
    max_concurrency: int
    images_per_minute: float | None
    spill_path: str | None
    task: TaskInstanceInfo
    manifest: bool
    thumbnail_size: NotRequired[int | None]


def recover_item(
    lander: ImageLander, item: JobItem, sizes: Mapping[str, int]
) -> tuple[dict[int, ImageRecord], ItemFailure | None]:
    """The item's images an earlier run landed (those kept in the spill landed now), and the failure
    if the spill still cannot be landed."""
    try:
        recovery = lander.recover(item["values"].get("n") or 1, sizes)
    except OpenAIImagesForeignImagesError as error:
        return {}, refused(str(error))
    failure = not_landed(recovery.kept.failure_message()) if recovery.kept.problems else None
    return recovery.landed, failure


def item_landers(s3_hook: S3Hook, spec: JobSpec) -> list[ImageLander]:
    """One lander per item of ``spec``, each on the item's prefix."""
    options: dict[str, Any] = {"spill_path": spec["spill_path"]}
    if "thumbnail_size" in spec:
        options["thumbnail_size"] = spec["thumbnail_size"]
    return [
        ImageLander(s3_hook, spec["bucket"], item["prefix"], owner=spec["task"], **options) for item in spec["items"]
    ]


def read_item_inputs(s3_hook: S3Hook, item: JobItem) -> dict[str, Any]:
    """The item's prepared input files, read back from S3 (several for ``images``, one otherwise)."""
    files: dict[str, Any] = {}
    for field, uris in item.get("inputs", {}).items():
        read = [
            ImageFile.from_bytes(s3.read_object(s3_hook, location, parameter=field), location.key.rsplit("/", 1)[-1])
            for location in map(s3.S3Location.parse, uris)
        ]
        files[field] = tuple(read) if field == "images" else read[0]
    return files


def stage_inputs(s3_hook: S3Hook, request: ImageRequest, bucket: str, prefix: str) -> dict[str, list[str]]:
    """Write a request's (prepared) uploads under ``prefix`` so a job can read them back; their URIs by field."""
    staged: dict[str, list[str]] = {}
    for field in request.file_fields:
        value = getattr(request, field)
        files = [] if value is None else list(value) if isinstance(value, tuple) else [value]
        for number, upload in enumerate(files):
            key = f"{prefix}/{field}-{number}.{upload.filename.rsplit('.', 1)[-1]}"
            s3.put_object(s3_hook, s3.S3_WRITE_RETRY, Bucket=bucket, Key=key, Body=upload.content,
                          ContentType=upload.content_type)  # fmt: skip
            staged.setdefault(field, []).append(f"s3://{bucket}/{key}")
    return staged
