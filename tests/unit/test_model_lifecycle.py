"""The hook asks the Models API (free) whether a model is still served before the first paid call, once per
process: a model OpenAI no longer serves fails before anything is paid, a shutdown soon is a warning, and a
lookup that fails never blocks the request."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from airflow_provider_openai_images.exceptions import OpenAIImagesModelNotFoundError
from airflow_provider_openai_images.hooks import OpenAIImagesHook
from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator


@pytest.fixture
def openai_like(emulator: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch) -> OpenAIImagesHook:
    """A hook on a connection that checks lifecycles wherever it points (``model_lifecycle="openai"``), as on
    api.openai.com."""
    for name, value in emulator.connection_env(model_lifecycle="openai").items():
        monkeypatch.setenv(name, value)
    return OpenAIImagesHook(transport=emulator.transport())


def paid(emulator: ImagesAPIEmulator) -> list[str]:
    return [request.endpoint or "" for request in emulator.requests if request.endpoint != "model"]


def test_a_shut_down_model_fails_before_any_paid_call_naming_its_date_and_replacement(
    openai_like: OpenAIImagesHook, emulator: ImagesAPIEmulator
) -> None:
    with pytest.raises(OpenAIImagesModelNotFoundError) as raised:
        openai_like.generate("a fox", model="gpt-image-1.5")
    message = str(raised.value)
    assert "OpenAI shut it down on 2026-12-01" in message
    assert "use 'gpt-image-2.5-sunburst' (or 'gpt-image-2.5-flare') instead" in message
    assert "Nothing was sent to the Images API" in message
    assert [(r.method, r.path) for r in emulator.requests] == [("GET", "/v1/models/gpt-image-1.5")]
    assert emulator.billed_images == 0


def test_the_models_api_is_asked_once_per_process_per_model(
    openai_like: OpenAIImagesHook, emulator: ImagesAPIEmulator
) -> None:
    openai_like.generate("a fox", model="gpt-image-2.5-flare")
    OpenAIImagesHook(transport=emulator.transport()).generate("an owl", model="gpt-image-2.5-flare")
    openai_like.generate("a hare", model="gpt-image-2")
    lookups = [request.path for request in emulator.requests_to("model")]
    assert lookups == ["/v1/models/gpt-image-2.5-flare", "/v1/models/gpt-image-2"]
    assert paid(emulator) == ["generations"] * 3


def test_a_shutdown_within_30_days_is_a_warning_and_one_past_is_a_refusal(
    openai_like: OpenAIImagesHook, emulator: ImagesAPIEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    soon = (date.today() + timedelta(days=12)).isoformat()
    emulator.shutdown_dates["gpt-image-2"] = soon
    emulator.shutdown_dates["gpt-image-2.5-flare"] = (date.today() - timedelta(days=1)).isoformat()
    openai_like.generate("a fox", model="gpt-image-2")
    assert f"OpenAI shuts 'gpt-image-2' down on {soon}, in 12 days" in capfd.readouterr().out
    with pytest.raises(OpenAIImagesModelNotFoundError, match=r"OpenAI shut 'gpt-image-2\.5-flare' down on"):
        openai_like.generate("a fox", model="gpt-image-2.5-flare")
    assert paid(emulator) == ["generations"]


def test_a_failed_lookup_never_blocks_the_request(
    openai_like: OpenAIImagesHook, emulator: ImagesAPIEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    emulator.inject(Fault.server_error(503, endpoint="model"))
    openai_like.generate("a fox", model="gpt-image-2.5-flare")
    assert "Could not ask the Models API about 'gpt-image-2.5-flare'" in capfd.readouterr().out
    assert [request.endpoint for request in emulator.requests] == ["model", "generations"], "asked once, no retry"


def test_lookups_are_made_only_where_the_connection_says(emulator: ImagesAPIEmulator) -> None:
    """The emulator's address is not api.openai.com: with ``model_lifecycle`` at its default (``auto``) nothing
    is asked, and the Images API's own 404 is explained from the catalogue instead."""
    hook = OpenAIImagesHook(transport=emulator.transport())
    with pytest.raises(OpenAIImagesModelNotFoundError) as raised:
        hook.generate("a fox", model="gpt-image-1.5")
    assert "OpenAI shut it down on 2026-12-01" in str(raised.value)
    assert [request.endpoint for request in emulator.requests] == ["generations"]
    assert emulator.billed_images == 0


def test_a_model_named_only_in_the_models_extra_is_checked_from_it(
    emulator: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.extra_models["acme-image-3"] = "gpt-image-2.5-flare"
    entry = {"extends": "gpt-image-2.5-flare", "sizes": ["1024x1024"], "prices": {"image_output": 20}}
    for name, value in emulator.connection_env(model_lifecycle="openai", models={"acme-image-3": entry}).items():
        monkeypatch.setenv(name, value)
    hook = OpenAIImagesHook(transport=emulator.transport())
    with pytest.raises(ValueError, match=r"Invalid size='2048x1152' for model 'acme-image-3'"):
        hook.generate("a fox", model="acme-image-3", size="2048x1152")
    assert emulator.requests == []
    hook.generate("a fox", model="acme-image-3", size="1024x1024")
    assert [request.endpoint for request in emulator.requests] == ["model", "generations"]
    prices = hook.prices.for_model("acme-image-3")
    assert prices is not None
    assert (prices.image_output, prices.text_input) == (20.0, 5.0)


def test_connections_test_lists_the_image_models_with_their_shutdown_dates(emulator: ImagesAPIEmulator) -> None:
    emulator.shutdown_dates["gpt-image-2"] = "2027-03-01"
    ok, message = OpenAIImagesHook(transport=emulator.transport()).test_connection()
    assert ok
    assert "gpt-image-2 (shuts down 2027-03-01)" in message
    assert "gpt-image-2.5-flare," in message
    assert "gpt-image-1.5" not in message, "OpenAI no longer lists it"
