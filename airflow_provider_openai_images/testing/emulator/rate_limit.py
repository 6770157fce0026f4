"""An account's images-per-minute limit, as the emulator enforces it when asked to (``images_per_minute``).

OpenAI limits an organisation's images per minute and enforces such limits over shorter periods than a
minute, so a burst of a minute's worth at once is refused although the minute's total would fit. The
emulator does the same with a token bucket refilled at ``images_per_minute / 60`` images a second that holds
one second's worth (or one request's images, if more): an image request the bucket cannot cover is answered
``429 rate_limit_exceeded`` at once, before anything is generated (so billed nothing), with ``Retry-After``
saying when the bucket will hold it and ``x-ratelimit-*-images`` headers.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field


@dataclass
class ImageRateLimit:
    """The bucket, and what it let through and refused since the last :meth:`reset`."""

    #: image requests refused with a 429
    refused: int = 0
    #: when (``time.monotonic()``) each image request it let through arrived
    accepted: list[float] = field(default_factory=list)
    _tokens: float | None = None
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, images: int, per_minute: float, now: float | None = None) -> float | None:
        """Take ``images`` from the bucket of a ``per_minute`` limit at ``now`` (default: ``time.monotonic()``):
        ``None`` when it held them, else the seconds until it will (nothing is taken)."""
        rate = per_minute / 60
        capacity = max(float(images), rate)
        with self._lock:
            now = time.monotonic() if now is None else now
            tokens = capacity if self._tokens is None else self._tokens + (now - self._last) * rate
            self._tokens, self._last = min(capacity, tokens), now
            if self._tokens >= images:
                self._tokens -= images
                self.accepted.append(now)
                return None
            self.refused += 1
            return (images - self._tokens) / rate

    def peak(self, seconds: float, since: float | None = None) -> int:
        """The most requests let through in any window of ``seconds`` (one ending at each request), of those that
        arrived after ``since`` (a ``time.monotonic()`` reading) if given."""
        with self._lock:
            times = [moment for moment in self.accepted if since is None or moment > since]
        return max(
            (index + 1 - bisect_left(times, moment - seconds, 0, index + 1) for index, moment in enumerate(times)),
            default=0,
        )

    def headers(self, per_minute: float, wait: float) -> dict[str, str]:
        """The headers of a refusal: ``Retry-After`` (seconds) and the ``x-ratelimit-*-images`` family."""
        return {
            "Retry-After": f"{wait:.3f}",
            "x-ratelimit-limit-images": f"{per_minute:g}",
            "x-ratelimit-remaining-images": "0",
            "x-ratelimit-reset-images": f"{wait:.3f}s",
        }

    def reset(self) -> None:
        """A full bucket, and nothing let through or refused yet."""
        with self._lock:
            self._tokens = None
            self.refused = 0
            self.accepted.clear()


#: the answer's body, as OpenAI words it
RATE_LIMITED = {
    "message": "Rate limit reached for images per minute. Please try again later.",
    "type": "requests",
    "param": None,
    "code": "rate_limit_exceeded",
}
