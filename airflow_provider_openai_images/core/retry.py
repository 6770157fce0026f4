"""When to retry a request to the Images API, and how long to wait.

Modelled on the official openai-python client: connection errors, timeouts, 408, 409, 429 and
5xx are retried; the server's ``x-should-retry`` header overrides that; ``retry-after-ms`` and
``retry-after`` (seconds or an HTTP date) are honoured up to a cap; otherwise a capped exponential
backoff with jitter. Safety-system rejections are never retried. Failures after which the images
may already have been billed are retried only if ``retry_possibly_billed`` allows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from airflow_provider_openai_images.core.numbers import strict_float
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesAPIError,
    OpenAIImagesConnectionError,
    OpenAIImagesContentPolicyError,
    OpenAIImagesResponseError,
)

RETRYABLE_STATUSES = frozenset({408, 409, 429})


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, else ``retry-after`` (seconds or HTTP date)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    milliseconds = lowered.get("retry-after-ms")
    if (number := strict_float(milliseconds)) is not None:
        return max(number / 1000, 0.0)
    value = lowered.get("retry-after")
    if value is None:
        return None
    if (seconds := strict_float(value)) is not None:
        return max(seconds, 0.0)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - (time.time() if now is None else now), 0.0)


def should_retry_status(status_code: int, headers: Mapping[str, str]) -> bool:
    """Whether a response status is worth another attempt, the ``x-should-retry`` header having the last word."""
    verdict = {key.lower(): value for key, value in headers.items()}.get("x-should-retry", "").lower()
    if verdict in ("true", "false"):
        return verdict == "true"
    return status_code in RETRYABLE_STATUSES or status_code >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how patiently to retry.

    :param max_retries: retries after the first attempt (0 disables retrying); a 429's retries do not count
        while the request's waits for 429s add up to no more than ``max_retry_after`` (a 429 bills nothing).
    :param initial_delay: first backoff delay in seconds, doubled at every retry.
    :param max_delay: cap of the exponential backoff.
    :param max_retry_after: the longest server-requested wait we accept; a longer ``Retry-After``
        fails fast with an error that says when to try again, instead of blocking a worker slot.
    :param jitter: fraction of the backoff removed at random (0.25 removes up to a quarter).
    :param retry_possibly_billed: also retry failures after which the images may have been billed (no
        answer in time, connection lost, a cut or non-JSON 200). ``True`` by default, since the images
        are lost otherwise; each such attempt is recorded. ``False`` gives up at once instead of
        risking a second payment.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25
    retry_possibly_billed: bool = True
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")

    def backoff(self, retry_number: int) -> float:
        """Delay before retry ``retry_number`` (1-based) when the server gave no hint."""
        delay = min(self.initial_delay * 2 ** (retry_number - 1), self.max_delay)
        return delay * (1 - self.jitter * self.random())

    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` may succeed on another attempt (regardless of attempts left)."""
        if isinstance(error, OpenAIImagesContentPolicyError):
            return False
        if getattr(error, "possibly_billed", False) and not self.retry_possibly_billed:
            return False
        if isinstance(error, OpenAIImagesAPIError):
            too_long = error.retry_after is not None and error.retry_after > self.max_retry_after
            return error.should_retry and not too_long
        return isinstance(error, (OpenAIImagesConnectionError, OpenAIImagesResponseError))

    def delay_for(self, error: BaseException | None, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` of a retryable ``error``: the server's
        ``Retry-After`` if it gave one (never beyond ``max_retry_after``: such errors are not retryable),
        else backoff."""
        retry_after = error.retry_after if isinstance(error, OpenAIImagesAPIError) else None
        return self.backoff(retry_number) if retry_after is None else retry_after
