"""The emulator without sockets: an httpx transport, sync and async, answering through the core.

``httpx.Client(transport=emulator.transport())`` and ``httpx.AsyncClient(transport=...)`` reach the
emulated API and its image host in-process, whatever host the URL names: paths under ``/files/`` go
to the image host, everything else to the API. Requests are parsed exactly as the HTTP server parses
them. Faults come out as httpx would report them over a socket: a dropped connection and a truncated
body raise :class:`httpx.RemoteProtocolError`, and an answer slower than the read timeout raises
:class:`httpx.ReadTimeout` after waiting that long. Billing is the core's, at generation: a truncated,
timed-out or after-generation dropped answer is paid for, as it is over HTTP. A streamed body (a
file's content) is handed to httpx as a byte stream, read from disk chunk by chunk as the client reads.

Each call counts as in flight (:meth:`EmulatorCore.in_flight`) until the transport returns or raises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from airflow_provider_openai_images.testing.emulator.core import EmulatorCore
from airflow_provider_openai_images.testing.emulator.server.parsing import parse_download, parse_request
from airflow_provider_openai_images.testing.emulator.server.replies import Reply

_IMAGE_HOST_PREFIX = "/files/"


class InProcessTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport (``httpx.BaseTransport`` and ``httpx.AsyncBaseTransport``) bound to one
    :class:`~airflow_provider_openai_images.testing.emulator.core.EmulatorCore`; get one from
    :meth:`ImagesAPIEmulator.transport`.

    Delays (the emulator's latency, ``Fault.slow``) are slept with ``time.sleep`` in the sync path and
    ``asyncio.sleep`` in the async path, for no longer than the request's read timeout.
    """

    def __init__(self, core: EmulatorCore) -> None:
        self._core = core

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._core.in_flight():
            reply = self._reply(request, request.read())
            wait, timed_out = _wait(reply, request)
            if wait > 0:
                time.sleep(wait)
            return _response(reply, request, timed_out=timed_out)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with self._core.in_flight():
            reply = self._reply(request, await request.aread())
            wait, timed_out = _wait(reply, request)
            if wait > 0:
                await asyncio.sleep(wait)
            return _response(reply, request, timed_out=timed_out)

    def _reply(self, request: httpx.Request, body: bytes) -> Reply:
        target = request.url.raw_path.decode("ascii")
        headers = request.headers.multi_items()
        to_image_host = target.startswith(_IMAGE_HOST_PREFIX)
        if request.method not in (("GET",) if to_image_host else ("GET", "POST", "DELETE")):
            # what http.server answers for a method its handler lacks
            return Reply(501, f"Unsupported method ({request.method!r})".encode(), "text/html;charset=utf-8")
        if to_image_host:
            return self._core.serve_file(*parse_download(target, headers))
        return self._core.answer(
            parse_request(request.method, target, headers, body, api_key=self._core.settings.api_key)
        )


def _wait(reply: Reply, request: httpx.Request) -> tuple[float, bool]:
    """How long to wait before answering, and whether the client's read timeout runs out first."""
    read_timeout = (request.extensions.get("timeout") or {}).get("read")
    if read_timeout is None or reply.delay <= read_timeout:
        return reply.delay, False
    return read_timeout, True


def _response(reply: Reply, request: httpx.Request, *, timed_out: bool) -> httpx.Response:
    if timed_out:
        reply.close()
        raise httpx.ReadTimeout("timed out", request=request)
    if reply.delivery == "drop":
        reply.close()
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    if reply.delivery == "truncate" or reply.stream is not None:
        return httpx.Response(reply.status, headers=reply.head(), stream=_ReplyStream(reply, request))
    return httpx.Response(reply.status, headers=reply.head(), content=reply.body)


class _ReplyStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A reply's body as the client reads it: chunk by chunk from disk for a streamed one; for a
    ``truncate``, half of a body whose ``Content-Length`` announced all of it, then the peer is gone."""

    def __init__(self, reply: Reply, request: httpx.Request) -> None:
        self._reply = reply
        self._request = request

    def _peer_gone(self) -> httpx.RemoteProtocolError:
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body: "
            f"received {self._reply.length // 2} bytes, expected {self._reply.length}",
            request=self._request,
        )

    def __iter__(self) -> Iterator[bytes]:
        yield from self._reply.chunks()
        if self._reply.delivery == "truncate":
            raise self._peer_gone()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._reply.chunks():
            yield chunk
        if self._reply.delivery == "truncate":
            raise self._peer_gone()

    def close(self) -> None:
        self._reply.close()

    async def aclose(self) -> None:
        self._reply.close()
