"""Scripted misbehaviours of the emulated Images API: error answers, dropped and truncated
connections, non-JSON bodies, slow answers and corrupt images.

Billing follows the real API: an image is paid for once it is generated, whatever then happens to the
answer. Faults that strike before generation bill nothing: ``status`` answers, ``non_json`` (a proxy's
error page) and ``drop`` by default. Faults that strike after it bill every image of the answer:
``truncate``, ``delay`` (even when the client gives up waiting), ``corrupt`` and
``drop(after_generation=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour, applied to the next matching request(s).

    Whether the request's images are billed depends on when the fault strikes (see the module): before
    generation (``status``, ``non_json``, ``drop``) nothing is paid; after it (``truncate``, ``delay``,
    ``corrupt``, ``drop`` with ``after_generation``) every generated image is.

    :param kind: ``status`` (an error response), ``drop`` (close the socket without answering),
        ``truncate`` (announce a body, send half of it, close), ``non_json`` (200 with HTML),
        ``delay`` (wait, then answer normally), ``corrupt`` (200 whose images are cut to half
        their bytes) or ``miscount`` (200 with ``images_delta`` more images than asked, or fewer).
    :param endpoint: only requests to this endpoint (``generations``, ``edits``, ``variations``,
        ``models``, ``model``; the Files and Batch APIs' ``files``, ``file``, ``file_content``, ``batches``,
        ``batch``, ``batch_cancel``) match; ``None`` matches all.
    :param times: how many matching requests it applies to.
    :param after_generation: for ``drop``: generate (and bill) the images first, then hang up.
    """

    kind: Literal["status", "drop", "truncate", "non_json", "delay", "corrupt", "miscount"]
    status: int = 500
    headers: tuple[tuple[str, str], ...] = ()
    error: dict[str, Any] | None = None
    seconds: float = 0.0
    endpoint: str | None = None
    times: int = 1
    #: send ``Retry-After`` as an HTTP date this many seconds after the moment of the answer
    retry_after_date: float | None = None
    after_generation: bool = False
    #: for ``miscount``: how many more images than asked the answer carries (negative: fewer)
    images_delta: int = 0

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
    def drop_connection(cls, *, after_generation: bool = False, times: int = 1, endpoint: str | None = None) -> Fault:
        """Close the connection without answering: before generation (nothing billed) or, with
        ``after_generation``, once the images are generated and billed (a reset on the way back)."""
        return cls("drop", times=times, endpoint=endpoint, after_generation=after_generation)

    @classmethod
    def truncated_body(cls, *, times: int = 1, endpoint: str | None = None) -> Fault:
        """Announce the whole body, send half of it, close; the images are billed."""
        return cls("truncate", times=times, endpoint=endpoint)

    @classmethod
    def non_json_body(cls, *, times: int = 1, endpoint: str | None = None) -> Fault:
        """A proxy's HTML error page with status 200, before generation: nothing billed."""
        return cls("non_json", times=times, endpoint=endpoint)

    @classmethod
    def slow(cls, seconds: float, *, times: int = 1, endpoint: str | None = None) -> Fault:
        """Answer ``seconds`` late; the images are billed even if the client stops waiting."""
        return cls("delay", seconds=seconds, times=times, endpoint=endpoint)

    @classmethod
    def miscount(cls, images_delta: int, *, times: int = 1, endpoint: str | None = None) -> Fault:
        """A 200 with ``images_delta`` more images than asked (fewer when negative, at least none): every image
        in the answer is generated and billed, and only those."""
        return cls("miscount", images_delta=images_delta, times=times, endpoint=endpoint)

    @classmethod
    def corrupt_image(cls, *, times: int = 1, endpoint: str | None = None) -> Fault:
        """A 200 whose images are generated (billed) but cut to half their bytes: ``b64_json`` is
        valid base64 of an undecodable file, and a ``url`` serves the cut file."""
        return cls("corrupt", times=times, endpoint=endpoint)
