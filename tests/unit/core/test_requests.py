"""Request types: shared fields in the base dataclasses, loose values normalised once, bodies as the spec wants."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_provider_openai_images.core.requests import (
    EditRequest,
    GenerateRequest,
    ImageFile,
    ImageRequest,
    PromptedImageRequest,
    VariationRequest,
)
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from tests.imagefactory import picture

PNG = ImageFile.from_bytes(picture(64, 64), "a.png")


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_common_fields_are_declared_once_in_the_base_dataclasses() -> None:
    common = ["model", "n", "size", "response_format", "safety_identifier", "user", "extra_body"]
    prompted = ["prompt", "quality", "complexity", "background", "output_format", "output_compression", "frame_count",
                "frame_duration_ms", "svg"]  # fmt: skip
    assert field_names(ImageRequest) == common
    assert field_names(PromptedImageRequest) == common + prompted
    assert field_names(GenerateRequest) == [*common, *prompted, "style", "moderation"]
    assert field_names(EditRequest) == [*common, *prompted, "images", "mask", "markup", "input_fidelity"]
    assert field_names(VariationRequest) == [*common, "image"]
    for cls in (GenerateRequest, EditRequest, VariationRequest):
        own = set(vars(cls).get("__annotations__", {})) - {"endpoint", "file_fields"}
        assert not own & set(common + prompted) - {"model"}, cls


def test_value_fields_leave_out_uploads() -> None:
    assert "images" not in EditRequest.value_fields()
    assert "mask" not in EditRequest.value_fields()
    assert "image" not in VariationRequest.value_fields()
    assert "prompt" in EditRequest.value_fields()


def test_normalise_turns_template_renderings_into_field_values() -> None:
    values = GenerateRequest.normalise(
        {"prompt": "x", "n": "3", "output_compression": " 70 ", "size": "", "model": None, "quality": "high"}
    )
    assert values == {"prompt": "x", "n": 3, "output_compression": 70, "quality": "high"}


def test_normalise_leaves_what_it_cannot_read_for_validation_to_name() -> None:
    request = GenerateRequest.from_values({"prompt": "x", "n": "three"})
    with pytest.raises(OpenAIImagesValidationError, match=r"Invalid n='three': allowed an integer from 1 to 10"):
        request.validate()


def test_an_empty_prompt_stays_empty_and_is_refused_by_name() -> None:
    with pytest.raises(OpenAIImagesValidationError, match=r"Invalid prompt='': allowed a non-empty text"):
        GenerateRequest.from_values({"prompt": ""}).validate()


def test_an_unknown_parameter_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(OpenAIImagesValidationError) as raised:
        GenerateRequest.from_values({"prompt": "x", "qualty": "high"})
    assert raised.value.parameter == "qualty"
    assert "quality" in raised.value.allowed
    with pytest.raises(OpenAIImagesValidationError, match="images/variations"):
        VariationRequest.from_values({"prompt": "x"}, image=PNG)


def test_uploads_cannot_be_passed_as_values() -> None:
    with pytest.raises(OpenAIImagesValidationError):
        EditRequest.from_values({"prompt": "x", "images": (PNG,)})


def test_model_defaults_per_endpoint_and_is_always_sent() -> None:
    assert GenerateRequest.from_values({"prompt": "x", "model": ""}).to_http_body().json == {
        "model": "gpt-image-2.5-flare", "prompt": "x"
    }  # fmt: skip
    assert EditRequest.from_values({"prompt": "x"}, images=(PNG,)).to_http_body().data == {
        "model": "gpt-image-2.5-sunburst", "prompt": "x"
    }  # fmt: skip
    variation = VariationRequest.from_values({}, image=PNG).to_http_body()
    assert variation.data == {"model": "dall-e-2"}


def test_generation_is_json_and_edits_are_multipart_with_named_typed_parts() -> None:
    generation = GenerateRequest(prompt="x", n=2, extra_body={"prompt_rewriter": "off"}).to_http_body()
    assert generation.json == {"model": "gpt-image-2.5-flare", "n": 2, "prompt": "x", "prompt_rewriter": "off"}
    assert generation.files is None
    mask = ImageFile.from_bytes(picture(64, 64), "m.png", parameter="mask")
    single = EditRequest(prompt="x", images=(PNG,), mask=mask, n=1).to_http_body()
    assert single.data == {"model": "gpt-image-2.5-sunburst", "n": "1", "prompt": "x"}
    assert [(name, part[0], part[2]) for name, part in single.files or []] == [
        ("image", "a.png", "image/png"), ("mask", "m.png", "image/png")
    ]  # fmt: skip
    several = EditRequest(prompt="x", images=(PNG, PNG)).to_http_body()
    assert [name for name, _ in several.files or []] == ["image[]", "image[]"]


def test_svg_options_go_as_json_objects_and_as_bracketed_form_fields() -> None:
    svg = {"model": "gpt-5.2", "reasoning": {"effort": "low"}}
    generation = GenerateRequest(prompt="x", output_format="svg", svg=svg).to_http_body()
    assert generation.json is not None
    assert generation.json["svg"] == svg
    edit = EditRequest(prompt="x", images=(PNG,), output_format="svg", svg=svg).to_http_body()
    assert edit.data is not None
    assert (edit.data["svg[model]"], edit.data["svg[reasoning][effort]"]) == ("gpt-5.2", "low")


def test_markup_goes_as_its_own_part_and_never_with_a_mask() -> None:
    markup = ImageFile.from_bytes(picture(64, 64), "guide.png", parameter="markup")
    body = EditRequest(prompt="x", images=(PNG,), markup=markup).to_http_body()
    assert [name for name, _ in body.files or []] == ["image", "markup"]
    EditRequest(prompt="x", images=(PNG,), markup=markup, model="gpt-image-2.5-sunburst").validate()
    with pytest.raises(OpenAIImagesValidationError, match="no markup together with a mask"):
        EditRequest(prompt="x", images=(PNG,), markup=markup, mask=markup).validate()
    with pytest.raises(OpenAIImagesValidationError, match=r"only GPT Image 2\.5 models"):
        EditRequest(prompt="x", images=(PNG,), markup=markup, model="gpt-image-2").validate()


@pytest.mark.parametrize("name", ["stream", "partial_images"])
def test_streaming_is_refused_before_anything_is_sent_with_the_reason(name: str) -> None:
    with pytest.raises(OpenAIImagesValidationError, match="not supported, because") as raised:
        GenerateRequest.normalise({"prompt": "x", name: 1})
    assert raised.value.parameter == name
    with pytest.raises(OpenAIImagesValidationError, match="not supported, because") as raised:
        GenerateRequest(prompt="x", extra_body={name: True}).validate()
    assert raised.value.parameter == f"extra_body.{name}"


def test_only_ascii_digits_are_read_as_numbers() -> None:
    with pytest.raises(OpenAIImagesValidationError, match="Invalid n='²'"):
        GenerateRequest.from_values({"prompt": "x", "n": "²"}).validate()


def test_parameter_checks_run_without_uploads_and_upload_checks_with_them() -> None:
    EditRequest.from_values({"prompt": "x", "model": "gpt-image-2.5-flare"}).check_parameters()
    with pytest.raises(OpenAIImagesValidationError, match="1 to 16 images"):
        EditRequest.from_values({"prompt": "x", "model": "gpt-image-2.5-flare"}).validate()
    with pytest.raises(OpenAIImagesValidationError, match=r"Invalid image=None"):
        VariationRequest.from_values({}).validate()
    with pytest.raises(OpenAIImagesValidationError, match="'dall-e-2'"):
        VariationRequest.from_values({"model": "gpt-image-2.5-flare"}).check_parameters()
