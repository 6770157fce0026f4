"""The JSON contracts: the XCom record of each image, and the provenance in its S3 sidecar.

A record is what downstream tasks receive, so it is small and never holds image bytes or the prompt;
the sidecar ``{i:03d}.json`` beside each image holds the record and its provenance (prompt bounded
to :data:`MAX_SIDECAR_PROMPT` characters, parameters, usage, request id, task instance).
"""

# No ``from __future__ import annotations`` here: TypedDict reads ``NotRequired`` from evaluated
# annotations, and would take every key of a string-annotated class as required.
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images.core.attempts import AttemptRecord
from airflow_provider_openai_images.s3 import S3Location, read_object

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

#: Longest prompt kept in a sidecar; the record itself never holds the prompt.
MAX_SIDECAR_PROMPT = 4000

ImageStatus = Literal["landed", "rejected", "failed"]
#: why images are missing: a safety rejection, a refusal no retry fixes, a request that may have been
#: billed (not retried), a rate limit longer than the task waits, retries spent, or S3 refusing them
FailureKind = Literal["rejected", "refused", "possibly_billed", "rate_limited", "gave_up", "not_landed"]
#: What input preparation did, e.g. ``{"image": {"cropped": true}, "mask": {"mask_from": "alpha"}}``.
PreparationReport = dict[str, Any]


class ImageRecord(TypedDict):
    """One image of an operator's XCom return value: where it landed and what it is."""

    s3_uri: str | None
    """``s3://bucket/key`` of the image; ``None`` when it was rejected."""
    bucket: NotRequired[str]
    """The bucket of ``s3_uri``."""
    key: NotRequired[str]
    """The key of ``s3_uri``: ``{prefix}/{index:03d}.{ext}``."""
    content_type: NotRequired[str]
    """MIME type read from the verified bytes: ``image/png``, ``image/jpeg``, ``image/webp``, ``image/gif`` or
    ``image/svg+xml``."""
    width: NotRequired[int]
    """Width in pixels, from the decoded bytes (an SVG's ``width``, else its ``viewBox``)."""
    height: NotRequired[int]
    """Height in pixels, likewise."""
    frames: NotRequired[int]
    """How many frames an animated GIF has (every one verified)."""
    size_bytes: NotRequired[int]
    """Size of the S3 object."""
    sha256: NotRequired[str]
    """Hex SHA-256 digest of the S3 object."""
    model: str | None
    """The model asked for."""
    revised_prompt: NotRequired[str | None]
    """The prompt the model actually used (dall-e-3), ``None`` when the API gave none."""
    request_id: str | None
    """The API's ``x-request-id`` of the answer (or of the rejection)."""
    index: NotRequired[int]
    """Index of the image within its task instance."""
    metadata_uri: NotRequired[str]
    """``s3://`` URI of the provenance sidecar ``{index:03d}.json``."""
    thumbnail_uri: NotRequired[str]
    """``s3://`` URI of the WEBP thumbnail ``{index:03d}.thumb.webp`` (operators' ``thumbnail_size``, 256 px on
    the long side by default; a GIF's first frame; none for an SVG, which is never rasterised)."""
    status: ImageStatus
    """``landed``; ``rejected`` for a safety rejection recorded with ``on_content_policy_violation="record"`` (or
    in a bulk task); ``failed`` for a bulk item whose request failed otherwise."""
    cost_usd: NotRequired[float | None]
    """What this image cost, in USD: an estimate from the answer's token usage or the published price per
    image (half for the Batch API); ``None`` when the price is unknown (add it to the connection's
    ``prices``); 0 for a rejection."""
    prepared: NotRequired[PreparationReport]
    """Edits and variations only: what input preparation did."""
    batch_id: NotRequired[str]
    """Batch API only (``use_batch_api=True``): the batch that made the image."""
    surplus: NotRequired[bool]
    """``true`` for an image the API answered beyond those asked: paid for, so landed too, after the others."""
    code: NotRequired[str | None]
    """Rejected or failed only: the API's error code (``content_policy_violation``, ``moderation_blocked``, ...)."""
    message: NotRequired[str]
    """Rejected or failed only: what happened."""
    failure_kind: NotRequired[FailureKind]
    """Rejected or failed only: the :data:`FailureKind` (``possibly_billed``: a request that may have been billed
    without an answer, not retried)."""
    possibly_billed_cost_usd: NotRequired[float | None]
    """``possibly_billed`` failures of a bulk task in real time: at most what that request cost, in USD (an
    estimate); ``None`` when the price is unknown."""


