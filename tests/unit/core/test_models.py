"""The model rules table: impossible requests are refused with the parameter, value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_openai_images.core.models import KNOWN_MODELS, rules_for, validate_parameters
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError


@pytest.mark.parametrize(
    ("model", "endpoint", "params"),
    [
        ("dall-e-2", "generations", {"size": "256x256", "n": 10, "response_format": "url"}),
        ("dall-e-2", "edits", {"size": "512x512", "response_format": "b64_json"}),
        ("dall-e-2", "variations", {"size": "1024x1024", "n": 3}),
        ("dall-e-3", "generations", {"size": "1792x1024", "quality": "hd", "style": "natural", "n": 1}),
        (
            "gpt-image-1",
            "generations",
            {
                "size": "1536x1024",
                "quality": "high",
                "background": "transparent",
                "output_format": "webp",
                "output_compression": 80,
                "moderation": "low",
            },
        ),
        ("gpt-image-1-mini", "edits", {"size": "auto", "quality": "low", "n": 4}),
        ("gpt-image-1.5", "edits", {"input_fidelity": "high", "output_format": "jpeg"}),
        ("gpt-image-2", "generations", {"size": "1536x864"}),
        ("gpt-image-2", "generations", {"size": "3840x2160"}),
        ("gpt-image-2-2026-04-21", "edits", {"size": "2160x3840"}),
        ("chatgpt-image-latest", "edits", {"size": "1024x1024"}),
    ],
)
def test_documented_requests_pass(model: str, endpoint: Any, params: dict[str, Any]) -> None:
    assert validate_parameters(model, endpoint, {"prompt": "an otter", **params}) is not None


@pytest.mark.parametrize(
    ("model", "endpoint", "params", "parameter", "allowed_fragment"),
    [
        ("dall-e-3", "generations", {"n": 2}, "n", "only 1"),
        ("dall-e-2", "generations", {"size": "1792x1024"}, "size", "'256x256'"),
        ("dall-e-3", "generations", {"size": "512x512"}, "size", "'1792x1024'"),
        ("gpt-image-1", "generations", {"size": "512x512"}, "size", "'1536x1024'"),
        ("gpt-image-1", "generations", {"response_format": "url"}, "response_format", "always return b64_json"),
        ("gpt-image-1.5", "generations", {"style": "vivid"}, "style", "only dall-e-3"),
        ("dall-e-2", "generations", {"quality": "hd"}, "quality", "'standard'"),
        ("gpt-image-1", "generations", {"quality": "hd"}, "quality", "'high'"),
        ("dall-e-3", "generations", {"background": "transparent"}, "background", "only GPT image models"),
        ("dall-e-2", "generations", {"output_format": "webp"}, "output_format", "only GPT image models"),
        ("gpt-image-1-mini", "edits", {"input_fidelity": "high"}, "input_fidelity", "does not take it"),
        ("dall-e-3", "edits", {}, "model", "'dall-e-2'"),
        ("gpt-image-1", "variations", {}, "model", "'dall-e-2'"),
        ("dall-e-3", "variations", {}, "model", "image variations endpoint"),
        ("gpt-image-2", "generations", {"size": "1000x1000"}, "size", "divisible by 16"),
        ("gpt-image-2", "generations", {"size": "4000x1008"}, "size", "aspect ratio"),
        ("gpt-image-2", "generations", {"size": "4096x2304"}, "size", "3840x2160"),
        ("gpt-image-2", "generations", {"size": "big"}, "size", "WIDTHxHEIGHT"),
        ("gpt-image-1", "generations", {"n": 11}, "n", "1 to 10"),
        ("gpt-image-1", "generations", {"n": 0}, "n", "1 to 10"),
        ("gpt-image-1", "generations", {"output_compression": 101}, "output_compression", "0 to 100"),
        (
            "gpt-image-1",
            "generations",
            {"background": "transparent", "output_format": "jpeg"},
            "output_format",
            "'png' or 'webp'",
        ),
        ("dall-e-2", "generations", {"prompt": "x" * 1001}, "prompt", "at most 1000 characters"),
        ("dall-e-3", "generations", {"prompt": "x" * 4001}, "prompt", "at most 4000 characters"),
        ("gpt-image-1", "edits", {"prompt": "x" * 32001}, "prompt", "at most 32000 characters"),
        ("", "generations", {}, "model", "non-empty"),
    ],
)
def test_impossible_requests_name_parameter_value_and_allowed(
    model: str, endpoint: Any, params: dict[str, Any], parameter: str, allowed_fragment: str
) -> None:
    with pytest.raises(OpenAIImagesValidationError) as raised:
        validate_parameters(model, endpoint, {"prompt": "an otter", **params})
    error = raised.value
    assert error.parameter == parameter
    assert allowed_fragment in error.allowed
    assert f"Invalid {parameter}=" in str(error)
    assert error.param == parameter


def test_unknown_models_pass_through_untouched() -> None:
    params = {"prompt": "x" * 50000, "size": "7x7", "style": "cubist", "response_format": "url"}
    assert validate_parameters("my-selfhosted-sdxl", "variations", params) is None


def test_dated_snapshots_follow_their_base_model() -> None:
    assert rules_for("gpt-image-1-2025-04-15") is KNOWN_MODELS["gpt-image-1"]
    assert rules_for("gpt-image-2-2026-04-21") is KNOWN_MODELS["gpt-image-2"]
    assert rules_for("gpt-image-9") is None


def test_every_known_model_refuses_response_format_exactly_when_it_is_a_gpt_image_model() -> None:
    for name, rules in KNOWN_MODELS.items():
        assert bool(rules.response_formats) == (not rules.is_gpt_image), name


def test_retirement_is_told_only_for_openai_s_own_api_and_only_after_the_shutdown() -> None:
    from datetime import date

    from airflow_provider_openai_images.core.models import retirement_notice

    after, before = date(2026, 5, 12), date(2026, 5, 11)
    notice = retirement_notice("dall-e-2", base_url="https://api.openai.com/v1", today=after)
    assert (
        notice
        == "OpenAI shut 'dall-e-2' down on 2026-05-12; use 'gpt-image-1-mini' instead (it may still work elsewhere)."
    )
    assert retirement_notice("dall-e-2", base_url="https://api.openai.com/v1", today=before) is None
    assert retirement_notice("dall-e-3", base_url="https://me.openai.azure.com", today=after) is None
    assert retirement_notice("gpt-image-1", base_url="https://api.openai.com/v1", today=after) is None
    assert retirement_notice("my-sdxl", base_url="https://api.openai.com/v1", today=after) is None
