"""Batch jobs in-process: the emulator's Files and Batch APIs through its transport, S3 through moto's
in-memory mock. Submission (record, metadata search, nothing sent twice), polling (progress, passing
outages, the deadline), landing line by line (re-runs skip what landed, refused and unrun lines)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.responses import ImagesUsage
from airflow_provider_openai_images.hooks import OpenAIImagesHook
from airflow_provider_openai_images.jobs.batch.record import BatchRecord, read_batch_record
from airflow_provider_openai_images.jobs.batch.submission import plan_batch, submit_batch
from airflow_provider_openai_images.jobs.batch.waiting import BatchJobSpec, run_batch_job, wait_for_batch
from airflow_provider_openai_images.jobs.spec import JobItem, JobSpec
from airflow_provider_openai_images.testing import BatchFault, Fault, ImagesAPIEmulator
from tests.unit.conftest import JOBS_BUCKET, TASK

BUCKET = JOBS_BUCKET


def job(count: int, **values: Any) -> JobSpec:
    items: list[JobItem] = [
        {
            "endpoint": "generations",
            "values": {"prompt": f"item {number}", "model": "gpt-image-2.5-flare", "quality": "low", **values},
            "prefix": f"run/item-{number:05d}",
        }
        for number in range(count)
    ]
    return {
        "bucket": BUCKET, "prefix": "run", "items": items, "overwrite": False, "max_concurrency": 1,
        "images_per_minute": None, "spill_path": None, "task": TASK, "manifest": True,  # type: ignore[typeddict-item]
    }  # fmt: skip


def submit(api: ImagesAPIEmulator, s3_hook: Any, spec: JobSpec) -> BatchRecord:
    plan = plan_batch(s3_hook, spec)

    async def go() -> BatchRecord:
        client = OpenAIImagesHook(transport=api.transport()).get_async_batch_client()
        try:
            return await submit_batch(client, s3_hook, plan, plan.to_send())
        finally:
            await client.aclose()

    return asyncio.run(go())


def batch_spec(spec: JobSpec, record: BatchRecord, *, deadline: float | None = None) -> BatchJobSpec:
    return {
        "job": spec, "batch_id": record["batch_id"], "sent": record["sent"], "final_failures": record["final_failures"],
        "poll_interval": 0.01, "deadline": deadline or time.time() + 60, "keep_files": False,
    }  # fmt: skip


def land(api: ImagesAPIEmulator, s3_hook: Any, spec: BatchJobSpec) -> Any:
    hook = OpenAIImagesHook(transport=api.transport())
    return asyncio.run(run_batch_job(spec, hook=hook, s3_hook=s3_hook))


def test_a_batch_is_created_recorded_waited_for_and_landed_at_half_the_price(
    api: ImagesAPIEmulator, s3_hook: Any
) -> None:
    spec = job(6)
    spec["items"][4]["values"]["prompt"] = "a forbidden thing"
    spec["items"][2]["values"]["n"] = 2
    record = submit(api, s3_hook, spec)
    assert read_batch_record(s3_hook, BUCKET, "run") == record
    assert record["sent"]["item-00002"] == [0, 1]
    assert next(batch.metadata for batch in api.batches)["airflow_task_id"] == "t"

    outcome = land(api, s3_hook, batch_spec(spec, record))
    records = [item["records"] for item in outcome["items"]]
    assert [len(r) for r in records] == [1, 1, 2, 1, 1, 1]
    assert records[4][0]["status"] == "rejected"
    assert outcome["items"][4]["failure"]["kind"] == "rejected"
    landed = [r for item in records for r in item if r["status"] == "landed"]
    assert all(r["batch_id"] == record["batch_id"] for r in landed)
    sidecar = json.loads(s3_hook.read_key(landed[0]["metadata_uri"].split("/", 3)[3], BUCKET))
    usage = ImagesUsage.from_json(sidecar["provenance"]["usage"])
    synchronous = PriceTable().answer_cost("gpt-image-2.5-flare", images=1, usage=usage, quality="low", size=None)
    assert synchronous
    assert landed[0]["cost_usd"] == pytest.approx(synchronous / 2)
    assert outcome["spend"]["cost_usd"] == pytest.approx(api.batch_billed_usd, abs=1e-5)  # per image, to 6 places
    assert outcome["spend"]["synchronous_cost_usd"] == pytest.approx(2 * api.batch_billed_usd, abs=2e-5)
    assert api.batch_billed_images == 6
    finished = read_batch_record(s3_hook, BUCKET, "run")
    assert finished is not None
    assert finished["finished"]
    assert set(finished["final_failures"]) == {"item-00004"}
    assert all(stored.deleted for stored in api.files.values()), "input, output and error files deleted"


def test_landing_again_skips_what_landed_and_pays_nothing(api: ImagesAPIEmulator, s3_hook: Any) -> None:
    spec = job(4)
    record = submit(api, s3_hook, spec)
    first = {**batch_spec(spec, record), "keep_files": True}
    land(api, s3_hook, first)
    s3_hook.get_conn().delete_object(Bucket=BUCKET, Key="run/item-00001/000.png")
    api.requests.clear()
    outcome = land(api, s3_hook, first)
    assert [item["failure"] for item in outcome["items"]] == [None] * 4
    assert outcome["spend"]["images_landed"] == 1, "only the deleted image is written again"
    assert [r.endpoint for r in api.requests].count("batches") == 0
    assert api.batch_billed_images == 4


def test_a_plan_sends_only_missing_images_and_nothing_refused_for_good(api: ImagesAPIEmulator, s3_hook: Any) -> None:
    spec = job(3)
    spec["items"][1]["values"]["prompt"] = "forbidden"
    record = submit(api, s3_hook, spec)
    land(api, s3_hook, batch_spec(spec, record))
    plan = plan_batch(s3_hook, spec)
    assert plan.unfinished_batch is None
    assert plan.to_send() == {}, "landed items and a safety rejection are not sent again"
    s3_hook.get_conn().delete_object(Bucket=BUCKET, Key="run/item-00002/000.png")
    assert plan_batch(s3_hook, spec).to_send() == {"item-00002": [0]}


def test_a_batch_created_but_not_recorded_is_found_by_its_metadata(api: ImagesAPIEmulator, s3_hook: Any) -> None:
    spec = job(3)
    record = submit(api, s3_hook, spec)
    s3_hook.get_conn().delete_object(Bucket=BUCKET, Key="run/batch.json")  # the worker died before recording it
    again = submit(api, s3_hook, spec)
    assert again["batch_id"] == record["batch_id"]
    assert len(api.batches) == 1
    assert [r.endpoint for r in api.requests].count("files") == 1, "no second upload either"


def test_a_lost_create_answer_is_not_retried_blindly_but_found(api: ImagesAPIEmulator, s3_hook: Any) -> None:
    # the first request to /batches is the look-up (GET); the second, the create, loses its answer
    api.inject(Fault.slow(0.0, endpoint="batches"), Fault.drop_connection(after_generation=True, endpoint="batches"))
    spec = job(2)
    record = submit(api, s3_hook, spec)
    creates = [r for r in api.requests if r.endpoint == "batches" and r.method == "POST"]
    assert len(creates) == 1, "a create whose answer was lost is not sent twice"
    assert len(api.batches) == 1
    assert record["batch_id"] == api.batches[0].id


def test_polling_survives_a_passing_outage_and_logs_progress(
    api: ImagesAPIEmulator, s3_hook: Any, caplog: pytest.LogCaptureFixture
) -> None:
    spec = job(2)
    record = submit(api, s3_hook, spec)
    api.inject(Fault.server_error(endpoint="batch", times=8))
    client = OpenAIImagesHook(conn_id="openai_images_default", max_retries=1, transport=api.transport())

    async def go() -> Any:
        batches = client.get_async_batch_client()
        try:
            return await wait_for_batch(batches, batch_spec(spec, record), sleep=lambda _: asyncio.sleep(0))
        finally:
            await batches.aclose()

    with caplog.at_level("INFO"):
        batch = asyncio.run(go())
    assert batch["status"] == "completed"
    assert "Polling batch" in caplog.text
    assert f"Batch {record['batch_id']}: completed, 2 of 2 requests done, 0 failed" in caplog.text


def test_past_the_deadline_the_batch_is_cancelled_and_what_it_finished_lands(
    api: ImagesAPIEmulator, s3_hook: Any
) -> None:
    api.inject_batch(BatchFault.stall_after(2))
    spec = job(5)
    record = submit(api, s3_hook, spec)
    outcome = land(api, s3_hook, batch_spec(spec, record, deadline=time.time() + 0.2))
    failures = [item["failure"] for item in outcome["items"]]
    assert sum(failure is None for failure in failures) == 2
    unrun = [failure for failure in failures if failure is not None]
    assert all(f["kind"] == "gave_up" and "batch_cancelled" in f["message"] for f in unrun)
    assert api.batches[0].status == "cancelled"
    assert api.batch_billed_images == 2