class ItemFailure(TypedDict):
    """Why a request's images are missing, as JSON (records, manifests, trigger events carry it)."""

    kind: FailureKind
    message: str
    code: str | None
    request_id: str | None
    possibly_billed_cost_usd: NotRequired[float | None]
    """``possibly_billed`` only, where the request is known: at most what it cost."""


class ManifestSummary(TypedDict):
    """What a bulk task returns instead of its records when they are more than its ``max_xcom_records``:
    counts, the cost, and where the records are (``manifest.jsonl``, one JSON record per line with its
    ``item``). :func:`read_records` reads them back."""

    manifest_uri: str
    """``s3://bucket/key`` of the manifest, in the task instance's own prefix."""
    bucket: str
    key: str
    items: int
    """How many items (prompts) the task had: the manifest's records belong to items ``0 .. items - 1``."""
    records: int
    """How many records the manifest holds (landed images, and a record per item that did not land completely)."""
    images_landed: int
    images_rejected: int
    """Items the safety system refused (one ``rejected`` record each)."""
    images_failed: int
    """Items whose images are missing otherwise (one ``failed`` record each)."""
    cost_usd: float | None
    """What the landed images cost (their records' ``cost_usd``), ``None`` when a price is unknown."""
    max_xcom_records: int
    """The operator's limit that the records exceeded."""


