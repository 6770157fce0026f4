"""The gallery's JSON: one :class:`GalleryImage` per record, a :class:`GalleryPage` per listing request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from airflow_provider_openai_images.ui.listing import FoundRecord, RecordSource

Status = Literal["landed", "rejected", "failed"]


class GalleryImage(BaseModel):
    """One image of a task instance (or the record standing for images that were refused or failed)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    item: int | None = Field(description="The bulk item (position in the task's list of prompts), else null")
    index: int = Field(description="The image's index within its task instance")
    status: Status
    model: str | None = None
    width: int | None = None
    height: int | None = None
    size: str | None = Field(default=None, description="WIDTHxHEIGHT of the landed image")
    size_bytes: int | None = None
    content_type: str | None = None
    cost_usd: float | None = None
    s3_uri: str | None = None
    revised_prompt: str | None = None
    message: str | None = Field(default=None, description="Rejected or failed: what happened")
    code: str | None = Field(default=None, description="Rejected or failed: the API's error code")
    has_thumbnail: bool = Field(default=False, description="Whether the record names a thumbnail")
    refused: str | None = Field(
        default=None,
        description="Why the gallery serves none of this record's objects (its S3 location is not one of its "
        "task instance's: another bucket, outside its key prefix, or a record that contradicts itself); "
        "such an entry has no URLs. Null when they are served, or when the record names none",
    )
    source: RecordSource = Field(
        default="xcom",
        description="Where the record was read: `xcom` (the task's XCom return value in the metadata database), "
        "`xcom_backend` (that value resolved by the deployment's XCom backend), `manifest` (the manifest its "
        "manifest summary names), `fallback_manifest` or `fallback_sidecars` (the value gave no records: read "
        "back from the task instance's own manifest.jsonl, or its images' sidecars, in S3)",
    )
    image_url: str | None = Field(default=None, description="The image, streamed from S3 (landed only)")
    thumbnail_url: str | None = Field(default=None, description="Its thumbnail, or the image when it has none")
    prompt_url: str | None = Field(default=None, description="The prompt from the image's sidecar, fetched on demand")


class GallerySummary(BaseModel):
    """Counts and spend over every record of the listing's scope (not only the page)."""

    landed: int = 0
    rejected: int = 0
    failed: int = 0
    cost_usd: float = 0.0
    unpriced: int = Field(default=0, description="Records whose cost is unknown")
    refused: int = Field(default=0, description="Records whose objects the gallery does not serve (see `refused`)")
    task_instances: int = 0


class GalleryPage(BaseModel):
    """A page of a DAG run's images (or one task's, or one task instance's)."""

    dag_id: str
    run_id: str
    run_state: str
    task_id: str | None
    map_index: int | None
    status: Status | None
    offset: int
    limit: int
    total_entries: int = Field(description="How many images match, on every page")
    summary: GallerySummary
    images: list[GalleryImage]


def summarize(found: list[FoundRecord]) -> GallerySummary:
    """Counts by status and the spend of ``found`` (unpriced landed images counted apart)."""
    summary = GallerySummary(task_instances=len({(one.task_id, one.map_index) for one in found}))
    for one in found:
        status = one.record["status"]
        setattr(summary, status, getattr(summary, status) + 1)
        cost = one.record.get("cost_usd")
        if isinstance(cost, (int, float)):
            summary.cost_usd += float(cost)
        elif status == "landed":
            summary.unpriced += 1
        if one.refused is not None:
            summary.refused += 1
    summary.cost_usd = round(summary.cost_usd, 6)
    return summary


def gallery_image(one: FoundRecord, dag_id: str, run_id: str, url: Callable[[str, FoundRecord], str]) -> GalleryImage:
    """The JSON of one record; ``url(endpoint, record)`` addresses its image, thumbnail and prompt."""
    record = one.record
    width, height = _int(record.get("width")), _int(record.get("height"))
    served = one.objects if record["status"] == "landed" else None
    return GalleryImage(
        dag_id=dag_id,
        run_id=run_id,
        task_id=one.task_id,
        map_index=one.map_index,
        item=one.item,
        index=one.index,
        status=record["status"],
        model=_str(record.get("model")),
        width=width,
        height=height,
        size=f"{width}x{height}" if width and height else None,
        size_bytes=_int(record.get("size_bytes")),
        content_type=_str(record.get("content_type")),
        cost_usd=record.get("cost_usd") if isinstance(record.get("cost_usd"), (int, float)) else None,
        s3_uri=_str(record.get("s3_uri")),
        revised_prompt=_str(record.get("revised_prompt")),
        message=_str(record.get("message")),
        code=_str(record.get("code")),
        has_thumbnail=bool(record.get("thumbnail_uri")),
        refused=one.refused,
        source=one.source,
        image_url=url("image", one) if served else None,
        thumbnail_url=url("thumbnail", one) if served else None,
        prompt_url=url("prompt", one) if served and served.sidecar else None,
    )


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


class SpendFigures(BaseModel):
    """What runs spent, from their records: counts, and USD estimates (never invoices)."""

    runs: int = Field(default=0, description="Runs with image records")
    images_landed: int = 0
    images_rejected: int = 0
    images_failed: int = 0
    cost_usd: float = Field(default=0.0, description="The records' `cost_usd` (landed images; a rejection costs 0)")
    unpriced: int = Field(default=0, description="Landed images whose cost is unknown (not in `cost_usd`)")
    possibly_billed: int = Field(
        default=0, description="Failed records of requests that may have been billed without an answer"
    )
    possibly_billed_cost_usd: float = Field(
        default=0.0, description="At most what those requests cost (their records' `possibly_billed_cost_usd`)"
    )
    possibly_billed_unpriced: int = Field(default=0, description="Possibly billed records of unknown cost")
    batch_images: int = Field(default=0, description="Landed images made through the Batch API")
    saved_usd: float = Field(
        default=0.0, description="What the Batch API images would have cost more at synchronous prices"
    )
    saved_share: float | None = Field(
        default=None,
        description="`saved_usd / (cost_usd + saved_usd)`: the share of the synchronous price saved through the "
        "Batch API; null when nothing was spent",
    )


class SpendRow(SpendFigures):
    """One DAG's spend on one day (UTC, by its runs' logical date, else their `run_after`)."""

    day: date
    dag_id: str
    run_ids: list[str] = Field(description="The runs of the row, oldest first (each has its gallery)")


class SpendTable(BaseModel):
    """Spend per DAG and per day, newest day first, with the totals of the rows."""

    since: date = Field(description="The first day of the table")
    until: date = Field(description="The last day of the table (today, UTC)")
    rows: list[SpendRow]
    totals: SpendFigures
