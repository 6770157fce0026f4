"""Requests are built from an operator's fields in one generic step, with one normalisation of what
templates render; inputs are loaded and prepared through the same functions the hook uses."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, VariationRequest
from airflow_provider_openai_images.operators import (
    BaseOpenAIImagesOperator,
    OpenAICreateImageVariationOperator,
    OpenAIEditImageOperator,
    OpenAIGenerateImageOperator,
)
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.imagefactory import decode, picture

#: requests are checked against the connection's catalogue (its ``models`` extra): a connection is needed
pytestmark = pytest.mark.usefixtures("images_api_emulator_in_process")


def build(operator: BaseOpenAIImagesOperator, count: int = 1) -> Any:
    values = operator.request_type.normalise(operator.request_values())
    return operator.request_for(values, count)


def test_template_renderings_are_normalised_once_for_every_field() -> None:
    operator = OpenAIGenerateImageOperator(
        task_id="g", s3_bucket="b", prompt="a fox", model="", n="3", size="", quality="",
        output_format="webp", output_compression="40", style="", moderation="low",
    )  # fmt: skip
    request, prepared = build(operator, count=2)
    assert isinstance(request, GenerateRequest)
    assert prepared is None
    assert request.to_http_body().json == {
        "model": "gpt-image-2.5-flare", "n": 2, "prompt": "a fox", "output_format": "webp", "output_compression": 40,
        "moderation": "low",
    }  # fmt: skip


def test_the_count_asked_for_replaces_n() -> None:
    operator = OpenAIGenerateImageOperator(task_id="g", s3_bucket="b", prompt="x", n="4", model="gpt-image-2.5-flare")
    request, _ = build(operator, count=1)
    assert request.n == 1


def test_extra_body_safety_identifier_and_user_pass_through() -> None:
    operator = OpenAIGenerateImageOperator(
        task_id="g", s3_bucket="b", prompt="x", safety_identifier="h-9f2", user="u-1",
        extra_body={"prompt_rewriter": "off"}, complexity="high", output_format="gif", frame_count="6",
    )  # fmt: skip
    request, _ = build(operator)
    assert request.to_http_body().json == {
        "model": "gpt-image-2.5-flare", "n": 1, "safety_identifier": "h-9f2", "user": "u-1", "prompt": "x",
        "complexity": "high", "output_format": "gif", "frame_count": 6, "prompt_rewriter": "off",
    }  # fmt: skip


def test_a_variation_defaults_to_dall_e_2_and_prepares_its_one_image() -> None:
    operator = OpenAICreateImageVariationOperator(
        task_id="v", s3_bucket="b", image=picture(300, 200, image_format="JPEG"), n="2", size="256x256",
        response_format="b64_json",
    )  # fmt: skip
    request, prepared = build(operator, count=2)
    assert isinstance(request, VariationRequest)
    assert request.model == "dall-e-2"
    assert (decode(request.image.content).format, decode(request.image.content).size) == ("PNG", (256, 256))
    assert prepared == {"image": {"cropped": True, "resized_from": [300, 200]}}


def test_an_edit_draws_its_mask_from_boxes_with_the_same_preparation_as_the_hook() -> None:
    operator = OpenAIEditImageOperator(
        task_id="e", s3_bucket="b", image=picture(512, 512), prompt="snow", mask_box=(0, 0, 256, 256),
        model="dall-e-2", size="256x256",
    )  # fmt: skip
    request, prepared = build(operator)
    assert isinstance(request, EditRequest)
    assert request.mask is not None
    alpha = decode(request.mask.content).getchannel("A")
    assert (alpha.getpixel((10, 10)), alpha.getpixel((200, 200))) == (0, 255)
    assert prepared == {"image": {"resized_from": [512, 512]}, "mask": {"mask_from": "boxes"}}


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"n": "many"}, "n"),
        ({"n": "11"}, "n"),
        ({"model": "dall-e-3", "n": 2}, "n"),
        ({"output_compression": "high"}, "output_compression"),
        ({"prompt": ""}, "prompt"),
        ({"size": "999x999", "model": "gpt-image-2.5-flare"}, "size"),
    ],
)
def test_bad_input_fails_the_task_without_retries_before_anything_is_sent(
    arguments: dict[str, Any], parameter: str, emulator: ImagesAPIEmulator
) -> None:
    operator = OpenAIGenerateImageOperator(task_id="g", s3_bucket="b", **{"prompt": "x", **arguments})
    with pytest.raises(AirflowFailException, match=f"nothing was sent or paid for: Invalid {parameter}="):
        operator.execute({})  # type: ignore[arg-type]
    assert emulator.requests == []


def test_retry_possibly_billed_on_the_operator_wins_over_the_connection(
    emulator: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in emulator.connection_env(retry_possibly_billed=True).items():
        monkeypatch.setenv(name, value)
    strict = OpenAIGenerateImageOperator(task_id="g", s3_bucket="b", prompt="x", retry_possibly_billed=False)
    lenient = OpenAIGenerateImageOperator(task_id="h", s3_bucket="b", prompt="x")
    assert strict.hook.settings.retry.retry_possibly_billed is False
    assert lenient.hook.settings.retry.retry_possibly_billed is True