class TaskInstanceInfo(TypedDict):
    """Which task instance, and which try of it, produced an image."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int | None


class Provenance(TypedDict):
    """How an image came to be, kept in its sidecar (and in the spill).

    ``cost_usd`` is this image's share of the answer's cost; ``attempts`` lists every HTTP attempt
    behind the answer, and ``possibly_billed_cost_usd`` estimates (at most) what the attempts that may
    have been billed without an answer cost.
    """

    model: str | None
    prompt: str | None
    request_id: str | None
    created: int
    parameters: dict[str, Any]
    usage: dict[str, Any] | None
    inputs: list[str]
    task: TaskInstanceInfo
    output_format: NotRequired[str | None]
    svg_usage: NotRequired[dict[str, Any]]
    prepared: NotRequired[PreparationReport]
    cost_usd: NotRequired[float | None]
    attempts: NotRequired[list[AttemptRecord]]
    possibly_billed_cost_usd: NotRequired[float | None]
    revised_prompt: NotRequired[str | None]
    source: NotRequired[Literal["b64_json", "url"]]
    prompt_truncated_from: NotRequired[int]
    batch_id: NotRequired[str]
    surplus: NotRequired[bool]


class Sidecar(TypedDict):
    """The JSON object stored at ``metadata_uri``."""

    record: ImageRecord
    provenance: Provenance


def rejected_record(*, model: str | None, code: str | None, message: str, request_id: str | None) -> ImageRecord:
    """The record that stands for images the safety system refused to make."""
    return {
        "status": "rejected",
        "s3_uri": None,
        "model": model,
        "code": code,
        "message": message,
        "request_id": request_id,
        "cost_usd": 0.0,
    }


def failure_record(failure: ItemFailure, *, model: str | None) -> ImageRecord:
    """The record that stands for images a failure left missing (``rejected`` for a safety rejection)."""
    record = rejected_record(model=model, code=failure["code"], message=failure["message"],
                             request_id=failure["request_id"])  # fmt: skip
    if failure["kind"] != "rejected":
        record["status"] = "failed"
        record["cost_usd"] = None
    record["failure_kind"] = failure["kind"]
    if "possibly_billed_cost_usd" in failure:
        record["possibly_billed_cost_usd"] = failure["possibly_billed_cost_usd"]
    return record


def bounded(provenance: Mapping[str, Any]) -> Provenance:
    """``provenance`` with its prompt cut to :data:`MAX_SIDECAR_PROMPT` characters (and the cut said)."""
    kept: Any = dict(provenance)
    prompt = kept.get("prompt")
    if isinstance(prompt, str) and len(prompt) > MAX_SIDECAR_PROMPT:
        kept["prompt"] = prompt[:MAX_SIDECAR_PROMPT]
        kept["prompt_truncated_from"] = len(prompt)
    result: Provenance = kept
    return result


#: The statuses a record can have.
STATUSES: tuple[ImageStatus, ...] = ("landed", "rejected", "failed")


def is_record(value: Any) -> bool:
    """Whether ``value`` looks like an :class:`ImageRecord` (a record of any status)."""
    return isinstance(value, Mapping) and value.get("status") in STATUSES and "s3_uri" in value


def is_manifest_summary(value: Any) -> bool:
    """Whether ``value`` looks like a :class:`ManifestSummary` (a bulk task's return value when its records
    are many)."""
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("manifest_uri"), str)
        and isinstance(value.get("items"), int)
        and isinstance(value.get("records"), int)
    )


def items_of(value: Any, *, strict: bool = False) -> list[tuple[int | None, list[Any]]]:
    """An operator's return value by item: ``[(None, records)]`` for a single-request operator's list of
    records, ``[(0, records), (1, records), ...]`` for a bulk task's list of lists (one per item). Entries are
    given as they are, in order: callers keep what :func:`is_record` accepts. A :class:`ManifestSummary`
    holds no records: read them first (:func:`read_records`).

    :param strict: refuse a value of another shape with :class:`TypeError` (else: no items).
    """
    expected = "expected a list of records or a list of lists of records"
    if strict and is_manifest_summary(value):
        raise TypeError(
            f"records: a bulk task's manifest summary ({value['records']} records in {value['manifest_uri']}), "
            "not its records; read them with airflow_provider_openai_images.records.read_records(value) first"
        )
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
        if strict:
            raise TypeError(f"records: {expected}, not {type(value).__name__}")
        return []
    entries = list(value)
    if entries and all(isinstance(entry, (list, tuple)) for entry in entries):
        if strict:
            for number, entry in enumerate(entries):
                if not all(isinstance(record, Mapping) for record in entry):
                    raise TypeError(f"records[{number}]: expected a list of records")
        return [(number, list(entry)) for number, entry in enumerate(entries)]
    if strict and not all(isinstance(entry, Mapping) for entry in entries):
        raise TypeError(f"records: a mix of records and other values; {expected}")
    return [(None, entries)] if entries else []


def landed_records(value: Any) -> list[ImageRecord]:
    """The landed images' records of an operator's return value, in order."""
    return [
        record
        for _, entries in items_of(value)
        for record in entries
        if is_record(record) and record.get("status") == "landed"
    ]


def manifest_records(text: str, items: int) -> list[list[ImageRecord]]:
    """The records of a manifest's lines (``{"item": n, ...record}``), one list per item in item order; lines
    of no item (a batch's unknown lines) are skipped.

    :raises ValueError: for a line that is not JSON.
    """
    records: list[list[ImageRecord]] = [[] for _ in range(items)]
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            item = entry.pop("item", None) if isinstance(entry, dict) else None
            if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < items:
                records[item].append(entry)
    return records


def read_records(value: Any, *, aws_conn_id: str | None = "aws_default", s3_hook: "S3Hook | None" = None) -> Any:
    """An operator's records, whatever it returned: a :class:`ManifestSummary` is read back from its manifest
    in S3 (one list of records per item, as a bulk task returns when its records are few); any other value
    is returned as it is. For a downstream task::

        @task
        def publish(output):
            records_per_item = read_records(output)

    :param aws_conn_id: the AWS connection to read the manifest with (the bulk task's ``aws_conn_id``).
    :param s3_hook: an ``S3Hook`` to read with instead.
    """
    if not is_manifest_summary(value):
        return value
    if s3_hook is None:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        s3_hook = S3Hook(aws_conn_id=aws_conn_id)
    location = S3Location.parse(value["manifest_uri"], parameter="manifest_uri")
    return manifest_records(read_object(s3_hook, location, parameter="manifest_uri").decode(), value["items"])
