"""The emulator reached in-process through its httpx transport, with network sockets blocked: the same
answers, records, faults and billing as over HTTP, without a server."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from typing import Any

import h11
import httpx
import pytest

from airflow_provider_openai_images.core.client import ClientSettings, ImagesClient
from airflow_provider_openai_images.core.requests import GenerateRequest
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator, RecordedRequest
from airflow_provider_openai_images.testing.emulator.server.http_server import _APIHandler
from tests.imagefactory import decode, ribbon_edit

GENERATE = {"prompt": "an otter", "model": "gpt-image-2.5-flare", "size": "1024x1024", "quality": "low"}


def _client(emulator: ImagesAPIEmulator, *, timeout: float = 5.0, key: str | None = None) -> httpx.Client:
    return httpx.Client(
        transport=emulator.transport(),
        base_url=emulator.base_url,
        headers={"Authorization": f"Bearer {key or emulator.api_key}"},
        timeout=timeout,
    )


def test_the_placeholder_addresses_are_on_the_reserved_invalid_domain(emulator: ImagesAPIEmulator) -> None:
    assert emulator.root_url == "http://images-api.emulator.invalid"
    assert emulator.base_url == "http://images-api.emulator.invalid/v1"
    assert emulator.image_host_url == "http://image-host.emulator.invalid"
    assert emulator.connection()["host"] == emulator.base_url


def test_a_generation_answers_base64_images_of_the_asked_size(emulator: ImagesAPIEmulator) -> None:
    with _client(emulator) as client:
        answer = client.post("/images/generations", json={**GENERATE, "n": 2, "size": "1536x1024"})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"].startswith("req_emulator_")
    images = [decode(base64.b64decode(item["b64_json"])) for item in answer.json()["data"]]
    assert [image.size for image in images] == [(1536, 1024)] * 2
    assert emulator.billed_images == 2
    (sent,) = emulator.requests_to("generations")
    assert sent.json == {**GENERATE, "n": 2, "size": "1536x1024"}
    assert sent.auth_scheme == "bearer"
    assert sent.headers["authorization"] == "<redacted>"


def test_a_url_answer_is_served_by_the_in_process_image_host_until_it_expires(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True  # URL answers are DALL·E's, which only compatible servers still serve
    with _client(emulator) as client:
        answer = client.post("/images/generations", json={"prompt": "an otter", "model": "dall-e-3"})
        url = answer.json()["data"][0]["url"]
        assert url.startswith("http://image-host.emulator.invalid/files/")
        downloaded = client.get(url)
        emulator.expire_urls()
        expired = client.get(url)
        unknown = client.get("http://anywhere.invalid/files/nothing.png")
    assert downloaded.status_code == 200
    assert decode(downloaded.content).size == (1024, 1024)
    assert expired.status_code == 403
    assert b"AuthenticationFailed" in expired.content
    assert unknown.status_code == 404
    assert [download.status for download in emulator.downloads] == [200, 403, 404]
    assert emulator.downloads[0].path == url.split("?")[0].removeprefix(emulator.image_host_url)
    assert len(emulator.requests) == 1, "downloads are not API requests"


def _through_the_http_adapter(emulator: ImagesAPIEmulator, request: httpx.Request) -> bytes:
    """Put ``request`` on the wire as httpx does (h11) and hand the bytes to the HTTP server's
    handler over a fake connection: the HTTP adapter, byte for byte, without a socket."""
    wire = h11.Connection(h11.CLIENT)
    raw = wire.send(h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw))
    raw += wire.send(h11.Data(data=request.read())) + wire.send(h11.EndOfMessage())

    class Connection:
        sent = b""

        def makefile(self, mode: str, *args: Any) -> io.BytesIO:
            return io.BytesIO(raw)

        def sendall(self, data: bytes) -> None:
            Connection.sent += bytes(data)

        def close(self) -> None:
            return

    handler = type("APIHandler", (_APIHandler,), {"core": emulator._core})
    handler(Connection(), ("127.0.0.1", 0), None)  # type: ignore[arg-type]
    return Connection.sent


def test_a_multipart_edit_is_recorded_as_the_http_server_records_it() -> None:
    edit = ribbon_edit()
    body = edit.to_http_body()
    in_process, over_http = ImagesAPIEmulator(compatible_server=True), ImagesAPIEmulator(compatible_server=True)
    with _client(in_process) as client:
        request = client.build_request("POST", "/images/edits", data=body.data, files=body.files)
        answer = client.send(request)
    answer_over_http = _through_the_http_adapter(over_http, request)
    assert answer.status_code == 200
    assert answer_over_http.startswith(b"HTTP/1.1 200 ")
    recorded: RecordedRequest = in_process.requests[0]
    assert [(f.field_name, f.filename, f.content_type) for f in recorded.files] == [
        ("image", "product.png", "image/png"),
        ("mask", "mask.png", "image/png"),
    ]
    assert recorded.files[0].content == edit.images[0].content
    assert recorded.form == {
        "prompt": ["add a red ribbon"],
        "model": ["dall-e-2"],
        "n": ["2"],
        "size": ["256x256"],
        "response_format": ["b64_json"],
    }
    assert over_http.requests == in_process.requests, "the same record, whichever adapter carried it"
    assert over_http.billed_images == in_process.billed_images == 2


# -- faults -----------------------------------------------------------------------------------------


def test_a_status_fault_answers_with_its_status_headers_and_error(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.rate_limit(3))
    with _client(emulator) as client:
        limited = client.post("/images/generations", json=GENERATE)
        then = client.post("/images/generations", json=GENERATE)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert then.status_code == 200
    assert [(r.status, r.fault, r.billed_images) for r in emulator.requests] == [(429, "status", 0), (200, None, 1)]


def test_a_dropped_connection_raises_remote_protocol_error_and_bills_nothing(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.drop_connection())
    with _client(emulator) as client, pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        client.post("/images/generations", json=GENERATE)
    (dropped,) = emulator.requests
    assert (dropped.status, dropped.fault) == (None, "drop")
    assert emulator.billed_images == 0


def test_a_truncated_body_announces_the_whole_length_then_fails_while_reading(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.truncated_body(times=2))
    with _client(emulator) as client:
        with client.stream("POST", "/images/generations", json=GENERATE) as response:
            assert response.status_code == 200
            announced = int(response.headers["Content-Length"])
            with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
                response.read()
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/images/generations", json=GENERATE)
        whole = client.post("/images/generations", json=GENERATE)
    assert announced == len(whole.content)
    assert [(r.status, r.fault, r.billed_images) for r in emulator.requests] == [
        (200, "truncate", 1),
        (200, "truncate", 1),
        (200, None, 1),
    ], "generated, so billed, however the answer was cut"


def test_a_non_json_body_is_html_and_bills_nothing(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.non_json_body())
    with _client(emulator) as client:
        answer = client.post("/images/generations", json=GENERATE)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html"
    assert answer.text.startswith("<html>")
    assert emulator.billed_images == 0


def test_a_slow_answer_within_the_timeout_waits_then_answers(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.slow(0.3))
    emulator.latency = 0.1
    started = time.monotonic()
    with _client(emulator, timeout=5.0) as client:
        answer = client.post("/images/generations", json=GENERATE)
    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.4
    assert emulator.billed_images == 1


def test_a_slow_answer_beyond_the_read_timeout_raises_read_timeout_and_is_still_billed(
    emulator: ImagesAPIEmulator,
) -> None:
    emulator.inject(Fault.slow(30))
    started = time.monotonic()
    with _client(emulator, timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.post("/images/generations", json=GENERATE)
    assert 0.2 <= time.monotonic() - started < 5, "waited as long as the client would, not the whole delay"
    assert emulator.billed_images == 1, "generated, then the client gave up: paid"


def test_a_wrong_key_is_refused_with_401(emulator: ImagesAPIEmulator) -> None:
    with _client(emulator, key="sk-not-the-right-one") as client:
        answer = client.post("/images/generations", json=GENERATE)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"
    (refused,) = emulator.requests
    assert refused.auth_scheme is None
    assert "sk-not-the-right-one" not in json.dumps(refused.headers)


def test_azure_deployment_paths_need_the_api_key_header_and_an_api_version(emulator: ImagesAPIEmulator) -> None:
    path = "/openai/deployments/my%20images/images/generations"
    with httpx.Client(transport=emulator.transport(), base_url=emulator.root_url) as client:
        answer = client.post(
            path, params={"api-version": "2025-04-01-preview"}, json=GENERATE, headers={"api-key": emulator.api_key}
        )
        unversioned = client.post(path, json=GENERATE, headers={"api-key": emulator.api_key})
        bearer = client.post(
            path, params={"api-version": "x"}, json=GENERATE, headers={"Authorization": f"Bearer {emulator.api_key}"}
        )
    assert answer.status_code == 200
    assert unversioned.status_code == 404
    assert bearer.status_code == 401
    first = emulator.requests[0]
    assert (first.path, first.endpoint, first.auth_scheme) == (path, "generations", "api-key")
    assert first.query == {"api-version": ["2025-04-01-preview"]}
    assert first.headers["api-key"] == "<redacted>"


# -- async and the provider's client ----------------------------------------------------------------


def test_the_async_path_answers_and_does_not_block_the_event_loop_while_waiting(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.slow(0.5, times=2), Fault.drop_connection())
    headers = {"Authorization": f"Bearer {emulator.api_key}"}

    async def scenario() -> tuple[list[httpx.Response], float, BaseException | None]:
        async with httpx.AsyncClient(
            transport=emulator.transport(), base_url=emulator.base_url, headers=headers
        ) as client:
            started = time.monotonic()
            answers = await asyncio.gather(*(client.post("/images/generations", json=GENERATE) for _ in range(2)))
            elapsed = time.monotonic() - started
            try:
                await client.post("/images/generations", json=GENERATE)
            except httpx.RemoteProtocolError as error:
                return list(answers), elapsed, error
            return list(answers), elapsed, None

    answers, elapsed, dropped = asyncio.run(scenario())
    assert [answer.status_code for answer in answers] == [200, 200]
    assert decode(base64.b64decode(answers[0].json()["data"][0]["b64_json"])).size == (1024, 1024)
    assert elapsed < 0.95, "the two 0.5 s waits overlapped: asyncio.sleep, not time.sleep"
    assert isinstance(dropped, httpx.RemoteProtocolError)
    assert emulator.billed_images == 2


def test_images_client_round_trips_a_generation_with_the_emulator_never_started(
    emulator: ImagesAPIEmulator,
) -> None:
    settings = ClientSettings(api_key=emulator.api_key, base_url=emulator.base_url, retry=RetryPolicy(max_retries=1))
    emulator.inject(Fault.server_error(503))
    with ImagesClient(settings, transport=emulator.transport(), sleep=lambda _: None) as client:
        response = client.send(GenerateRequest(prompt="a lighthouse", model="gpt-image-2.5-flare", size="1536x1024"))
        client.list_models()
    assert decode(response.data[0].decode()).size == (1536, 1024)
    assert response.request_id is not None
    assert [(r.endpoint, r.status) for r in emulator.requests] == [
        ("generations", 503),
        ("generations", 200),
        ("models", 200),
    ]
    assert emulator.requests[1].headers["host"] == "images-api.emulator.invalid"
    assert emulator.billed_images == 1


def test_the_in_process_fixture_points_the_default_connection_at_the_emulator(emulator: ImagesAPIEmulator) -> None:
    from airflow_provider_openai_images.hooks import OpenAIImagesHook

    settings = OpenAIImagesHook().settings
    assert (settings.base_url, settings.api_key) == (emulator.base_url, emulator.api_key)
    emulator.compatible_server = True
    with ImagesClient(settings, transport=emulator.transport()) as client:
        response = client.send(GenerateRequest(prompt="a kite", model="dall-e-2", size="256x256"))
        assert response.data[0].url is not None
    with httpx.Client(transport=emulator.transport()) as downloader:
        assert downloader.get(response.data[0].url).status_code == 200
    assert [download.status for download in emulator.downloads] == [200]
