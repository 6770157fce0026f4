"""The budget guard refuses, before anything is sent, what could cost more than allowed."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_openai_images.core.budget import Ask, Budget
from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.exceptions import OpenAIImagesBudgetError, OpenAIImagesValidationError

PRICES = PriceTable()


def test_max_images_caps_the_count() -> None:
    with pytest.raises(OpenAIImagesBudgetError, match=r"max_images=2, and this asks for 3 images"):
        Budget(max_images=2).check(PRICES, [Ask("gpt-image-1", 3)])
    assert Budget(max_images=3).check(PRICES, [Ask("gpt-image-1", 3, "low", "1024x1024")]) == (pytest.approx(0.033))


def test_max_cost_refuses_the_worst_case_over_the_limit_naming_estimate_and_limit() -> None:
    with pytest.raises(OpenAIImagesBudgetError) as raised:
        Budget(max_cost_usd=0.01).check(PRICES, [Ask("dall-e-3", 1, "hd", "1024x1024")])
    assert "max_cost_usd=0.01" in str(raised.value)
    assert "$0.0800" in str(raised.value)
    assert "dall-e-3 (quality hd, size 1024x1024)" in str(raised.value)


def test_quality_left_to_the_server_counts_at_its_highest() -> None:
    with pytest.raises(OpenAIImagesBudgetError, match=r"\$0\.1670"):
        Budget(max_cost_usd=0.1).check(PRICES, [Ask("gpt-image-1", 1, None, "1024x1024")])
    assert Budget(max_cost_usd=0.1).check(PRICES, [Ask("gpt-image-1", 1, "medium", "1024x1024")])


def test_a_cost_limit_on_a_model_without_a_price_refuses_to_run() -> None:
    with pytest.raises(OpenAIImagesBudgetError, match="Add it to the connection's 'prices' extra"):
        Budget(max_cost_usd=5).check(PRICES, [Ask("my-sdxl", 1)])
    assert Budget().check(PRICES, [Ask("my-sdxl", 1)]) is None, "without a limit, an unknown price is fine"


def test_limits_rendered_by_templates_are_read_and_bad_ones_named() -> None:
    assert Budget.parse("4", "0.5") == Budget(4, 0.5)
    assert Budget.parse("", None) == Budget()
    with pytest.raises(OpenAIImagesValidationError, match="Invalid max_cost_usd='lots'"):
        Budget.parse(max_cost_usd="lots")
    with pytest.raises(OpenAIImagesValidationError, match="Invalid max_images=-1"):
        Budget.parse(max_images=-1)


@pytest.mark.parametrize(
    ("max_images", "max_cost_usd", "parameter"),
    [(None, "nan", "max_cost_usd"), (None, float("nan"), "max_cost_usd"), (None, "inf", "max_cost_usd"),
     (None, "\u0661", "max_cost_usd"), ("\u00b2", None, "max_images"), (1.5, None, "max_images"),
     ("inf", None, "max_images"), (True, None, "max_images"), (None, "-0.1", "max_cost_usd")],
)  # fmt: skip
def test_limits_must_be_finite_non_negative_numbers_in_ascii(
    max_images: Any, max_cost_usd: Any, parameter: str
) -> None:
    """``max_cost_usd="nan"`` used to apply no limit at all: NaN passed the ``< 0`` check and ``worst > nan``
    is always false."""
    with pytest.raises(OpenAIImagesValidationError) as raised:
        Budget.parse(max_images, max_cost_usd)
    assert raised.value.parameter == parameter


def test_an_edit_s_worst_case_counts_its_input_images_where_they_are_priced() -> None:
    plain = Budget(max_cost_usd=1).check(PRICES, [Ask("gpt-image-2", 1, "low", "1024x1024")])
    with_inputs = Budget(max_cost_usd=1).check(PRICES, [Ask("gpt-image-2", 1, "low", "1024x1024", input_images=16)])
    assert plain is not None
    assert with_inputs == pytest.approx(plain + 16 * (85 + 170 * 8) * 8.0 / 1e6), "$8 per million image input tokens"
    dall_e = Budget(max_cost_usd=1).check(PRICES, [Ask("dall-e-2", 1, "standard", "1024x1024", input_images=1)])
    assert dall_e == pytest.approx(0.02), "dall-e-2 is priced per image, its input is free"


def test_several_requests_are_budgeted_together() -> None:
    asks = [Ask("gpt-image-1", 2, "low", "1024x1024"), Ask("dall-e-3", 1, "hd", "1792x1024")]
    assert Budget(max_cost_usd=0.2).check(PRICES, asks) == pytest.approx(2 * 0.011 + 0.12)
    with pytest.raises(OpenAIImagesBudgetError, match=r"3 images in 2 requests may cost up to \$0\.1420"):
        Budget(max_cost_usd=0.1).check(PRICES, asks)
    with pytest.raises(OpenAIImagesBudgetError, match="max_images=2, and this asks for 3 images"):
        Budget(max_images=2).check(PRICES, asks)
    with pytest.raises(OpenAIImagesBudgetError, match="price of 'my-sdxl' is unknown"):
        Budget(max_cost_usd=9).check(PRICES, [*asks, Ask("my-sdxl", 1)])
