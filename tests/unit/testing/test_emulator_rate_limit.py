"""The emulator's account rate limit (``images_per_minute``): a burst beyond it is answered 429 with
``Retry-After`` and billed nothing, no window lets through more than the rate allows, and a bulk job over it
still lands every prompt once, while one paced to it is never refused."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_openai_images.core.pacing import parse_reset
from airflow_provider_openai_images.hooks import OpenAIImagesHook
from airflow_provider_openai_images.jobs.realtime import run_images_job
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.emulator.rate_limit import ImageRateLimit
from tests.unit.test_jobs import spec

GENERATE = {"prompt": "an otter", "model": "gpt-image-2.5-flare", "size": "1024x1024", "quality": "low"}


def test_a_burst_beyond_the_rate_is_refused_with_retry_after_and_billed_nothing(emulator: ImagesAPIEmulator) -> None:
    emulator.images_per_minute = 120  # two images a second: the bucket holds two
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    with httpx.Client(transport=emulator.transport(), base_url=emulator.base_url, headers=headers) as client:
        answers = [client.post("/images/generations", json=GENERATE) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 0 < float(refused.headers["Retry-After"]) <= 0.5
    assert refused.headers["x-ratelimit-remaining-images"] == "0"
    assert parse_reset(refused.headers["x-ratelimit-reset-images"]) == float(refused.headers["Retry-After"])
    assert (emulator.billed_images, emulator.rate_limited) == (2, 1)
    emulator.reset()
    assert (emulator.rate_limited, emulator.peak_images_per(60)) == (0, 0)


@given(
    st.floats(6, 1200),
    st.lists(st.tuples(st.floats(0, 2), st.integers(1, 4)), min_size=1, max_size=60),
    st.floats(0.1, 30),
)
def test_no_window_lets_through_more_than_the_rate_and_a_second_s_worth(
    per_minute: float, arrivals: list[tuple[float, int]], window: float
) -> None:
    bucket = ImageRateLimit()
    now, taken = 1000.0, []
    for gap, images in arrivals:
        now += gap
        if bucket.take(images, per_minute, now=now) is None:
            taken.append((now, images))
    rate = per_minute / 60
    for end, _ in taken:
        inside = sum(images for moment, images in taken if end - window < moment <= end)
        biggest = max(images for _, images in taken)
        assert inside <= rate * window + max(rate, biggest) + 1e-6


def _job(emulator: ImagesAPIEmulator, s3_hook: Any, *, pace: float | None) -> Any:
    job = spec(12, concurrency=8)
    job["images_per_minute"] = pace
    return asyncio.run(run_images_job(job, hook=OpenAIImagesHook(transport=emulator.transport()), s3_hook=s3_hook))


def test_a_job_over_the_rate_is_held_back_by_the_429s_and_still_lands_every_prompt_once(
    emulator: ImagesAPIEmulator, s3_hook: Any
) -> None:
    emulator.images_per_minute = 300  # five a second
    outcome = _job(emulator, s3_hook, pace=None)
    assert all(item["failure"] is None for item in outcome["items"])
    assert emulator.billed_images == 12, "a 429 bills nothing, and every prompt is paid once"
    assert emulator.rate_limited > 0, "eight at a time, unpaced, goes beyond five a second"
    assert emulator.peak_images_per(1.0) <= 10, "a second's worth and a second's refill at most"


def test_a_job_paced_to_the_rate_is_never_refused(emulator: ImagesAPIEmulator, s3_hook: Any) -> None:
    emulator.images_per_minute = 300
    outcome = _job(emulator, s3_hook, pace=300)
    assert all(item["failure"] is None for item in outcome["items"])
    assert (emulator.billed_images, emulator.rate_limited) == (12, 0)
