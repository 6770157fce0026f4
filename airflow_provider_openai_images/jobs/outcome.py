"""What a job of many requests returns, whichever way it ran (real time or the Batch API): each item's
records and failure, what the run spent, and the manifest of every record in S3."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.records import (
    ImageRecord,
    ItemFailure,
    ManifestSummary,
    failure_record,
    manifest_records,
)

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

MANIFEST = "manifest.jsonl"


class ItemOutcome(TypedDict):
    """An item's records (landed images, then a record of the failure if one left images missing)."""

    records: list[ImageRecord]
    failure: ItemFailure | None


class Spend(TypedDict):
    """What a job's run spent (images landed by earlier runs are not counted).

    ``synchronous_cost_usd``: for a batch, what the same images cost at synchronous prices.
    """

    images_landed: int
    cost_usd: float | None
    possibly_billed_attempts: int
    possibly_billed_cost_usd: float | None
    synchronous_cost_usd: NotRequired[float | None]


class JobOutcome(TypedDict):
    items: list[ItemOutcome]
    manifest_uri: str | None
    spend: Spend


def no_spend(*, batch: bool = False) -> Spend:
    """Nothing spent yet; a batch's spend also counts what its images would cost at synchronous prices."""
    spend: Spend = {"images_landed": 0, "cost_usd": 0.0, "possibly_billed_attempts": 0, "possibly_billed_cost_usd": 0.0}
    if batch:
        spend["synchronous_cost_usd"] = 0.0
    return spend


def count_spend(spend: Spend, images: int, provenance: Mapping[str, Any]) -> None:
    """Add ``images`` landed images of one answer (its ``provenance``) to ``spend``; an unknown price
    makes the total unknown."""
    spend["images_landed"] += images
    each = provenance.get("cost_usd")
    spend["cost_usd"] = None if each is None or spend["cost_usd"] is None else spend["cost_usd"] + each * images
    spend["possibly_billed_attempts"] += sum(a["possibly_billed"] for a in provenance.get("attempts", []))
    possibly = provenance.get("possibly_billed_cost_usd")
    so_far = spend["possibly_billed_cost_usd"]
    spend["possibly_billed_cost_usd"] = None if possibly is None or so_far is None else so_far + possibly


def item_outcome(landed: Mapping[int, ImageRecord], failure: ItemFailure | None, model: str | None) -> ItemOutcome:
    """The item's records in index order, with a record of ``failure`` last."""
    records = [landed[index] for index in sorted(landed)]
    if failure is not None:
        records.append(failure_record(failure, model=model))
    return {"records": records, "failure": failure}


def write_manifest(
    s3_hook: S3Hook,
    bucket: str,
    prefix: str,
    items: list[ItemOutcome],
    extra: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Write ``{prefix}/manifest.jsonl`` (every record, with its item number; then the ``extra`` entries, which
    belong to no item) and return its URI."""
    key = f"{prefix}/{MANIFEST}"
    lines = [json.dumps({"item": number, **record}) for number, item in enumerate(items) for record in item["records"]]
    lines += [json.dumps(entry) for entry in extra]
    body = ("\n".join(lines) + "\n").encode() if lines else b""
    s3.put_object(s3_hook, s3.S3_WRITE_RETRY, Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")
    return f"s3://{bucket}/{key}"


def read_manifest(s3_hook: S3Hook, uri: str, items: int) -> list[list[ImageRecord]]:
    """The records of a job's manifest, one list per item, in item order."""
    location = s3.S3Location.parse(uri, parameter="manifest")
    return manifest_records(s3.read_object(s3_hook, location, parameter="manifest").decode(), items)


def manifest_summary(records: list[list[ImageRecord]], manifest_uri: str, max_xcom_records: int) -> ManifestSummary:
    """What a bulk task returns instead of ``records`` (one list per item) when they are many."""
    location = s3.S3Location.parse(manifest_uri, parameter="manifest")
    flat = [record for item in records for record in item]
    landed = [record for record in flat if record.get("status") == "landed"]
    costs = [record.get("cost_usd") for record in landed]
    return {
        "manifest_uri": manifest_uri,
        "bucket": location.bucket,
        "key": location.key,
        "items": len(records),
        "records": len(flat),
        "images_landed": len(landed),
        "images_rejected": sum(record.get("status") == "rejected" for record in flat),
        "images_failed": sum(record.get("status") == "failed" for record in flat),
        "cost_usd": None if any(cost is None for cost in costs) else round(sum(c for c in costs if c is not None), 6),
        "max_xcom_records": max_xcom_records,
    }
