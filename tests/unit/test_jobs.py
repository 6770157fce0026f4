"""Images jobs in-process: the emulator through its transport, S3 through moto's in-memory mock (no
sockets). Concurrency, the pool-wide pause on a 429, recovery, inputs staged in S3, per-item failures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from airflow_provider_openai_images.core.requests import EditRequest, ImageFile
from airflow_provider_openai_images.hooks import OpenAIImagesHook
from airflow_provider_openai_images.jobs.outcome import read_manifest
from airflow_provider_openai_images.jobs.realtime import run_images_job
from airflow_provider_openai_images.jobs.spec import JobItem, JobSpec, stage_inputs
from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator
from tests.imagefactory import decode, picture
from tests.unit.conftest import JOBS_BUCKET, TASK

BUCKET = JOBS_BUCKET


def spec(count: int, *, concurrency: int = 4, manifest: bool = True, **values: Any) -> JobSpec:
    items: list[JobItem] = [
        {
            "endpoint": "generations",
            "values": {"prompt": f"item {number}", "model": "gpt-image-2.5-flare", "quality": "low", **values},
            "prefix": f"run/item-{number:05d}",
        }
        for number in range(count)
    ]
    return {
        "bucket": BUCKET, "prefix": "run", "items": items, "overwrite": False, "max_concurrency": concurrency,
        "images_per_minute": None, "spill_path": None, "task": TASK, "manifest": manifest,  # type: ignore[typeddict-item]
    }  # fmt: skip


def run(job: JobSpec, emulator: ImagesAPIEmulator, s3_hook: Any) -> Any:
    hook = OpenAIImagesHook(transport=emulator.transport())
    return asyncio.run(run_images_job(job, hook=hook, s3_hook=s3_hook))


def keys(s3_hook: Any) -> list[str]:
    return sorted(item["Key"] for item in s3_hook.get_conn().list_objects_v2(Bucket=BUCKET).get("Contents", []))


class Stamped(httpx.AsyncBaseTransport):
    """The emulator's transport, noting when each request went out and when and how it was answered."""

    def __init__(self, emulator: ImagesAPIEmulator) -> None:
        self.inner = emulator.transport()
        self.log: list[tuple[float, float, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.monotonic()
        response = await self.inner.handle_async_request(request)
        self.log.append((sent, time.monotonic(), response.status_code))
        return response


def test_items_run_concurrently_and_land_in_order(emulator: ImagesAPIEmulator, s3_hook: Any) -> None:
    emulator.latency = 0.3
    stamped = Stamped(emulator)
    outcome = asyncio.run(
        run_images_job(spec(8, concurrency=4), hook=OpenAIImagesHook(transport=stamped), s3_hook=s3_hook)
    )
    in_flight = [sum(sent <= moment < answered for sent, answered, _ in stamped.log) for moment, _, _ in stamped.log]
    assert max(in_flight) == 4, "four requests at a time, never more"
    assert [item["records"][0]["key"] for item in outcome["items"]] == [f"run/item-{n:05d}/000.png" for n in range(8)]
    assert outcome["spend"]["images_landed"] == 8
    assert outcome["spend"]["cost_usd"] > 0
    assert read_manifest(s3_hook, outcome["manifest_uri"], 8) == [item["records"] for item in outcome["items"]]


def test_a_rerun_lists_once_and_pays_only_for_what_is_missing(emulator: ImagesAPIEmulator, s3_hook: Any) -> None:
    job = spec(4, n=2)
    run(job, emulator, s3_hook)
    s3_hook.get_conn().delete_object(Bucket=BUCKET, Key="run/item-00002/001.png")
    outcome = run(job, emulator, s3_hook)
    requests = emulator.requests_to("generations")
    assert len(requests) == 5
    assert (requests[-1].json or {})["prompt"] == "item 2"
    assert (requests[-1].json or {})["n"] == 1
    assert outcome["spend"]["images_landed"] == 1
    assert [len(item["records"]) for item in outcome["items"]] == [2, 2, 2, 2]


def test_a_429_holds_back_every_new_request_of_the_pool_for_its_retry_after(
    emulator: ImagesAPIEmulator, s3_hook: Any
) -> None:
    emulator.latency = 0.2
    emulator.inject(Fault.rate_limit(2))
    stamped = Stamped(emulator)
    hook = OpenAIImagesHook(transport=stamped)
    outcome = asyncio.run(run_images_job(spec(6, concurrency=3), hook=hook, s3_hook=s3_hook))
    assert all(item["failure"] is None for item in outcome["items"])
    (answered_429,) = [answered for _, answered, status in stamped.log if status == 429]
    during_pause = [sent for sent, _, _ in stamped.log if answered_429 < sent < answered_429 + 1.95]
    after_pause = [sent for sent, _, _ in stamped.log if sent >= answered_429 + 1.95]
    assert len(during_pause) + len(after_pause) == 6, "the refused request again, and the five other items"
    assert len(during_pause) <= 2, "during the pause, at most the two requests already past the gate went out"


def test_an_item_that_fails_is_recorded_and_the_others_land(emulator: ImagesAPIEmulator, s3_hook: Any) -> None:
    emulator.inject(Fault.content_policy("gpt-image"), Fault("status", status=400, error={"message": "bad size"}))
    outcome = run(spec(4, concurrency=1), emulator, s3_hook)
    failures = [item["failure"] for item in outcome["items"]]
    assert [failure["kind"] if failure else None for failure in failures] == ["rejected", "refused", None, None]
    assert [item["records"][-1]["status"] for item in outcome["items"]] == ["rejected", "failed", "landed", "landed"]
    assert keys(s3_hook).count("run/manifest.jsonl") == 1
    assert len([key for key in keys(s3_hook) if key.endswith(".png")]) == 2


def test_staged_inputs_are_read_back_for_an_edit(emulator: ImagesAPIEmulator, s3_hook: Any) -> None:
    request = EditRequest(
        prompt="snow", model="gpt-image-2.5-flare", images=(ImageFile.from_bytes(picture(64, 48), "a.png"),)
    )
    staged = stage_inputs(s3_hook, request, BUCKET, "run/inputs")
    assert staged == {"images": [f"s3://{BUCKET}/run/inputs/images-0.png"]}
    job = spec(1, manifest=False)
    job["items"][0] = {"endpoint": "edits", "values": {"prompt": "snow", "model": "gpt-image-2"}, "prefix": "run",
                       "inputs": staged}  # fmt: skip
    outcome = run(job, emulator, s3_hook)
    (record,) = outcome["items"][0]["records"]
    assert record["key"] == "run/000.png"
    (sent,) = emulator.requests_to("edits")
    assert decode(sent.files[0].content).size == (64, 48)
    assert outcome["manifest_uri"] is None


@pytest.mark.parametrize("endpoint", ["generations", "edits"])
def test_landings_that_s3_makes_slow_never_hold_back_the_next_requests(
    emulator: ImagesAPIEmulator, s3_hook: Any, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    """Two requests in flight, each landing taking a second: every request (an edit reads its inputs from S3
    first) has gone out before the first landing ends."""
    from airflow_provider_openai_images.landing.lander import ImageLander

    emulator.latency = 0.05
    sent: list[float] = []
    landed: list[float] = []
    land_each = ImageLander.land_each

    def slow_land_each(self: ImageLander, images: Any) -> Any:
        images = list(images)
        if not images:  # recovery, before the requests: nothing kept
            return land_each(self, images)
        time.sleep(1.0)
        try:
            return land_each(self, images)
        finally:
            landed.append(time.monotonic())

    class Watching(httpx.AsyncBaseTransport):
        inner = emulator.transport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(time.monotonic())
            return await self.inner.handle_async_request(request)

    monkeypatch.setattr(ImageLander, "land_each", slow_land_each)
    job = spec(6, concurrency=2, manifest=False)
    if endpoint == "edits":
        request = EditRequest(prompt="x", model="gpt-image-2", images=(ImageFile.from_bytes(picture(16, 16), "a.png"),))
        staged = stage_inputs(s3_hook, request, BUCKET, "run/inputs")
        for item in job["items"]:
            item.update({"endpoint": "edits", "values": {"prompt": "x", "model": "gpt-image-2"}, "inputs": staged})
    outcome = asyncio.run(run_images_job(job, hook=OpenAIImagesHook(transport=Watching()), s3_hook=s3_hook))
    assert all(item["failure"] is None for item in outcome["items"])
    assert len(sent) == len(landed) == 6
    assert max(sent) < min(landed), "every request went out while the first landings were still waiting on S3"


def test_requests_go_out_in_input_order(emulator: ImagesAPIEmulator, s3_hook: Any) -> None:
    run(spec(12, concurrency=1), emulator, s3_hook)
    assert [(request.json or {})["prompt"] for request in emulator.requests] == [f"item {n}" for n in range(12)]
