"""The httpx client against the emulator over real sockets, for what only a socket shows: connections
dropped and bodies cut by the peer, read timeouts, an unreachable server, URL answers from the real
image host, and the emulator's own HTTP parsing. Everything else about the client runs in-process in
``tests/unit/core/test_client.py``."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator

import httpx
import pytest

from airflow_provider_openai_images.core.client import ImagesClient
from airflow_provider_openai_images.core.downloads import download_image
from airflow_provider_openai_images.core.requests import GenerateRequest
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesConnectionError,
    OpenAIImagesError,
    OpenAIImagesTimeoutError,
)
from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator
from tests.conftest import Sleeps
from tests.imagefactory import decode, picture

MakeClient = Callable[..., ImagesClient]
GENERATE = GenerateRequest(prompt="an otter", model="gpt-image-2.5-flare", size="1024x1024", quality="low")


@pytest.mark.parametrize(
    ("fault", "billed"),
    [
        (Fault.drop_connection(), 1),
        (Fault.drop_connection(after_generation=True), 2),
        (Fault.truncated_body(), 2),
        (Fault.non_json_body(), 1),
        (Fault.rate_limit(2, form="http-date"), 1),
    ],
    ids=["dropped", "dropped after generation", "truncated", "non-json", "429 http-date"],
)
def test_faults_on_the_wire_are_retried_and_what_was_generated_is_billed(
    fault: Fault, billed: int, make_client: MakeClient, images_api_emulator: ImagesAPIEmulator, sleeps: Sleeps
) -> None:
    images_api_emulator.inject(fault)
    response = make_client().send(GENERATE)
    assert decode(response.data[0].decode()).size == (1024, 1024)
    assert len(images_api_emulator.requests) == 2
    assert len(sleeps) == 1
    images_api_emulator.wait_until_idle()
    assert images_api_emulator.billed_images == billed


def test_a_slow_answer_times_out_and_the_retry_succeeds(
    make_client: MakeClient, images_api_emulator: ImagesAPIEmulator
) -> None:
    images_api_emulator.inject(Fault.slow(1.5))
    with pytest.raises(OpenAIImagesTimeoutError) as raised:
        make_client(max_retries=0, timeout=0.3).send(GENERATE)
    assert isinstance(raised.value, OpenAIImagesConnectionError)
    images_api_emulator.inject(Fault.slow(1.5))
    assert len(make_client(max_retries=1, timeout=0.3).send(GENERATE).data) == 1


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connecting to it is refused, reliably."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])


def test_an_unreachable_server_is_a_connection_error(make_client: MakeClient, refusing_port: int) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{refusing_port}/v1", max_retries=1, connect_timeout=0.5)
    with pytest.raises(OpenAIImagesConnectionError) as raised:
        client.send(GENERATE)
    assert raised.value.attempts == 2


def test_url_answers_come_from_the_image_host_without_the_key_and_expire(
    make_client: MakeClient, images_api_emulator: ImagesAPIEmulator
) -> None:
    images_api_emulator.compatible_server = True  # dall-e-3 answers with URLs, where it is still served
    image = make_client().send(GenerateRequest(prompt="an otter", model="dall-e-3")).data[0]
    assert image.url is not None
    assert image.url.startswith(images_api_emulator.image_host_url)
    assert decode(download_image(image.url, allow_http=True)).size == (1024, 1024)
    images_api_emulator.expire_urls()
    assert httpx.get(image.url).status_code == 403
    assert [download.status for download in images_api_emulator.downloads] == [200, 403]
    assert "authorization" not in images_api_emulator.downloads[0].headers


def test_the_emulator_rejects_over_http_what_the_real_api_rejects(images_api_emulator: ImagesAPIEmulator) -> None:
    """Proof that the emulator would catch a client bug: octet-stream parts and spec violations."""
    images_api_emulator.compatible_server = True  # variations: dall-e-2, where it is still served
    headers = {"Authorization": f"Bearer {images_api_emulator.api_key}"}
    octet = httpx.post(
        f"{images_api_emulator.base_url}/images/variations",
        headers=headers,
        files={"image": ("x.png", picture(64, 64), "application/octet-stream")},
        data={"model": "dall-e-2"},
    )
    assert octet.status_code == 400
    assert "unsupported mimetype" in octet.json()["error"]["message"]
    off_spec = httpx.post(
        f"{images_api_emulator.base_url}/images/generations",
        headers=headers,
        json={"prompt": "x", "model": "gpt-image-2.5-flare", "n": "two"},
    )
    assert off_spec.status_code == 400
    assert off_spec.json()["error"]["param"] == "n"


def test_azure_paths_over_http(make_client: MakeClient, images_api_emulator: ImagesAPIEmulator) -> None:
    client = make_client(base_url=images_api_emulator.root_url, api_type="azure", api_version="2025-04-01-preview")
    assert len(client.send(GENERATE).data) == 1
    (sent,) = images_api_emulator.requests
    assert (sent.path, sent.auth_scheme) == ("/openai/deployments/gpt-image-2.5-flare/images/generations", "api-key")


SECRET = "sk-test-SECRETVALUE-do-not-leak-0123456789"


def test_the_key_never_appears_in_logs_or_errors_over_the_wire(
    images_api_emulator: ImagesAPIEmulator,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(images_api_emulator, "api_key", SECRET)
    caplog.set_level(logging.DEBUG)
    client = make_client(api_key=SECRET, max_retries=1, timeout=0.3)
    images_api_emulator.inject(
        Fault.truncated_body(), Fault.drop_connection(), Fault.slow(1.0), Fault.slow(1.0), Fault.server_error(502)
    )
    texts: list[str] = []
    for _ in range(3):
        try:
            texts.append(repr(client.send(GENERATE)))
        except OpenAIImagesError as error:
            texts += [str(error), repr(error), repr(error.__cause__)]
    assert len(images_api_emulator.requests) == 6
    haystack = "\n".join([*texts, caplog.text])
    assert "SECRETVALUE" not in haystack
    assert caplog.records, "the client logs what it does"
