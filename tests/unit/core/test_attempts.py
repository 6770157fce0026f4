"""Every HTTP attempt is recorded, and failures after which the images may have been billed are told
apart from those where the request was certainly not processed."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from airflow_provider_openai_images.core.client import ClientSettings, ImagesClient
from airflow_provider_openai_images.core.requests import GenerateRequest
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesConnectionError,
    OpenAIImagesError,
    OpenAIImagesModelNotFoundError,
)
from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator

MakeClient = Callable[..., ImagesClient]
GENERATE = GenerateRequest(prompt="an otter", model="gpt-image-2.5-flare", n=2, size="1024x1024", quality="low")
MODEL_NOT_FOUND = Fault(
    "status",
    status=404,
    error={"message": "The model `dall-e-3` does not exist or you do not have access to it.",
           "type": "invalid_request_error", "param": None, "code": "model_not_found"},
)  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "first"),
    [
        (Fault.server_error(503), ("refused", 503, False)),
        (Fault.rate_limit(0.1), ("refused", 429, False)),
        (Fault("status", status=408), ("refused", 408, False)),
        (Fault.drop_connection(), ("failed", None, True)),
        (Fault.truncated_body(), ("failed", None, True)),
        (Fault.non_json_body(), ("failed", 200, True)),
        (Fault.slow(1.0), ("failed", None, True)),
    ],
    ids=["503", "429", "408", "dropped", "truncated", "non-json", "read timeout"],
)
def test_each_attempt_is_recorded_with_whether_it_may_have_been_billed(
    fault: Fault, first: tuple[str, int | None, bool], make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    emulator.inject(fault)
    response = make_client(timeout=0.3).send(GENERATE)
    failed, answered = response.attempts
    assert (failed.outcome, failed.status, failed.possibly_billed) == first
    assert (failed.attempt, failed.images_asked) == (1, 2)
    assert failed.started_at.endswith("+00:00")
    assert (answered.attempt, answered.outcome, answered.status, answered.possibly_billed) == (
        2,
        "answered",
        200,
        False,
    )
    assert answered.images_answered == 2
    assert answered.request_id == response.request_id


def test_connect_errors_are_certainly_not_billed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    settings = ClientSettings(api_key="sk-x", base_url="https://api.example.com/v1", retry=RetryPolicy(max_retries=1))
    with pytest.raises(OpenAIImagesConnectionError) as raised:
        ImagesClient(settings, transport=httpx.MockTransport(refuse), sleep=lambda _: None).send(GENERATE)
    assert raised.value.possibly_billed is False
    assert [(a.outcome, a.error, a.possibly_billed) for a in raised.value.attempt_log] == [
        ("failed", "ConnectError", False)
    ] * 2
    assert "may have been billed" not in str(raised.value)


@pytest.mark.parametrize("fault", [Fault.drop_connection(), Fault.truncated_body(), Fault.slow(1.0)])
def test_without_retry_possibly_billed_one_request_is_sent_and_the_error_says_so(
    fault: Fault, make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    emulator.inject(fault)
    with pytest.raises(OpenAIImagesError) as raised:
        make_client(retry_possibly_billed=False, timeout=0.3).send(GENERATE)
    assert len(emulator.requests) == 1
    assert raised.value.possibly_billed
    assert "may have been billed" in str(raised.value)
    (attempt,) = raised.value.attempt_log
    assert attempt.possibly_billed


def test_without_retry_possibly_billed_what_was_certainly_not_processed_is_still_retried(
    make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    emulator.inject(Fault.server_error(503), Fault.rate_limit(0.1))
    response = make_client(retry_possibly_billed=False).send(GENERATE)
    assert [attempt.status for attempt in response.attempts] == [503, 429, 200]


def test_model_not_found_is_not_retried_and_names_the_replacement(
    make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    emulator.inject(MODEL_NOT_FOUND)
    with pytest.raises(OpenAIImagesModelNotFoundError) as raised:
        make_client(max_retries=3).send(GenerateRequest(prompt="x", model="dall-e-3"))
    assert len(emulator.requests) == 1
    assert "does not serve model 'dall-e-3': OpenAI shut it down on 2026-05-12; use 'gpt-image-2.5-flare'" in str(
        raised.value
    )
    assert raised.value.status_code == 404


@pytest.mark.usefixtures("compatible_server")
def test_a_shut_down_model_on_openai_s_own_api_is_warned_about_and_still_sent(
    emulator: ImagesAPIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    openai = ClientSettings(api_key=emulator.api_key, base_url="https://api.openai.com/v1")
    ImagesClient(openai, transport=emulator.transport()).send(GenerateRequest(prompt="x", model="dall-e-3"))
    assert "OpenAI shut 'dall-e-3' down on 2026-05-12: use 'gpt-image-2.5-flare' instead" in caplog.text
    caplog.clear()
    elsewhere = ClientSettings(api_key=emulator.api_key, base_url="https://images.example.com/v1")
    ImagesClient(elsewhere, transport=emulator.transport()).send(GenerateRequest(prompt="x", model="dall-e-2"))
    assert "shut" not in caplog.text
    assert len(emulator.requests) == 2
