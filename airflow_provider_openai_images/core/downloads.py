"""Fetching the images of ``url`` answers: with a client of their own that never carries the API key.

The URLs point at a storage host, not at the API, and expire after 60 minutes, so they are fetched
at once. httpx is imported at the top: nothing that a DAG file imports may import this module.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx

from airflow_provider_openai_images.core.responses import GeneratedImage
from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError

#: Largest image we download from a URL answer (GPT image inputs are capped at 50 MB; outputs are smaller).
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
MAX_REDIRECTS = 3
_EXPIRED_STATUSES = (401, 403, 404, 410)


def download_image(
    url: str,
    *,
    allow_http: bool = False,
    timeout: float = 120.0,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    transport: httpx.BaseTransport | None = None,
) -> bytes:
    """The bytes at ``url``, fetched by a fresh client without the API key or any Authorization header.

    Only ``https`` is accepted, on every redirect hop too, unless ``allow_http`` (the connection's
    ``allow_http_image_urls`` extra, for the emulator); at most 3 redirects are followed, and bodies
    above ``max_bytes`` are refused while streaming. Every hop's host is resolved first, and a host
    with a private, loopback, link-local or otherwise non-public address is refused (loopback is
    allowed with ``allow_http``, where the emulator serves): an answer cannot send the worker to a
    cloud metadata service or an internal host. (The connection resolves the name again: a DNS answer
    that changes in between is not covered.) With a ``transport`` (tests), nothing is resolved.

    :raises OpenAIImagesResponseError: for an expired URL, a refused scheme, too many redirects, a
        body over the cap or a failed transfer.
    """

    def refuse_plain_http(request: httpx.Request) -> None:
        if request.url.scheme != "https" and not (allow_http and request.url.scheme == "http"):
            raise OpenAIImagesResponseError(
                f"Refusing to download an image over {request.url.scheme}:// (https only unless the connection "
                "sets allow_http_image_urls)"
            )

    def refuse_private_hosts(request: httpx.Request) -> None:
        refuse_non_public_host(request.url.host, request.url.port or 443, allow_loopback=allow_http)

    hooks = [refuse_plain_http] if transport is not None else [refuse_plain_http, refuse_private_hosts]
    client = httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        event_hooks={"request": hooks},
        transport=transport,
    )
    try:
        with client, client.stream("GET", url) as response:
            if response.status_code in _EXPIRED_STATUSES:
                raise OpenAIImagesResponseError(
                    f"The image URL answered {response.status_code}: it has expired (URLs last 60 minutes) or "
                    "was never valid. Regenerate, or ask for response_format='b64_json'.",
                    status_code=response.status_code,
                )
            if not response.is_success:
                raise OpenAIImagesResponseError(
                    f"Downloading the image failed with HTTP {response.status_code}", status_code=response.status_code
                )
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise OpenAIImagesResponseError(f"The image at the URL is larger than {max_bytes} bytes")
                chunks.append(chunk)
    except httpx.TooManyRedirects:
        raise OpenAIImagesResponseError(f"The image URL redirected more than {MAX_REDIRECTS} times") from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise OpenAIImagesResponseError(f"Downloading the image failed: {type(error).__name__}: {error}") from None
    return b"".join(chunks)


def refuse_non_public_host(host: str, port: int, *, allow_loopback: bool = False) -> None:
    """Refuse ``host`` unless every address it resolves to is public (loopback too with ``allow_loopback``).

    :raises OpenAIImagesResponseError: naming the host and the address, or saying it does not resolve.
    """
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError) as error:
        raise OpenAIImagesResponseError(f"The image host {host!r} does not resolve: {error}") from None
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_global or (allow_loopback and ip.is_loopback):
            continue
        raise OpenAIImagesResponseError(
            f"Refusing to download an image from {host!r}: it resolves to {address}, which is not a public address "
            "(private, loopback, link-local or reserved)"
        )


def image_bytes(
    image: GeneratedImage, *, allow_http: bool = False, transport: httpx.BaseTransport | None = None
) -> bytes:
    """The bytes of one answered image: decoded from ``b64_json``, or downloaded from its ``url`` at once."""
    if image.is_base64:
        return image.decode()
    return download_image(str(image.url), allow_http=allow_http, transport=transport)
