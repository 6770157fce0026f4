"""The retry policy on its own: Retry-After forms, x-should-retry, capped jittered backoff."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from airflow_provider_openai_images.core.retry import RetryPolicy, parse_retry_after, should_retry_status
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesConnectionError,
    OpenAIImagesResponseError,
    OpenAIImagesValidationError,
    error_for_status,
)


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "1500", "Retry-After": "30"}) == 1.5


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    now = 1_800_000_000.0
    assert parse_retry_after({"Retry-After": formatdate(now + 20, usegmt=True)}, now=now) == pytest.approx(20)
    assert parse_retry_after({"Retry-After": formatdate(now - 20, usegmt=True)}, now=now) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (408, {}, True),
        (409, {}, True),
        (429, {}, True),
        (500, {}, True),
        (503, {}, True),
        (400, {}, False),
        (401, {}, False),
        (404, {}, False),
        (500, {"x-should-retry": "false"}, False),
        (400, {"X-Should-Retry": "true"}, True),
    ],
)
def test_which_statuses_are_retried(status: int, headers: dict[str, str], expected: bool) -> None:
    assert should_retry_status(status, headers) is expected


def test_backoff_doubles_is_capped_and_jittered_downwards_only() -> None:
    exact = RetryPolicy(initial_delay=0.5, max_delay=8.0, random=lambda: 0.0)
    assert [exact.backoff(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    most_jitter = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.25, random=lambda: 1.0)
    assert most_jitter.backoff(1) == pytest.approx(0.375)
    assert most_jitter.backoff(10) == pytest.approx(6.0)


def test_server_delay_is_honoured_up_to_the_cap_and_beyond_it_the_error_is_final() -> None:
    policy = RetryPolicy(max_retry_after=60.0, random=lambda: 0.0)
    honoured = error_for_status(429, None, request_id=None, retry_after=12.0, should_retry=True)
    assert policy.is_retryable(honoured)
    assert policy.delay_for(honoured, 1) == 12.0
    too_long = error_for_status(429, None, request_id=None, retry_after=3600.0, should_retry=True)
    assert not policy.is_retryable(too_long)


@pytest.mark.parametrize("code", ["content_policy_violation", "moderation_blocked", "content_filter"])
def test_content_policy_rejections_are_never_retried(code: str) -> None:
    error = error_for_status(400, {"error": {"message": "no", "code": code}}, request_id="r", should_retry=True)
    assert type(error).__name__ == "OpenAIImagesContentPolicyError"
    assert not RetryPolicy().is_retryable(error)


def test_errors_without_response_and_bad_bodies_are_retried_validation_errors_not() -> None:
    policy = RetryPolicy()
    assert policy.is_retryable(OpenAIImagesConnectionError("reset"))
    assert policy.is_retryable(OpenAIImagesResponseError("truncated"))
    assert not policy.is_retryable(OpenAIImagesValidationError("n", 11, "1 to 10"))


def test_negative_retry_count_is_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
