"""Every answer is accounted for: an answer with more images than asked lands them all (they were paid for),
flagged ``surplus``; one with fewer fails the try with a retryable error naming what is missing, and the retry
asks only for that. In bulk, such an item is a ``not_landed`` failure under ``on_item_error``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator

from .conftest import bucket_objects, images_in, return_values, run_dag, tasks_test


def sent_n(api: ImagesAPIEmulator) -> list[int]:
    return [(request.json or {}).get("n", 1) for request in api.requests_to("generations")]


def test_more_images_than_asked_all_land_and_the_extra_ones_are_flagged(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    api.inject(Fault.miscount(+2))
    run = run_dag(dagbag, "fault_injection_single", n=2)
    assert run.state == "success"
    (records,) = return_values(run, "generate")
    assert [(record["index"], record.get("surplus", False)) for record in records] == [
        (0, False), (1, False), (2, True), (3, True)
    ]  # fmt: skip
    assert api.billed_images == 4
    assert len(images_in(s3)) == 4, "every paid image is in S3"
    output = tasks_test("fault_injection_single", "generate", run.run_id)
    assert sent_n(api) == [2], "a retry pays nothing: all four are recovered"
    assert "4 of 2 images already landed" in output or "already landed" in output


def test_fewer_images_than_asked_fail_the_try_and_the_retry_asks_only_for_the_missing(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    api.inject(Fault.miscount(-2))
    run = run_dag(dagbag, "fault_injection_single", n=3)
    assert run.state == "failed"
    output = capfd.readouterr().out
    assert "Asked for 3 image(s), the API answered 1" in output
    assert "image(s) 1, 2 missing" in output
    assert len(images_in(s3)) == 1, "the answered one landed"
    assert api.billed_images == 1
    tasks_test("fault_injection_single", "generate", run.run_id)
    assert sent_n(api) == [3, 2], "the retry asked only for the two missing"
    keys = sorted(key for key in images_in(s3))
    assert [key.rsplit("/", 1)[1] for key in keys] == ["000.png", "001.png", "002.png"]


@pytest.mark.parametrize("on_item_error", ["fail", "record"])
def test_a_bulk_item_answered_short_is_a_not_landed_failure(
    on_item_error: str, dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    api.inject(Fault.miscount(-1))  # the first request answers nothing: one item without its image
    dag_id = "bulk_generate" if on_item_error == "fail" else "bulk_generate_recorded"
    run = run_dag(dagbag, dag_id, count=3, max_concurrency=1)
    assert run.state == ("failed" if on_item_error == "fail" else "success")
    assert len(images_in(s3)) == 2
    if on_item_error == "record":
        (per_item,) = return_values(run, "generate")
        failed = [records[-1] for records in per_item if records[-1]["status"] == "failed"]
        assert len(failed) == 1
        assert "the API answered 0" in failed[0]["message"]
    manifest = next(stored for key, stored in bucket_objects(s3).items() if key.endswith("manifest.jsonl"))
    statuses = [json.loads(line)["status"] for line in manifest["Body"].splitlines()]
    assert sorted(statuses) == ["failed", "landed", "landed"]
