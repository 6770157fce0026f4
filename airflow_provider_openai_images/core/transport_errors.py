"""What a failed HTTP exchange with the Images API means: which typed error, and whether the
request may already have been billed.

Connecting, waiting for a pooled connection and writing the body happen before the server can process
a request; a read timeout, a read error or a connection closed while waiting for the answer happen
after it may have generated (and billed) the images.
"""

from __future__ import annotations

import httpx

from airflow_provider_openai_images.core.retry import parse_retry_after, should_retry_status
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesAPIError,
    OpenAIImagesConnectionError,
    OpenAIImagesTimeoutError,
    error_for_status,
)

#: Failures after the request was sent: the server may have generated (and billed) the images.
_AFTER_SENDING = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def transport_failure(label: str, error: httpx.TransportError) -> OpenAIImagesConnectionError:
    """The typed error for a request that got no answer, saying whether it may have been billed.

    Connecting, waiting for a pooled connection and writing the body happen before the server can
    process the request; a read timeout, a read error or a connection closed while waiting for the
    answer happen after it may have.
    """
    possibly_billed = isinstance(error, _AFTER_SENDING)
    if isinstance(error, httpx.TimeoutException):
        message = f"{label}: {type(error).__name__} (no answer in time)"
        return OpenAIImagesTimeoutError(message, possibly_billed=possibly_billed)
    return OpenAIImagesConnectionError(f"{label}: {type(error).__name__}: {error}", possibly_billed=possibly_billed)


def refusal_for(response: httpx.Response) -> OpenAIImagesAPIError:
    """The typed error for an error status, with the server's retry hints."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return error_for_status(
        response.status_code,
        body,
        request_id=request_id(response),
        retry_after=parse_retry_after(response.headers),
        should_retry=should_retry_status(response.status_code, response.headers),
        fallback_text=response.text[:200],
    )


def request_id(response: httpx.Response) -> str | None:
    return response.headers.get("x-request-id") or response.headers.get("apim-request-id")
