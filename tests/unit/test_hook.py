"""OpenAIImagesHook: connection to settings (constructor wins), the hook's API, connection tests."""

from __future__ import annotations

import json
import logging

import pytest

from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.hooks import OpenAIImagesHook
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.imagefactory import decode, picture, transparent_mask


def _connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "openai_images", **fields}))


def test_connection_fields_and_extras_become_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(
        monkeypatch,
        "full",
        host="https://llm.example.com/v1",
        password="sk-abcdef123456",
        extra={
            "organization": "org-1",
            "project": "proj-1",
            "timeout": "120",
            "max_retries": "5",
            "connect_timeout": 3,
        },
    )
    settings = OpenAIImagesHook("full").settings
    assert settings.base_url == "https://llm.example.com/v1"
    assert (settings.organization, settings.project) == ("org-1", "proj-1")
    assert (settings.timeout, settings.connect_timeout, settings.retry.max_retries) == (120.0, 3.0, 5)
    assert settings.api_type == "openai"


def test_defaults_point_at_openai_with_a_long_read_and_short_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _connection(monkeypatch, "bare", password="sk-abcdef123456")
    settings = OpenAIImagesHook("bare").settings
    assert settings.base_url == "https://api.openai.com/v1"
    assert settings.timeout >= 300
    assert settings.connect_timeout <= 10
    assert settings.retry == RetryPolicy()


def test_constructor_arguments_override_connection_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(
        monkeypatch,
        "over",
        host="https://a.example.com/v1",
        password="sk-abcdef123456",
        extra={"timeout": 120, "max_retries": 5, "organization": "org-conn"},
    )
    hook = OpenAIImagesHook(
        "over", base_url="https://b.example.com/v1", timeout=30, max_retries=0, organization="org-arg"
    )
    settings = hook.settings
    assert settings.base_url == "https://b.example.com/v1"
    assert (settings.timeout, settings.retry.max_retries, settings.organization) == (30.0, 0, "org-arg")


def test_ui_prefixed_extras_are_understood(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(
        monkeypatch,
        "ui",
        host="https://x.openai.azure.com",
        password="azure-key-123456",
        extra={"extra__openai_images__api_type": "azure", "extra__openai_images__api_version": "2025-04-01-preview"},
    )
    settings = OpenAIImagesHook("ui").settings
    assert (settings.api_type, settings.api_version) == ("azure", "2025-04-01-preview")


def test_a_bad_number_in_the_extra_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, "badnum", password="sk-abcdef123456", extra={"timeout": "ten minutes"})
    with pytest.raises(OpenAIImagesValidationError, match=r"timeout='ten minutes'"):
        _ = OpenAIImagesHook("badnum").settings


@pytest.mark.usefixtures("compatible_server")
def test_hook_generate_edit_and_vary_through_the_default_connection(
    emulator: ImagesAPIEmulator, tmp_path: pytest.TempPathFactory
) -> None:
    hook = OpenAIImagesHook(transport=emulator.transport())
    generated = hook.generate("a teapot", model="gpt-image-2.5-flare", size="1024x1024", quality="low")
    source = tmp_path / "teapot.png"  # type: ignore[operator]
    source.write_bytes(picture(256, 256))
    edited = hook.edit(
        source,
        "make it gold",
        mask=transparent_mask(256, 256),
        model="dall-e-2",
        size="256x256",
        response_format="b64_json",
    )
    varied = hook.create_variation(source.read_bytes(), n=2, size="256x256", response_format="b64_json")
    several = hook.edit([picture(64, 64), picture(80, 80, image_format="JPEG")], "combine", model="gpt-image-2.5-flare")
    assert decode(generated.data[0].decode()).size == (1024, 1024)
    assert decode(edited.data[0].decode()).size == (256, 256)
    assert len(varied.data) == 2
    assert len(several.data) == 1
    assert [r.endpoint for r in emulator.requests] == [
        "generations",
        "edits",
        "variations",
        "edits",
    ]
    assert emulator.requests[1].files[0].filename == "teapot.png"
    assert hook.settings.base_url == "http://images-api.emulator.invalid/v1", "no server: in-process only"
    hook.close()


@pytest.mark.usefixtures("compatible_server")
def test_hook_fetches_url_answers_through_the_same_transport_without_the_key(emulator: ImagesAPIEmulator) -> None:
    hook = OpenAIImagesHook(transport=emulator.transport())
    (image,) = hook.generate("an otter", model="dall-e-3").data
    assert image.url is not None
    assert decode(hook.image_bytes(image)).size == (1024, 1024)
    (download,) = emulator.downloads
    assert (download.status, "authorization" in download.headers) == (200, False)


def test_hook_parameters_are_the_request_fields_and_typos_are_refused_before_any_call(
    emulator: ImagesAPIEmulator,
) -> None:
    hook = OpenAIImagesHook(transport=emulator.transport())
    with pytest.raises(OpenAIImagesValidationError, match=r"Invalid qualty='high': allowed a parameter of POST"):
        hook.generate("x", qualty="high")
    with pytest.raises(OpenAIImagesValidationError, match="images/variations"):
        hook.create_variation(picture(64, 64), prompt="variations take no prompt")
    assert emulator.requests == []


