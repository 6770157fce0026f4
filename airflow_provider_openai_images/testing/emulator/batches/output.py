"""A batch's output and error files: their lines, and the spool that writes them in another order.

Each executed line is spooled to an anonymous temporary file as soon as it is answered (one
compact JSON object, ``\\n``-terminated); when the batch is finalized, the spool is copied into a
Files API file line by line, in a deterministic shuffle seeded by the batch id, so the output is
never in input order (the API does not keep it either) and never held in memory whole.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Iterator
from typing import IO, Any

from typing_extensions import TypedDict


class LineResponseJSON(TypedDict):
    status_code: int
    request_id: str
    body: dict[str, Any]


class LineErrorJSON(TypedDict):
    code: str
    message: str


class OutputLineJSON(TypedDict):
    """One line of an output or error file."""

    id: str
    custom_id: str
    response: LineResponseJSON | None
    error: LineErrorJSON | None


def answered_line(custom_id: str, status: int, request_id: str, body: dict[str, Any]) -> OutputLineJSON:
    """A line that was executed: its answer (200, to the output file) or its refusal (to the error file)."""
    response = LineResponseJSON(status_code=status, request_id=request_id, body=body)
    return OutputLineJSON(id=_line_id(), custom_id=custom_id, response=response, error=None)


def unexecuted_line(custom_id: str, code: str, message: str) -> OutputLineJSON:
    """A line the batch never executed (expired, cancelled): no response, the batch's error."""
    return OutputLineJSON(
        id=_line_id(), custom_id=custom_id, response=None, error=LineErrorJSON(code=code, message=message)
    )


def _line_id() -> str:
    return f"batch_req_{secrets.token_hex(16)}"


def shuffled_order(count: int, seed: str) -> list[int]:
    """A permutation of ``range(count)`` seeded by ``seed``; never the identity for 2 items or more."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    if count >= 2 and order == sorted(order):
        order = order[1:] + order[:1]
    return order


class Spool:
    """The lines of one output or error file, on disk until :meth:`shuffled` copies them out.

    :param scratch: makes the anonymous temporary file the lines go to.
    """

    def __init__(self, scratch: Callable[[], IO[bytes]]) -> None:
        self._scratch = scratch
        self._file: IO[bytes] | None = None
        self._lines: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return len(self._lines)

    def append(self, line: OutputLineJSON) -> None:
        if self._file is None:
            self._file = self._scratch()
        data = json.dumps(line, separators=(",", ":")).encode() + b"\n"
        self._file.seek(0, 2)
        self._lines.append((self._file.tell(), len(data)))
        self._file.write(data)

    def shuffled(self, seed: str) -> Iterator[bytes]:
        """The spooled lines, one at a time, in :func:`shuffled_order`."""
        if self._file is None:
            return
        for index in shuffled_order(len(self._lines), seed):
            offset, length = self._lines[index]
            self._file.seek(offset)
            yield self._file.read(length)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
