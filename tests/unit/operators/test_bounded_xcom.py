"""A bulk task's XCom stays small, whatever the number of prompts: above ``max_xcom_records`` records it
returns the manifest's summary, deferred or not, and ``read_records`` gives the records back from S3.

End to end through DAG runs (both modes): ``tests/integration/test_bulk.py``. Here the operator's own
methods, with 5,000 items, moto's in-memory S3 and no images made."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_openai_images.jobs.outcome import JobOutcome, no_spend, write_manifest
from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator
from airflow_provider_openai_images.records import (
    ImageRecord,
    is_manifest_summary,
    items_of,
    manifest_records,
    read_records,
)
from tests.unit.conftest import JOBS_BUCKET

PREFIX = "openai-images/d/r/generate"
ITEMS = 5000


def landed(item: int, index: int = 0) -> ImageRecord:
    key = f"{PREFIX}/item-{item:05d}/{index:03d}.png"
    return {
        "status": "landed", "s3_uri": f"s3://{JOBS_BUCKET}/{key}", "bucket": JOBS_BUCKET, "key": key,
        "model": "gpt-image-2.5-flare", "request_id": f"req-{item}", "index": index, "cost_usd": 0.011,
    }  # fmt: skip


def outcome(items: int, s3_hook: Any, *, rejected: tuple[int, ...] = ()) -> JobOutcome:
    """``items`` items of one landed image each (a rejection record for those in ``rejected``), their
    manifest written to S3 as the job writes it."""
    outcomes: list[Any] = []
    for item in range(items):
        failure = (
            {"kind": "rejected", "message": "no", "code": "moderation_blocked", "request_id": "r"}
            if item in rejected
            else None
        )
        records: list[Any] = [landed(item)] if failure is None else []
        if failure:
            records.append({"status": "rejected", "s3_uri": None, "model": "m", "request_id": "r", "cost_usd": 0.0})
        outcomes.append({"records": records, "failure": failure})
    uri = write_manifest(s3_hook, JOBS_BUCKET, PREFIX, outcomes)
    return {"items": outcomes, "manifest_uri": uri, "spend": no_spend()}


def operator(**kwargs: Any) -> OpenAIBulkGenerateImagesOperator:
    return OpenAIBulkGenerateImagesOperator(
        task_id="generate", prompts=["a"], s3_bucket=JOBS_BUCKET, on_item_error="record", **kwargs
    )


def test_five_thousand_items_return_a_summary_of_a_few_hundred_bytes(s3_hook: Any) -> None:
    done = outcome(ITEMS, s3_hook, rejected=(7,))
    summary = operator().returned({}, done)  # type: ignore[arg-type]
    assert is_manifest_summary(summary)
    assert len(json.dumps(summary)) < 1000
    assert summary == {
        "manifest_uri": f"s3://{JOBS_BUCKET}/{PREFIX}/manifest.jsonl",
        "bucket": JOBS_BUCKET,
        "key": f"{PREFIX}/manifest.jsonl",
        "items": ITEMS,
        "records": ITEMS,
        "images_landed": ITEMS - 1,
        "images_rejected": 1,
        "images_failed": 0,
        "cost_usd": pytest.approx(0.011 * (ITEMS - 1)),
        "max_xcom_records": 100,
    }
    assert read_records(summary, s3_hook=s3_hook) == [item["records"] for item in done["items"]]


def test_a_deferred_task_resumed_with_only_the_manifests_uri_returns_the_summary_too(s3_hook: Any) -> None:
    done = outcome(ITEMS, s3_hook)
    event = {"status": "success", "outcome": {**done, "items": [{"records": None, "failure": None}] * ITEMS}}
    task = operator()
    task.s3_hook = s3_hook  # type: ignore[misc]
    summary = task.execute_complete({}, event)  # type: ignore[arg-type]
    assert is_manifest_summary(summary)
    assert len(task.landed_records) == ITEMS, "Airflow is told of every landed image all the same"


@pytest.mark.parametrize(("limit", "summarised"), [(3, False), ("3", False), (2, True), (0, True)])
def test_records_are_returned_up_to_max_xcom_records(s3_hook: Any, limit: Any, summarised: bool) -> None:
    done = outcome(3, s3_hook)
    value = operator(max_xcom_records=limit).returned({}, done)  # type: ignore[arg-type]
    assert is_manifest_summary(value) is summarised
    assert read_records(value, s3_hook=s3_hook) == [item["records"] for item in done["items"]]


@pytest.mark.parametrize("limit", [-1, "many", 1.5, True, None])
def test_a_bad_max_xcom_records_is_refused_naming_it(limit: Any) -> None:
    from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

    with pytest.raises(OpenAIImagesValidationError, match="max_xcom_records"):
        operator(max_xcom_records=limit)._xcom_limit()


def test_the_review_and_other_readers_of_records_say_how_to_read_a_summary() -> None:
    summary = {"manifest_uri": "s3://b/p/manifest.jsonl", "items": 2, "records": 2}
    with pytest.raises(TypeError, match="read_records"):
        items_of(summary, strict=True)
    assert items_of(summary) == []


lines = st.one_of(
    st.builds(lambda item, n: json.dumps({"item": item, "status": "landed", "s3_uri": f"s3://b/{n}"}),
              st.one_of(st.integers(-3, 8), st.booleans(), st.none(), st.text(max_size=3)), st.integers(0, 99)),
    st.sampled_from(["", "   ", "[1, 2]", "7", '"text"', "null", '{"no": "item"}']),
)  # fmt: skip


@given(st.lists(lines, max_size=30), st.integers(0, 6))
def test_a_manifest_of_any_lines_gives_each_item_only_its_own_records(text: list[str], items: int) -> None:
    per_item = manifest_records("\n".join(text), items)
    assert len(per_item) == items
    expected = [[] for _ in range(items)]  # type: list[list[Any]]
    for line in text:
        entry = json.loads(line) if line.strip() else None
        item = entry.get("item") if isinstance(entry, dict) else None
        if type(item) is int and 0 <= item < items:
            expected[item].append({k: v for k, v in entry.items() if k != "item"})
    assert per_item == expected