def test_extra_body_passes_parameters_this_release_does_not_know(
    emulator: ImagesAPIEmulator,
) -> None:
    OpenAIImagesHook(transport=emulator.transport()).generate(
        "x", model="gpt-image-2.5-flare", extra_body={"prompt_rewriter": "off", "future_flag": "on"}
    )
    assert emulator.requests[0].json == {
        "prompt": "x",
        "model": "gpt-image-2.5-flare",
        "prompt_rewriter": "off",
        "future_flag": "on",
    }


@pytest.mark.parametrize("name", ["n", "quality", "size", "model", "output_format", "image", "prompt"])
def test_extra_body_may_not_carry_what_the_checks_and_the_budget_read(emulator: ImagesAPIEmulator, name: str) -> None:
    hook = OpenAIImagesHook(transport=emulator.transport())
    with pytest.raises(OpenAIImagesValidationError, match=f"give {name} as its own argument") as raised:
        hook.generate("x", model="gpt-image-2.5-flare", extra_body={name: 8})
    assert raised.value.parameter == f"extra_body.{name}"
    assert emulator.requests == []


def test_test_connection_reports_success_and_failure(
    emulator: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, message = OpenAIImagesHook(transport=emulator.transport()).test_connection()
    assert ok
    assert "gpt-image-2.5-flare" in message
    _connection(monkeypatch, "wrongkey", host=emulator.base_url, password="sk-not-the-right-one-42")
    ok, message = OpenAIImagesHook("wrongkey", transport=emulator.transport()).test_connection()
    assert not ok
    assert "401" in message
    assert "sk-not-the-right-one-42" not in message


def test_hook_repr_and_logs_do_not_show_the_key(emulator: ImagesAPIEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hook = OpenAIImagesHook(transport=emulator.transport())
    hook.generate("x", model="gpt-image-2.5-flare")
    assert emulator.api_key not in repr(hook) + repr(hook.settings) + repr(hook.get_conn())
    assert emulator.api_key not in caplog.text


def test_money_and_model_extras_are_read_from_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(
        monkeypatch,
        "money",
        password="sk-abcdef123456",
        extra={
            "default_model": "gpt-image-2.5-flare",
            "retry_possibly_billed": "false",
            "prices": '{"my-sdxl": 0.003}',
            "spill_path": "/mnt/shared/spill",
        },
    )
    hook = OpenAIImagesHook("money")
    assert hook.settings.default_model == "gpt-image-2.5-flare"
    assert hook.settings.retry.retry_possibly_billed is False
    assert hook.prices.worst_case("my-sdxl", images=2, quality=None, size=None) == pytest.approx(0.006)
    assert hook.spill_path == "/mnt/shared/spill"
    assert OpenAIImagesHook("money", retry_possibly_billed=True).settings.retry.retry_possibly_billed is True


@pytest.mark.parametrize(
    ("extra", "parameter"),
    [({"retry_possibly_billed": "maybe"}, "retry_possibly_billed"), ({"prices": "{not json"}, "prices")],
)
def test_bad_money_extras_are_named(monkeypatch: pytest.MonkeyPatch, extra: dict[str, str], parameter: str) -> None:
    _connection(monkeypatch, "badmoney", password="sk-abcdef123456", extra=extra)
    hook = OpenAIImagesHook("badmoney")
    with pytest.raises(OpenAIImagesValidationError) as raised:
        _ = hook.settings, hook.prices
    assert raised.value.parameter == parameter


def test_the_connection_default_model_applies_to_generations_and_edits_not_variations(
    emulator: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.compatible_server = True  # dall-e-2 makes the variation
    for name, value in emulator.connection_env(default_model="gpt-image-2").items():
        monkeypatch.setenv(name, value)
    hook = OpenAIImagesHook(transport=emulator.transport())
    hook.generate("a fox")
    hook.edit(picture(64, 64), "snow")
    hook.create_variation(picture(64, 64), size="256x256")
    hook.generate("a fox", model="gpt-image-2.5-flare")
    sent = [r.json["model"] if r.json else r.form["model"][0] for r in emulator.requests]
    assert sent == ["gpt-image-2", "gpt-image-2", "dall-e-2", "gpt-image-2.5-flare"]


def test_without_a_default_model_generations_use_flare_and_edits_sunburst(emulator: ImagesAPIEmulator) -> None:
    hook = OpenAIImagesHook(transport=emulator.transport())
    hook.generate("a fox")
    hook.edit(picture(64, 64), "snow")
    sent = [r.json["model"] if r.json else r.form["model"][0] for r in emulator.requests]
    assert sent == ["gpt-image-2.5-flare", "gpt-image-2.5-sunburst"]
