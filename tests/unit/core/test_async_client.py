"""The async client behaves as the sync one (they share their logic), and a pacer paces a pool."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from airflow_provider_openai_images.core.async_client import AsyncImagesClient
from airflow_provider_openai_images.core.client import ClientSettings
from airflow_provider_openai_images.core.pacing import RequestPacer, parse_reset
from airflow_provider_openai_images.core.requests import GenerateRequest
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import OpenAIImagesContentPolicyError, OpenAIImagesError
from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator
from tests.imagefactory import decode

GENERATE = GenerateRequest(prompt="an otter", model="gpt-image-2.5-flare", n=2, size="1024x1024", quality="low")


class Stamped(httpx.AsyncBaseTransport):
    """The emulator's transport, noting when each request was sent."""

    def __init__(self, emulator: ImagesAPIEmulator) -> None:
        self.inner = emulator.transport()
        self.sent: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(time.monotonic())
        return await self.inner.handle_async_request(request)


def client(
    emulator: ImagesAPIEmulator, transport: httpx.AsyncBaseTransport | None = None, **kwargs: object
) -> AsyncImagesClient:
    settings = ClientSettings(
        api_key=emulator.api_key, base_url=emulator.base_url, timeout=0.3, retry=RetryPolicy(initial_delay=0.01)
    )
    return AsyncImagesClient(settings, transport=transport or emulator.transport(), **kwargs)  # type: ignore[arg-type]


def test_an_async_generation_answers_and_records_its_attempts(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.truncated_body())

    async def main() -> None:
        async with client(emulator) as images:
            response = await images.send(GENERATE)
        assert [decode(image.decode()).size for image in response.data] == [(1024, 1024)] * 2
        assert [(a.outcome, a.possibly_billed) for a in response.attempts] == [("failed", True), ("answered", False)]

    asyncio.run(main())
    assert emulator.billed_images == 4


def test_async_errors_are_the_sync_client_s(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.content_policy("gpt-image"))

    async def main() -> OpenAIImagesError:
        async with client(emulator) as images:
            with pytest.raises(OpenAIImagesContentPolicyError) as raised:
                await images.send(GENERATE)
        return raised.value

    error = asyncio.run(main())
    assert (error.attempts, len(emulator.requests)) == (1, 1)


def test_a_429_with_retry_after_holds_back_every_new_request_of_the_pool(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.rate_limit(2))
    stamped = Stamped(emulator)

    async def main() -> None:
        async with client(emulator, stamped, pacer=RequestPacer()) as images:
            first = asyncio.create_task(images.send(GENERATE))
            await asyncio.sleep(0.2)  # the first request got its 429
            others = [asyncio.create_task(images.send(GENERATE)) for _ in range(3)]
            await asyncio.gather(first, *others)

    asyncio.run(main())
    refused_at = stamped.sent[0]
    later = stamped.sent[1:]
    assert len(later) == 4, "the refused request again, and the three others"
    assert min(later) - refused_at >= 1.9, "nothing was sent during the 2 s pause"


def test_an_even_pace_spaces_requests_by_their_images() -> None:
    clock = [0.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    async def main() -> list[float]:
        pacer = RequestPacer(images_per_minute=60, clock=lambda: clock[0], sleep=sleep)
        starts = []
        for images in (1, 2, 1, 1):
            await pacer.before_request(images)
            starts.append(clock[0])
        return starts

    assert asyncio.run(main()) == [0.0, 1.0, 3.0, 4.0], "one image a second: a 2-image request takes 2 slots"


def test_an_exhausted_limit_pauses_until_it_resets() -> None:
    clock = [100.0]
    pacer = RequestPacer(clock=lambda: clock[0])
    pacer.after_response(200, {"x-ratelimit-remaining-requests": "3", "x-ratelimit-reset-requests": "20s"})
    assert pacer.paused_until == 0.0
    pacer.after_response(200, {"X-RateLimit-Remaining-Requests": "0", "X-RateLimit-Reset-Requests": "1m30s"})
    assert pacer.paused_until == 190.0
    pacer.after_response(429, {"retry-after-ms": "500"})
    assert pacer.paused_until == 190.0, "a pause is never shortened"


@pytest.mark.parametrize(
    ("text", "seconds"), [("6m0s", 360.0), ("1.5s", 1.5), ("20ms", 0.02), ("1h2m3s", 3723.0), ("7", 7.0),
                          ("soon", None), ("", None)],
)  # fmt: skip
def test_reset_durations(text: str, seconds: float | None) -> None:
    assert parse_reset(text) == seconds
