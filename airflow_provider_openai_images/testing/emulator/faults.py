"""Scripted misbehaviours of the emulated Images API: error answers, dropped and truncated
connections, non-JSON bodies and slow answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour, applied to the next matching request(s).

    :param kind: ``status`` (an error response), ``drop`` (close the socket without answering),
        ``truncate`` (announce a body, send half of it, close), ``non_json`` (200 with HTML) or
        ``delay`` (wait, then answer normally).
    :param endpoint: only requests to this endpoint (``generations``, ``edits``, ``variations``,
        ``models``) match; ``None`` matches all.
    :param times: how many matching requests it applies to.
    """

    kind: Literal["status", "drop", "truncate", "non_json", "delay"]
    status: int = 500
    headers: tuple[tuple[str, str], ...] = ()
    error: dict[str, Any] | None = None
    seconds: float = 0.0
    endpoint: str | None = None
    times: int = 1
    #: send ``Retry-After`` as an HTTP date this many seconds after the moment of the answer
    retry_after_date: float | None = None

    @classmethod
    def rate_limit(
        cls,
        retry_after: float | None = 1,
        *,
        form: Literal["seconds", "http-date", "ms"] = "seconds",
        times: int = 1,
        endpoint: str | None = None,
    ) -> Fault:
        """429 with ``Retry-After`` in seconds, as an HTTP date, or as ``retry-after-ms``."""
        headers: tuple[tuple[str, str], ...] = ()
        if retry_after is not None and form == "seconds":
            headers = (("Retry-After", f"{retry_after:g}"),)
        elif retry_after is not None and form == "ms":
            headers = (("retry-after-ms", f"{retry_after * 1000:g}"),)
        error = {
            "message": "Rate limit reached for images per minute.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
        return cls(
            "status",
            status=429,
            headers=headers,
            error=error,
            times=times,
            endpoint=endpoint,
            retry_after_date=retry_after if form == "http-date" else None,
        )

    @classmethod
    def server_error(cls, status: int = 500, *, times: int = 1, endpoint: str | None = None) -> Fault:
        error = {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        return cls("status", status=status, error=error, times=times, endpoint=endpoint)

    @classmethod
    def content_policy(
        cls,
        flavour: Literal["dall-e", "gpt-image", "azure"] = "gpt-image",
        *,
        times: int = 1,
        endpoint: str | None = None,
    ) -> Fault:
        """The safety system's rejection, as OpenAI's DALL-E, OpenAI's GPT image models or Azure word it."""
        errors: dict[str, dict[str, Any]] = {
            "dall-e": {
                "message": "Your request was rejected as a result of our safety system.",
                "type": "invalid_request_error",
                "param": None,
                "code": "content_policy_violation",
            },
            "gpt-image": {
                "message": "Your request was rejected by the safety system.",
                "type": "image_generation_user_error",
                "param": None,
                "code": "moderation_blocked",
            },
            "azure": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
                "content management policy.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "innererror": {"code": "ResponsibleAIPolicyViolation"},
            },
        }
        return cls("status", status=400, error=errors[flavour], times=times, endpoint=endpoint)

    @classmethod
    def drop_connection(cls, *, times: int = 1, endpoint: str | None = None) -> Fault:
        return cls("drop", times=times, endpoint=endpoint)

    @classmethod
    def truncated_body(cls, *, times: int = 1, endpoint: str | None = None) -> Fault:
        return cls("truncate", times=times, endpoint=endpoint)

    @classmethod
    def non_json_body(cls, *, times: int = 1, endpoint: str | None = None) -> Fault:
        return cls("non_json", times=times, endpoint=endpoint)

    @classmethod
    def slow(cls, seconds: float, *, times: int = 1, endpoint: str | None = None) -> Fault:
        return cls("delay", seconds=seconds, times=times, endpoint=endpoint)
