"""The emulator's billing over real sockets: a truncated answer and a connection dropped after
generation are paid for, and :meth:`ImagesAPIEmulator.wait_until_idle` waits for a server thread
still sleeping a slow answer its client gave up on."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator

GENERATE = {"prompt": "an otter", "model": "gpt-image-2.5-flare", "size": "1024x1024", "quality": "low", "n": 2}


@pytest.fixture
def emulator(images_api_emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """The session's emulator over HTTP, with no request of an earlier test still in flight."""
    images_api_emulator.wait_until_idle()
    return images_api_emulator


def _client(emulator: ImagesAPIEmulator, *, read_timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(
        base_url=emulator.base_url,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=httpx.Timeout(5.0, read=read_timeout),
    )


def test_wait_until_idle_waits_for_a_server_thread_sleeping_for_a_client_that_gave_up(
    emulator: ImagesAPIEmulator,
) -> None:
    emulator.inject(Fault.slow(1.0))
    started = time.monotonic()
    with _client(emulator, read_timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.post("/images/generations", json=GENERATE)
    gave_up = time.monotonic() - started
    assert gave_up < 0.9
    assert emulator.billed_images == 2, "billed at generation, before the answer was due"
    with pytest.raises(TimeoutError, match="still in flight"):
        emulator.wait_until_idle(timeout=0.1)
    emulator.wait_until_idle()
    assert time.monotonic() - started >= 1.0, "returned once the server thread had slept its second"
    emulator.wait_until_idle(timeout=0)
    (request,) = emulator.requests
    assert (request.status, request.fault, request.billed_images) == (200, "delay", 2)


def test_a_truncated_answer_is_billed_over_http(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.truncated_body())
    with _client(emulator) as client, client.stream("POST", "/images/generations", json=GENERATE) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()
    emulator.wait_until_idle()
    assert [(r.status, r.fault, r.billed_images) for r in emulator.requests] == [(200, "truncate", 2)]


def test_a_drop_after_generation_is_billed_over_http_and_a_drop_before_is_not(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.drop_connection(after_generation=True), Fault.drop_connection())
    with _client(emulator) as client:
        for _ in range(2):
            with pytest.raises(httpx.RemoteProtocolError):
                client.post("/images/generations", json=GENERATE)
    emulator.wait_until_idle()
    assert [(r.status, r.fault, r.billed_images) for r in emulator.requests] == [(None, "drop", 2), (None, "drop", 0)]
    assert emulator.billed_images == 2


def test_a_corrupt_image_and_models_not_served_over_http(emulator: ImagesAPIEmulator) -> None:
    emulator.unavailable_models.add("gpt-image-2")
    emulator.inject(Fault.corrupt_image())
    with _client(emulator) as client:
        corrupt = client.post("/images/generations", json=GENERATE)
        unavailable = client.post("/images/generations", json={**GENERATE, "model": "gpt-image-2"})
        retired = client.post("/images/generations", json={"prompt": "a kite", "model": "dall-e-3"})
        listed = [model["id"] for model in client.get("/models").json()["data"]]
        retrieved = client.get("/models/gpt-image-2.5-flare")
        gone = client.get("/models/dall-e-3")
    content = base64.b64decode(corrupt.json()["data"][0]["b64_json"], validate=True)
    assert corrupt.status_code == 200
    assert content.startswith(b"\x89PNG")
    for refused, model in ((unavailable, "gpt-image-2"), (retired, "dall-e-3"), (gone, "dall-e-3")):
        assert refused.status_code == 404
        assert refused.json()["error"] == {
            "message": f"The model `{model}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    assert "gpt-image-2.5-flare" in listed
    assert not {"gpt-image-2", "dall-e-3"} & set(listed)
    assert retrieved.json()["shutdown_date"] is None
    assert [r.billed_images for r in emulator.requests] == [2, 0, 0, 0, 0, 0]
