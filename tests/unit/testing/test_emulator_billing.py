"""Billing as the real API bills, over the in-process transport (no sockets): an image is paid for once
generated, whatever becomes of its answer; requests refused before generation cost nothing. Also the
faults that strike after generation, models made unavailable, and waiting for the emulator to be
idle. Token usage is in ``test_emulator_usage.py``, dollars in ``test_emulator_prices.py``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import threading
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator
from tests.imagefactory import ribbon_edit
from tests.unit.testing.test_emulator_in_process import _client

# two images a request, so that what is billed is not confused with a count of requests
GENERATE = {"prompt": "an otter", "model": "gpt-image-2.5-flare", "size": "1024x1024", "quality": "low", "n": 2}


def _generate(emulator: ImagesAPIEmulator, body: dict[str, Any] | None = None, **client: Any) -> httpx.Response:
    with _client(emulator, **client) as http:
        return http.post("/images/generations", json=body if body is not None else GENERATE)


# -- what each fault bills --------------------------------------------------------------------------

# fault -> (what the client sees: a status or the httpx error, the recorded status, images billed)
FAULTS: dict[str, tuple[Fault, int | type[Exception], int | None, int]] = {
    "429": (Fault.rate_limit(1), 429, 429, 0),
    "500": (Fault.server_error(500), 500, 500, 0),
    "safety rejection": (Fault.content_policy("gpt-image"), 400, 400, 0),
    "non-JSON (a proxy's error page)": (Fault.non_json_body(), 200, 200, 0),
    "dropped before generation": (Fault.drop_connection(), httpx.RemoteProtocolError, None, 0),
    "dropped after generation": (Fault.drop_connection(after_generation=True), httpx.RemoteProtocolError, None, 2),
    "truncated body": (Fault.truncated_body(), httpx.RemoteProtocolError, 200, 2),
    "slow, within the read timeout": (Fault.slow(0.05), 200, 200, 2),
    "slow, beyond the read timeout": (Fault.slow(30), httpx.ReadTimeout, 200, 2),
    "corrupt image": (Fault.corrupt_image(), 200, 200, 2),
}


@pytest.mark.parametrize("case", FAULTS)
def test_each_fault_bills_what_the_real_api_would(case: str, emulator: ImagesAPIEmulator) -> None:
    fault, seen, recorded_status, billed = FAULTS[case]
    emulator.inject(fault)
    if isinstance(seen, int):
        assert _generate(emulator, timeout=0.5).status_code == seen
    else:
        with pytest.raises(seen):
            _generate(emulator, timeout=0.5)
    (request,) = emulator.requests
    assert (request.status, request.fault, request.billed_images) == (recorded_status, fault.kind, billed)
    assert emulator.billed_images == billed


@pytest.mark.parametrize(
    ("body", "key", "status"),
    [
        (GENERATE, "sk-wrong", 401),
        ({**GENERATE, "n": "two"}, None, 400),
        ({**GENERATE, "size": "1000x1000"}, None, 400),
        ({**GENERATE, "model": "gpt-image-2"}, None, 404),
        ({**GENERATE, "model": "dall-e-3", "n": 1}, None, 404),
    ],
    ids=["wrong key", "spec violation", "model rule", "model made unavailable", "model shut down by OpenAI"],
)
def test_requests_refused_before_generation_bill_nothing(
    body: dict[str, Any], key: str | None, status: int, emulator: ImagesAPIEmulator
) -> None:
    emulator.unavailable_models.add("gpt-image-2")
    emulator.inject(Fault.truncated_body(), Fault.drop_connection(after_generation=True))
    with _client(emulator, key=key) as http:
        assert http.post("/images/generations", json=body).status_code == status
        assert http.post("/images/nowhere", json=body).status_code == 404
    assert [request.billed_images for request in emulator.requests] == [0, 0]
    assert emulator.billed_images == 0


def test_the_request_log_says_which_attempts_were_billed(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.server_error(503), Fault.truncated_body(), Fault.drop_connection(after_generation=True))
    with _client(emulator) as http:
        for _ in range(3):
            with contextlib.suppress(httpx.RemoteProtocolError):
                http.post("/images/generations", json=GENERATE)
        assert http.post("/images/generations", json=GENERATE).status_code == 200
    assert [(r.fault, r.billed_images) for r in emulator.requests] == [
        ("status", 0),
        ("truncate", 2),
        ("drop", 2),
        (None, 2),
    ]
    assert emulator.billed_images == 6, "the sum over the log"


# -- faults that strike after generation --------------------------------------------------------------


def test_a_drop_after_generation_bills_then_hangs_up_sync_and_async(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.drop_connection(after_generation=True, times=2))
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        _generate(emulator)

    async def scenario() -> None:
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        async with httpx.AsyncClient(
            transport=emulator.transport(), base_url=emulator.base_url, headers=headers
        ) as http:
            await http.post("/images/generations", json=GENERATE)

    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        asyncio.run(scenario())
    assert [(r.status, r.fault, r.billed_images) for r in emulator.requests] == [(None, "drop", 2)] * 2


def test_a_drop_after_generation_waits_out_the_generation_time_first(emulator: ImagesAPIEmulator) -> None:
    emulator.latency = 0.3
    emulator.inject(Fault.drop_connection(after_generation=True), Fault.drop_connection())
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        _generate(emulator)
    after_generation = time.monotonic() - started
    with pytest.raises(httpx.RemoteProtocolError):
        _generate(emulator)
    assert after_generation >= 0.3
    assert time.monotonic() - started - after_generation < 0.3, "a plain drop does not wait for a generation"


def _cannot_load(content: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
    except OSError:
        return True
    return False


def test_a_corrupt_image_is_valid_base64_of_half_a_png_pillow_cannot_load(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.corrupt_image())
    corrupt = _generate(emulator)
    whole = _generate(emulator)
    assert corrupt.status_code == 200
    for cut, complete in zip(corrupt.json()["data"], whole.json()["data"], strict=True):
        content = base64.b64decode(cut["b64_json"], validate=True)
        original = base64.b64decode(complete["b64_json"])
        assert content.startswith(b"\x89PNG")
        assert content == original[: len(original) // 2], "the same picture, cut to half its bytes"
        assert _cannot_load(content)
        assert not _cannot_load(original)
    assert [(r.fault, r.billed_images) for r in emulator.requests] == [("corrupt", 2), (None, 2)]


def test_a_corrupt_url_answer_serves_the_cut_file(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    emulator.inject(Fault.corrupt_image(endpoint="generations"))
    with _client(emulator) as http:
        answer = http.post("/images/generations", json={"prompt": "a kite", "model": "dall-e-2", "size": "256x256"})
        served = http.get(answer.json()["data"][0]["url"])
    assert answer.status_code == served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content.startswith(b"\x89PNG")
    assert _cannot_load(served.content)
    assert emulator.billed_images == 1


# -- models the endpoint no longer serves -------------------------------------------------------------

SHUT_DOWN = {
    "error": {
        "message": "The model `dall-e-3` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }
}


def test_a_model_made_unavailable_is_404_model_not_found_and_not_billed_even_on_a_compatible_server() -> None:
    emulator = ImagesAPIEmulator(unavailable_models=["dall-e-3"], compatible_server=True)
    assert emulator.unavailable_models == {"dall-e-3"}
    with _client(emulator) as http:
        gone = http.post("/images/generations", json={"prompt": "a kite", "model": "dall-e-3"})
        served = http.post("/images/generations", json={"prompt": "a kite", "model": "dall-e-2", "size": "256x256"})
        listed = [model["id"] for model in http.get("/models").json()["data"]]
    assert gone.status_code == 404
    assert gone.json() == SHUT_DOWN
    assert gone.headers["x-request-id"].startswith("req_emulator_")
    assert served.status_code == 200
    assert "dall-e-3" not in listed
    assert "dall-e-2" in listed
    assert [(r.status, r.billed_images) for r in emulator.requests] == [(404, 0), (200, 1), (200, 0)]


def test_unavailable_models_can_change_between_requests(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    edit = ribbon_edit()
    body = edit.to_http_body()
    with _client(emulator) as http:
        assert http.post("/images/edits", data=body.data, files=body.files).status_code == 200
        emulator.unavailable_models.add("dall-e-2")
        refused = http.post("/images/edits", data=body.data, files=body.files)
        emulator.unavailable_models.clear()
        assert http.post("/images/edits", data=body.data, files=body.files).status_code == 200
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "model_not_found"
    assert [r.billed_images for r in emulator.requests] == [2, 0, 2]


# -- waiting for the emulator to be idle ------------------------------------------------------------


def test_wait_until_idle_returns_at_once_when_nothing_is_in_flight(emulator: ImagesAPIEmulator) -> None:
    started = time.monotonic()
    emulator.wait_until_idle(timeout=0)
    _generate(emulator)
    emulator.wait_until_idle(timeout=0)
    assert time.monotonic() - started < 2


def test_wait_until_idle_waits_for_an_in_process_call_still_sleeping(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.slow(0.5))
    caller = threading.Thread(target=_generate, args=(emulator,))
    started = time.monotonic()
    caller.start()
    while not emulator.requests:
        time.sleep(0.01)
    with pytest.raises(TimeoutError, match="1 emulator request"):
        emulator.wait_until_idle(timeout=0.05)
    emulator.wait_until_idle(timeout=5)
    assert time.monotonic() - started >= 0.5
    caller.join()
    assert emulator.billed_images == 2


def test_an_in_process_call_that_raises_is_no_longer_in_flight(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.slow(30), Fault.truncated_body(), Fault.drop_connection(after_generation=True))
    for _ in range(3):
        with pytest.raises((httpx.ReadTimeout, httpx.RemoteProtocolError)):
            _generate(emulator, timeout=0.1)
    emulator.wait_until_idle(timeout=0)
