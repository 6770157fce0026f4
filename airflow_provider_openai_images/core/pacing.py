"""Keeping a pool of concurrent requests under the account's rate limit.

One :class:`RequestPacer` is shared by every request of a pool. It spaces requests evenly to at most
``images_per_minute`` (no burst: the server's limiter is continuous too), holds back every new
request when the server answers 429 with a ``Retry-After`` (not only the request that got it), and
reads ``x-ratelimit-remaining-*`` / ``x-ratelimit-reset-*`` to stop before a 429 when the server says
nothing is left. Requests already in flight are not affected.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping

from airflow_provider_openai_images.core.numbers import strict_float, strict_int
from airflow_provider_openai_images.core.retry import parse_retry_after

log = logging.getLogger(__name__)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
#: the pairs of headers that say how much is left and when it comes back
_LIMIT_HEADERS = (
    ("x-ratelimit-remaining-images", "x-ratelimit-reset-images"),
    ("x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"),
)


def parse_reset(value: str | None) -> float | None:
    """``"6m0s"``, ``"1.5s"``, ``"20ms"``, ``"1h2m3s"`` or a plain number of seconds -> seconds."""
    if not value:
        return None
    if (seconds := strict_float(value)) is not None:
        return max(seconds, 0.0)
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value.strip():
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


class RequestPacer:
    """The pace of one pool of requests.

    :param images_per_minute: the most images to ask for per minute; ``None`` for no pacing (the pause
        on a 429 and on exhausted limits still applies).
    :param clock: monotonic seconds (injectable for tests).
    :param sleep: how to wait (injectable for tests).
    """

    def __init__(
        self,
        images_per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if images_per_minute is not None and images_per_minute <= 0:
            raise ValueError(f"images_per_minute must be positive, got {images_per_minute}")
        self._seconds_per_image = 60.0 / images_per_minute if images_per_minute else None
        self._clock = clock
        self._sleep = sleep
        self._next_slot = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    @property
    def paused_until(self) -> float:
        """The clock reading before which no new request starts."""
        return self._paused_until

    async def before_request(self, images: int = 1) -> None:
        """Wait for this request's turn: after any pause, and at its slot in the even pace."""
        async with self._lock:  # waiters take their turns in order
            while True:
                now = self._clock()
                ready = max(self._paused_until, self._next_slot if self._seconds_per_image else now)
                if ready <= now:
                    break
                await self._sleep(ready - now)
            if self._seconds_per_image:
                self._next_slot = max(self._next_slot, now) + images * self._seconds_per_image

    def pause_for(self, seconds: float, reason: str) -> None:
        """Hold back every new request for ``seconds`` from now."""
        until = self._clock() + seconds
        if until > self._paused_until:
            self._paused_until = until
            log.warning("Holding back new requests for %.1fs: %s", seconds, reason)

    def after_response(self, status_code: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer: a 429's ``Retry-After`` pauses everyone; an exhausted limit pauses until it resets."""
        lowered = {name.lower(): value for name, value in headers.items()}
        if status_code == 429 and (retry_after := parse_retry_after(lowered)) is not None:
            self.pause_for(retry_after, f"the server answered 429 with Retry-After {retry_after:g}s")
            return
        for remaining_header, reset_header in _LIMIT_HEADERS:
            remaining, reset = lowered.get(remaining_header), parse_reset(lowered.get(reset_header))
            if reset and (left := strict_int(remaining)) is not None and left <= 0:
                self.pause_for(reset, f"{remaining_header} is 0, resets in {reset:g}s")
                return
