"""The bulk operator and deferred operators, end to end through DAG runs against the emulator over HTTP
and moto's S3 server: concurrency, input order, idempotent retries, per-item failures, budgets, and the
trigger run inline by ``dag.test()``. A real triggerer process is in ``test_triggerer.py``."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator

from .conftest import BUCKET, bucket_objects, images_in, return_values, run_dag, tasks_test

LATENCY = 0.5


def only_task(run: Any) -> Any:
    task_instances = [ti for ti in run.get_task_instances() if ti.task_id == "generate"]
    (task_instance,) = task_instances
    return task_instance


def manifest(client: Any, run_prefix: str) -> list[dict[str, Any]]:
    body = bucket_objects(client)[f"{run_prefix}/manifest.jsonl"]["Body"].decode()
    return [json.loads(line) for line in body.splitlines()]


def prefix_of(run: Any, dag_id: str) -> str:
    from airflow_provider_openai_images.keys import key_segment

    return f"openai-images/{dag_id}/{key_segment(run.run_id)}/generate"


def test_forty_prompts_run_eight_at_a_time_and_come_back_in_input_order(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images_api_emulator, "latency", LATENCY)
    run = run_dag(dagbag, "bulk_generate", count=40, max_concurrency=8)
    assert run.state == "success"
    per_item = return_values(run, "generate")[0]
    assert len(per_item) == 40
    assert [len(records) for records in per_item] == [1, 1, 1, 2] + [1] * 36
    prefix = prefix_of(run, "bulk_generate")
    for number, records in enumerate(per_item):
        assert all(record["key"].startswith(f"{prefix}/item-{number:05d}/") for record in records)
        assert all(record["status"] == "landed" and record["cost_usd"] for record in records)
    assert (per_item[3][0]["width"], per_item[3][0]["height"]) == (1536, 1024), "an item's own parameters"
    assert len(images_api_emulator.requests_to("generations")) == 40
    assert len(images_in(s3)) == 41
    lines = manifest(s3, prefix)
    assert [(line["item"], line["index"]) for line in lines][:5] == [(0, 0), (1, 0), (2, 0), (3, 0), (3, 1)]
    assert len(lines) == 41
    # eight at a time: the pool filled to its limit and never beyond it (how long it took is a benchmark's
    # business, benchmarks/bulk.py, not a test's)
    assert images_api_emulator.peak_in_flight == 8


def test_a_retry_after_one_image_was_lost_pays_for_exactly_that_image(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    run = run_dag(dagbag, "bulk_generate", count=6, max_concurrency=3)
    assert run.state == "success"
    assert len(images_api_emulator.requests_to("generations")) == 6
    lost = f"{prefix_of(run, 'bulk_generate')}/item-00003/001.png"
    s3.delete_object(Bucket=BUCKET, Key=lost)
    output = tasks_test("bulk_generate", "generate", run.run_id)  # the same task instance again, as a retry
    requests = images_api_emulator.requests_to("generations")
    assert len(requests) == 7, "one request: the other items and images are not paid again"
    assert (requests[-1].json or {})["n"] == 1
    assert (requests[-1].json or {})["prompt"] == "A wide banner, number 3"
    assert lost in images_in(s3)
    assert "items 6/6, images 1 landed" in output


@pytest.mark.parametrize(("dag_id", "state"), [("bulk_generate", "failed"), ("bulk_generate_recorded", "success")])
def test_one_failing_item_does_not_stop_the_others(
    dag_id: str, state: str, dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any, capfd: Any
) -> None:
    images_api_emulator.inject(Fault.content_policy("gpt-image"))
    run = run_dag(dagbag, dag_id, count=5, max_concurrency=1)
    assert run.state == state
    assert len(images_api_emulator.requests_to("generations")) == 5
    assert len(images_in(s3)) == 5, "four items landed, one of them with two images"
    lines = manifest(s3, prefix_of(run, dag_id))
    rejected = [line for line in lines if line["status"] == "rejected"]
    assert len(rejected) == 1
    assert rejected[0]["item"] == 0
    if state == "success":
        per_item = return_values(run, "generate")[0]
        assert per_item[0] == [{k: v for k, v in rejected[0].items() if k != "item"}]
    else:
        assert "1 of 5 items did not land completely: item 0" in capfd.readouterr().out


def test_the_budget_covers_the_whole_list_before_the_first_request(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any, capfd: Any
) -> None:
    run = run_dag(dagbag, "bulk_generate", count=5, max_images=5)
    assert run.state == "failed"
    assert "max_images=5, and this asks for 6 images" in capfd.readouterr().out
    assert images_api_emulator.requests == []
    assert only_task(run).try_number == 1


def test_a_deferred_bulk_task_lands_everything_in_the_trigger(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    run = run_dag(dagbag, "bulk_generate_deferred", count=5, max_concurrency=4)
    assert run.state == "success"
    assert "[DAG TEST] running trigger in line" in caplog.text
    per_item = return_values(run, "generate")[0]
    assert [len(records) for records in per_item] == [1, 1, 1, 2, 1]
    assert len(images_in(s3)) == 6
    assert len(manifest(s3, prefix_of(run, "bulk_generate_deferred"))) == 6


def test_a_deferred_generate_task_lands_its_images_in_the_trigger(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    images_api_emulator.inject(Fault.server_error(503))
    run = run_dag(dagbag, "generate_deferred")
    assert run.state == "success"
    records = return_values(run, "generate")[0]
    assert [record["key"] for record in records] == [
        f"{prefix_of(run, 'generate_deferred')}/000.png", f"{prefix_of(run, 'generate_deferred')}/001.png"
    ]  # fmt: skip
    assert len(images_api_emulator.requests_to("generations")) == 2, "the trigger's client retried the 503"
    sidecar = json.loads(bucket_objects(s3)[records[0]["metadata_uri"].removeprefix(f"s3://{BUCKET}/")]["Body"])
    assert [attempt["status"] for attempt in sidecar["provenance"]["attempts"]] == [503, 200]


#: prompts of the bounded-XCom test: more records than max_xcom_records (100); 5,000 in tests/unit
MANY = 150


@pytest.mark.parametrize("dag_id", ["bulk_generate", "bulk_generate_deferred"])
def test_a_bulk_task_with_more_records_than_max_xcom_records_returns_its_manifest_summary(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any, dag_id: str
) -> None:
    """The metadata database holds a few hundred bytes for any number of prompts, deferred or not; the
    records are in the manifest, and ``read_records`` gives them back as the task would have returned them."""
    from airflow_provider_openai_images.records import is_manifest_summary, read_records

    run = run_dag(dagbag, dag_id, count=MANY, max_concurrency=32)
    assert run.state == "success"
    (summary,) = return_values(run, "generate")
    assert is_manifest_summary(summary), f"not a manifest summary: {str(summary)[:200]}"
    assert len(json.dumps(summary)) < 1000
    prefix = prefix_of(run, dag_id)
    assert summary["manifest_uri"] == f"s3://{BUCKET}/{prefix}/manifest.jsonl"
    images = MANY + 1  # item 3 asks for two
    assert (summary["items"], summary["records"], summary["images_landed"]) == (MANY, images, images)
    assert (summary["images_rejected"], summary["images_failed"], summary["max_xcom_records"]) == (0, 0, 100)
    per_item = read_records(summary)
    assert [len(records) for records in per_item] == [1, 1, 1, 2] + [1] * (MANY - 4)
    lines = manifest(s3, prefix)
    assert per_item == [[{k: v for k, v in line.items() if k != "item"} for line in lines if line["item"] == n]
                        for n in range(MANY)]  # fmt: skip
    assert summary["cost_usd"] == pytest.approx(sum(record["cost_usd"] for item in per_item for record in item))
    assert len(images_in(s3)) == images
