"""URL answers are fetched with https only on every hop, under a size cap, without the API key."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_openai_images.core.downloads import MAX_DOWNLOAD_BYTES, download_image
from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError
from tests.imagefactory import picture


def host(request: httpx.Request) -> httpx.Response:
    """``/to-http`` redirects to plain http; ``/huge`` streams one byte more than the default cap."""
    if request.url.path == "/to-http":
        return httpx.Response(302, headers={"Location": "http://images.example.com/a.png"})
    if request.url.path == "/huge":

        def chunks() -> Iterator[bytes]:
            block = b"\0" * (1 << 20)
            for _ in range(MAX_DOWNLOAD_BYTES // len(block)):
                yield block
            yield b"\0"

        return httpx.Response(200, content=chunks())
    assert "authorization" not in request.headers
    return httpx.Response(200, content=picture(8, 8))


def test_an_https_answer_that_redirects_to_plain_http_is_refused() -> None:
    with pytest.raises(OpenAIImagesResponseError, match=r"Refusing to download an image over http://"):
        download_image("https://images.example.com/to-http", transport=httpx.MockTransport(host))


def test_the_default_cap_is_64_mb_and_a_larger_answer_is_refused_while_streaming() -> None:
    assert MAX_DOWNLOAD_BYTES == 64 * 1024 * 1024
    with pytest.raises(OpenAIImagesResponseError, match=f"larger than {MAX_DOWNLOAD_BYTES} bytes"):
        download_image("https://images.example.com/huge", transport=httpx.MockTransport(host))


def test_a_plain_https_answer_is_fetched_without_credentials() -> None:
    assert download_image("https://images.example.com/a.png", transport=httpx.MockTransport(host)) == picture(8, 8)
