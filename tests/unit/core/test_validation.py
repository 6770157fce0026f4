"""Checks of request parameters: impossible requests are refused with the parameter, value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_openai_images.core.catalogue import packaged_catalogue
from airflow_provider_openai_images.core.validation import DELIBERATELY_REFUSED, advisories, validate_parameters
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
        ("gpt-image-2.5-flare", "generations", {"size": "2048x1152", "quality": "max", "complexity": "high"}),
        ("gpt-image-2.5-sunburst-2026-09-08", "edits", {"quality": "xhigh", "safety_identifier": "h-1f3a"}),
        ("gpt-image-2.5-flare", "generations", {"output_format": "gif", "frame_count": 16, "frame_duration_ms": 50}),
        ("gpt-image-2.5-flare", "generations", {"output_format": "gif", "frame_count": 2}),
        ("gpt-image-2", "generations", {"output_format": "svg", "n": 1, "svg": {"model": "gpt-5.2"}}),
        ("gpt-image-2", "generations", {"output_format": "svg", "svg": {"reasoning": {"effort": "minimal"}}}),
        ("gpt-image-2.6-flare", "generations", {"size": "4096x4096", "quality": "max"}),
        ("gpt-image-2.6-sunburst", "edits", {"input_fidelity": "high"}),
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
        ("gpt-image-1-mini", "edits", {"input_fidelity": "high"}, "input_fidelity", "one of 'low'"),
        ("dall-e-3", "edits", {}, "model", "'dall-e-2'"),
        ("gpt-image-1", "variations", {}, "model", "'dall-e-2'"),
        ("dall-e-3", "variations", {}, "model", "image variations endpoint"),
        ("gpt-image-2", "generations", {"size": "1000x1000"}, "size", "multiples of 16"),
        ("gpt-image-2.5-flare", "generations", {"size": "4000x1000"}, "size", "multiples of 16"),
        ("gpt-image-2.5-flare", "generations", {"size": "3840x1008"}, "size", "aspect ratio"),
        ("gpt-image-2", "generations", {"quality": "max"}, "quality", "'high'"),
        ("gpt-image-1.5", "generations", {"quality": "xhigh"}, "quality", "'high'"),
        ("gpt-image-1.5", "generations", {"output_format": "gif"}, "output_format", "'webp'"),
        ("gpt-image-2", "edits", {"input_fidelity": "high"}, "input_fidelity", "does not take it"),
        ("gpt-image-2.6-flare", "generations", {"quality": "hd"}, "quality", "'xhigh'"),
        ("gpt-image-2.6-flare", "generations", {"size": "wide"}, "size", "WIDTHxHEIGHT"),
        ("gpt-image-2.5-flare", "generations", {"frame_count": 4}, "frame_count", "output_format='gif'"),
        ("gpt-image-2.5-flare", "generations", {"output_format": "gif", "frame_count": 17}, "frame_count", "2 to 16"),
        ("gpt-image-2.5-flare", "generations", {"output_format": "gif", "frame_count": 1}, "frame_count", "2 to 16"),
        ("gpt-image-2.5-flare", "generations", {"frame_duration_ms": 100}, "frame_duration_ms", "output_format='gif'"),
        (
            "gpt-image-2.5-flare",
            "generations",
            {"output_format": "gif", "output_compression": 50},
            "output_compression",
            "output_format='gif'",
        ),
        ("gpt-image-2.5-flare", "generations", {"output_format": "svg", "n": 2}, "n", "1 with output_format='svg'"),
        ("gpt-image-2.5-flare", "generations", {"svg": {"model": "m"}}, "svg", "output_format='svg'"),
        (
            "gpt-image-2.5-flare",
            "generations",
            {"output_format": "svg", "svg": {"reasoning": {"effort": "huge"}}},
            "svg.reasoning.effort",
            "'minimal'",
        ),
        ("gpt-image-2.5-flare", "generations", {"output_format": "svg", "svg": {"author": "m"}}, "svg", "an object"),
        ("gpt-image-2.5-flare", "generations", {"complexity": "extreme"}, "complexity", "'medium'"),
        ("gpt-image-2.5-flare", "generations", {"safety_identifier": 42}, "safety_identifier", "a string"),
        ("gpt-image-2.5-flare", "generations", {"stream": True}, "stream", "not supported"),
        ("gpt-image-2.5-flare", "generations", {"partial_images": 2}, "partial_images", "not supported"),
        ("dall-e-3", "generations", {"complexity": "low"}, "complexity", "only GPT image models"),
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


def test_the_refusal_of_stream_says_why() -> None:
    with pytest.raises(OpenAIImagesValidationError) as raised:
        validate_parameters("gpt-image-2.5-flare", "generations", {"prompt": "p", "stream": True})
    assert "lands each finished image in S3" in raised.value.allowed
    assert set(DELIBERATELY_REFUSED) == {"stream", "partial_images"}


def test_every_known_model_refuses_response_format_exactly_when_it_is_a_gpt_image_model() -> None:
    catalogue = packaged_catalogue()
    for name in catalogue:
        rules = catalogue.rules_for(name)
        assert rules is not None
        assert bool(rules.response_formats) == (not rules.is_gpt_image), name


def test_advisories_warn_of_experimental_sizes_and_of_unpublished_rules() -> None:
    catalogue = packaged_catalogue()
    flare, unpublished = catalogue.rules_for("gpt-image-2.5-flare"), catalogue.rules_for("gpt-image-2.6-flare")
    assert advisories(flare, {"size": "2560x1440"}) == []
    (experimental,) = advisories(flare, {"size": "2576x1440"})
    assert "experimental" in experimental
    (unknown,) = advisories(unpublished, {"size": "1024x1024"})
    assert "has not published gpt-image-2.6-flare's rules" in unknown
    assert advisories(None, {"size": "3840x2160"}) == []
