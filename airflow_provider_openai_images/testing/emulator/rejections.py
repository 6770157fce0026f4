""":class:`RequestRejected`: a request the emulated API refuses, with the error answer to send."""

from __future__ import annotations

from typing import Any


class RequestRejected(Exception):
    """A request the API refuses; ``status`` and ``body`` are the error answer to send."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
