"""Operator behaviour that needs a task instance run more than once: `airflow tasks test` keeps the
run id stable, as a retry does, so the second try must find what the first one landed."""

from __future__ import annotations

from typing import Any

from airflow_provider_openai_images.testing import ImagesAPIEmulator

from .conftest import BUCKET, bucket_objects, tasks_test


def test_a_retried_task_with_everything_landed_pays_for_nothing(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    run = dagbag.dags["openai_images_on_demand"].test(run_conf={"n": 2, "bucket": BUCKET})
    assert run.state == "success"
    assert len(images_api_emulator.requests_to("generations")) == 1
    landed = bucket_objects(s3)
    output = tasks_test("openai_images_on_demand", "generate", run.run_id)
    assert len(images_api_emulator.requests_to("generations")) == 1, "no new paid request"
    assert "2 of 2 images already landed" in output
    assert bucket_objects(s3).keys() == landed.keys()


def test_a_retry_after_a_partial_landing_asks_only_for_the_missing_images(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    run = dagbag.dags["openai_images_on_demand"].test(run_conf={"n": 3, "quality": "low", "bucket": BUCKET})
    keys = sorted(k for k in bucket_objects(s3) if k.endswith(".png"))
    assert len(keys) == 3
    s3.delete_object(Bucket=BUCKET, Key=keys[1])
    output = tasks_test("openai_images_on_demand", "generate", run.run_id)
    first, second = images_api_emulator.requests_to("generations")
    assert (first.json or {})["n"] == 3
    assert (second.json or {})["n"] == 1
    assert "2 of 3 images already landed" in output
    assert sorted(k for k in bucket_objects(s3) if k.endswith(".png")) == keys
    assert images_api_emulator.billed_images == 4
