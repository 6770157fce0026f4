"""Prices: published per-image and per-token prices, answer costs, worst cases, and connection overrides."""

from __future__ import annotations

import pytest

from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.responses import ImagesUsage
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

TABLE = PriceTable()


def usage(text: int, image_in: int, image_out: int) -> ImagesUsage:
    return ImagesUsage(
        input_tokens=text + image_in,
        output_tokens=image_out,
        total_tokens=text + image_in + image_out,
        input_tokens_details={"text_tokens": text, "image_tokens": image_in},
        output_tokens_details={"image_tokens": image_out, "text_tokens": 0},
    )


@pytest.mark.parametrize(
    ("model", "quality", "size", "price"),
    [
        ("dall-e-2", "standard", "256x256", 0.016),
        ("dall-e-2", None, "1024x1024", 0.02),
        ("dall-e-3", "standard", "1024x1024", 0.04),
        ("dall-e-3", "hd", "1792x1024", 0.12),
        ("gpt-image-1", "low", "1024x1024", 0.011),
        ("gpt-image-1", "high", "1536x1024", 0.25),
        ("gpt-image-1-mini", "medium", "1024x1536", 0.015),
        ("gpt-image-1.5", "high", "1024x1024", 0.133),
        ("gpt-image-2", "high", "1024x1024", 0.211),
        ("gpt-image-2", "low", "2048x1024", 0.012),
        ("gpt-image-2-2026-04-21", "medium", "1024x1024", 0.053),
    ],
)
def test_answers_without_usage_are_priced_per_image(model: str, quality: str | None, size: str, price: float) -> None:
    cost = TABLE.answer_cost(model, images=2, usage=None, quality=quality, size=size)
    assert cost == pytest.approx(2 * price)


def test_token_billed_answers_are_priced_by_their_usage() -> None:
    # gpt-image-1: text $5, image input $10, image output $40 per million tokens
    cost = TABLE.answer_cost("gpt-image-1", images=1, usage=usage(50, 1000, 4160), quality="high", size="1024x1024")
    assert cost == pytest.approx((50 * 5 + 1000 * 10 + 4160 * 40) / 1e6)
    assert cost == pytest.approx(0.1767, abs=1e-4)


def test_usage_without_details_is_priced_as_text_in_and_image_out() -> None:
    bare = ImagesUsage(input_tokens=100, output_tokens=272, total_tokens=372)
    assert TABLE.answer_cost("gpt-image-1-mini", images=1, usage=bare, quality=None, size=None) == pytest.approx(
        (100 * 2 + 272 * 8) / 1e6
    )


def test_the_batch_api_costs_half() -> None:
    full = TABLE.answer_cost("dall-e-3", images=1, usage=None, quality="hd", size="1024x1024")
    half = TABLE.answer_cost("dall-e-3", images=1, usage=None, quality="hd", size="1024x1024", batch=True)
    assert (full, half) == (pytest.approx(0.08), pytest.approx(0.04))
    assert TABLE.worst_case("gpt-image-1", images=2, quality="high", size="1024x1024", batch=True) == pytest.approx(
        0.167
    )


def test_the_worst_case_prices_what_the_server_chooses_at_its_highest() -> None:
    assert TABLE.worst_case("gpt-image-1", images=1, quality=None, size=None) == pytest.approx(0.25)
    assert TABLE.worst_case("gpt-image-1", images=3, quality="auto", size="1024x1024") == pytest.approx(3 * 0.167)
    assert TABLE.worst_case("dall-e-3", images=1, quality="standard", size="auto") == pytest.approx(0.08)
    assert TABLE.worst_case("gpt-image-2", images=1, quality="high", size="3840x2160") == pytest.approx(
        0.211 * 3840 * 2160 / 1024**2
    )


def test_unknown_models_have_no_price() -> None:
    assert TABLE.worst_case("my-sdxl", images=1, quality=None, size=None) is None
    assert TABLE.answer_cost("my-sdxl", images=1, usage=None, quality=None, size=None) is None


def test_the_connection_extends_and_overrides_the_table() -> None:
    table = PriceTable(
        {
            "my-sdxl": 0.003,
            "dall-e-3": {"per_image": {"hd": {"1024x1024": 0.1}}},
            "gpt-image-1": {"image_output": 20},
            "gpt-image-1-mini": 0.001,
        }
    )
    assert table.worst_case("my-sdxl", images=10, quality=None, size="512x512") == pytest.approx(0.03)
    assert table.answer_cost("dall-e-3", images=1, usage=None, quality="hd", size="1024x1024") == pytest.approx(0.1)
    assert table.answer_cost("dall-e-3", images=1, usage=None, quality="hd", size="1792x1024") == pytest.approx(0.12)
    assert table.answer_cost("gpt-image-1", images=1, usage=usage(0, 0, 1000), quality=None, size=None) == (
        pytest.approx(0.02)
    )
    flat = table.answer_cost("gpt-image-1-mini", images=2, usage=usage(10, 0, 4160), quality="high", size=None)
    assert flat == pytest.approx(0.002), "a flat price replaces token prices"
    published = PriceTable().for_model("dall-e-3")
    assert published is not None
    assert published.per_image["hd"]["1024x1024"] == 0.08, "the published table is untouched"


@pytest.mark.parametrize(
    "entry", ["cheap", -1, True, {"per_image": "x"}, {"image_outptu": 5}, {"per_image": {"hd": 1}}]
)
def test_a_bad_price_entry_names_the_model_and_what_is_allowed(entry: object) -> None:
    with pytest.raises(OpenAIImagesValidationError) as raised:
        PriceTable({"dall-e-3": entry})
    assert raised.value.parameter == "prices['dall-e-3']"
    assert "price per image in USD" in raised.value.allowed


def test_auto_counts_at_the_dearest_quality_and_size_it_may_choose_or_is_unknown() -> None:
    # gpt-image-2 prices per image at 1024x1024, by area: "auto" may choose 1536x1024, so it counts as that
    assert TABLE.worst_case("gpt-image-2", images=1, quality="high", size=None) == pytest.approx(0.211 * 1.5)
    assert TABLE.worst_case("gpt-image-2", images=1, quality=None, size="1024x1024") == pytest.approx(0.211)
    # the 2.5 family's "auto" may choose xhigh or max, which have no per-image price: no worst case
    assert TABLE.worst_case("gpt-image-2.5-flare", images=1, quality=None, size=None) is None
    assert TABLE.worst_case("gpt-image-2.5-flare", images=1, quality="max", size="1024x1024") is None
    assert TABLE.worst_case("gpt-image-2.5-flare", images=2, quality="low", size="2048x1152") == pytest.approx(
        2 * 0.006 * 2048 * 1152 / 1024**2
    )


def test_a_gif_counts_each_frame_as_an_image_and_an_svg_has_no_worst_case() -> None:
    one = TABLE.worst_case("gpt-image-2", images=1, quality="low", size="1024x1024")
    assert one == pytest.approx(0.006)
    gif = TABLE.worst_case("gpt-image-2", images=1, quality="low", size="1024x1024", output_format="gif")
    assert gif == pytest.approx(9 * 0.006), "the API's default of 9 frames"
    four = TABLE.worst_case(
        "gpt-image-2", images=1, quality="low", size="1024x1024", output_format="gif", frame_count=4
    )
    assert four == pytest.approx(4 * 0.006)
    assert TABLE.worst_case("gpt-image-2", images=1, quality="low", size="1024x1024", output_format="svg") is None
