"""What the core answers, independent of how it travels: a :class:`Reply`, whose body is either bytes
in memory or a :class:`StreamedBody` read from a file in chunks (``GET /files/{id}/content``), so that
a file of hundreds of MB is never held whole by the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

Delivery = Literal["whole", "drop", "truncate"]

#: how much of a streamed body is read and sent at a time
CHUNK_SIZE = 64 * 1024


class StreamedBody:
    """A body of ``length`` bytes read from ``handle`` in chunks of :data:`CHUNK_SIZE`.

    The file is opened when the reply is made, so deleting it (``DELETE /files/{id}``, ``reset()``)
    while it is being sent does not cut the answer short. Reading to the end, or :meth:`close`,
    closes it.
    """

    def __init__(self, handle: BinaryIO, length: int) -> None:
        self._handle = handle
        self.length = length

    def chunks(self, limit: int | None = None) -> Iterator[bytes]:
        """The body's chunks, up to ``limit`` bytes (all of it by default); closes the file after."""
        remaining = self.length if limit is None else min(limit, self.length)
        try:
            while remaining > 0:
                chunk = self._handle.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self._handle.close()


@dataclass
class Reply:
    """One answer, independent of how it travels.

    :param status: the HTTP status (``0`` for ``drop``: nothing is sent).
    :param body: the whole body, unless ``stream`` is set; ``Content-Length`` always announces all of it.
    :param stream: a body read from a file in chunks instead of ``body``.
    :param delay: seconds to wait before answering (the emulator's latency plus a ``Fault.slow``).
    :param delivery: ``whole``; ``drop``: close the connection without answering; ``truncate``: send
        the headers and the first half of the body, then close.

    Billing is not the reply's business: the core has billed any images it carries already.
    """

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    delivery: Delivery = "whole"
    stream: StreamedBody | None = None

    @property
    def length(self) -> int:
        """The body's length in bytes, streamed or not."""
        return self.stream.length if self.stream is not None else len(self.body)

    def head(self) -> list[tuple[str, str]]:
        """The response headers to send, in order: type, length, then the reply's own."""
        return [("Content-Type", self.content_type), ("Content-Length", str(self.length)), *self.headers.items()]

    def chunks(self) -> Iterator[bytes]:
        """The body as sent: all of it, or its first half for ``truncate``."""
        limit = self.length // 2 if self.delivery == "truncate" else None
        if self.stream is not None:
            yield from self.stream.chunks(limit)
        else:
            yield self.body if limit is None else self.body[:limit]

    def close(self) -> None:
        """Release a streamed body that will not be sent."""
        if self.stream is not None:
            self.stream.close()


def json_reply(status: int, payload: Any, request_id: str, headers: dict[str, str] | None = None) -> Reply:
    """``payload`` as a JSON reply carrying ``x-request-id``."""
    body = json.dumps(payload).encode()
    return Reply(status, body, headers={"x-request-id": request_id, **(headers or {})})
