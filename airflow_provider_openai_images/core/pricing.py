"""What images cost, in US dollars: published prices, and estimates from an answer or a request.

GPT image models are billed by tokens (text and image input, image output); an answer's ``usage``
gives its cost. DALL-E models, and any answer without ``usage``, are priced per image by model,
quality and size. The Batch API costs half (:data:`BATCH_DISCOUNT`).

Source: OpenAI's API pricing page (https://platform.openai.com/docs/pricing) for each model as
published (gpt-image-2: 2026-04-21), read on 2026-11-22 through public copies of it. Prices change:
the connection extra ``prices`` overrides or extends this table (Azure, self-hosted servers, new
models) without a release; see :class:`PriceTable`. Every figure here is an estimate, never an invoice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_openai_images.core.models import parse_size, snapshot_base
from airflow_provider_openai_images.core.responses import ImagesUsage
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

#: The Batch API bills half the synchronous price.
BATCH_DISCOUNT = 0.5
#: In price tables, a quality or size of ``*`` stands for any.
ANY = "*"
_SQUARE = "1024x1024"
_TOKEN_FIELDS = ("text_input", "image_input", "image_output", "text_output")


@dataclass(frozen=True)
class ModelPrices:
    """One model's prices.

    :param per_image: quality -> size -> USD per image (``*`` for any quality or size).
    :param text_input: USD per million text input tokens (likewise ``image_input``, ``image_output``,
        ``text_output``); ``None`` when the model is not billed by tokens.
    :param area_priced: the per-image price is given for 1024x1024 and scales with pixel area
        (models that take any size, like gpt-image-2).
    """

    per_image: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    text_input: float | None = None
    image_input: float | None = None
    image_output: float | None = None
    text_output: float | None = None
    area_priced: bool = False

    def image_price(self, quality: str, size: str) -> float | None:
        """The price of one image of ``quality`` and ``size`` (both concrete: not ``auto``)."""
        by_size = self.per_image.get(quality) or self.per_image.get(ANY)
        if not by_size:
            return None
        if self.area_priced and ANY not in by_size and (dimensions := parse_size(size)):
            base = by_size.get(_SQUARE)
            return None if base is None else base * dimensions[0] * dimensions[1] / (1024 * 1024)
        price = by_size.get(size, by_size.get(ANY))
        return None if price is None else float(price)

    def highest_image_price(self, quality: str | None, size: str | None) -> float | None:
        """The most one image can cost when ``quality`` or ``size`` is left to the server (``None``/``auto``)."""
        qualities = [quality] if quality not in (None, "auto") else list(self.per_image)
        prices = []
        for each_quality in qualities:
            assert each_quality is not None
            by_size = self.per_image.get(each_quality) or self.per_image.get(ANY, {})
            sizes: Iterable[str] = [size] if size not in (None, "auto") else by_size.keys()
            prices += [price for each_size in sizes if (price := self.image_price(each_quality, str(each_size)))]
        return max(prices) if prices else None

    def usage_cost(self, usage: ImagesUsage) -> float | None:
        """The cost of the tokens an answer reports; ``None`` if a price it needs is unknown."""
        text_in = usage.input_tokens_details.get("text_tokens")
        image_in = usage.input_tokens_details.get("image_tokens")
        if text_in is None and image_in is None:
            text_in, image_in = usage.input_tokens, 0
        image_out = usage.output_tokens_details.get("image_tokens", usage.output_tokens)
        text_out = usage.output_tokens_details.get("text_tokens", 0)
        total = 0.0
        for tokens, price in (
            (text_in, self.text_input),
            (image_in, self.image_input),
            (image_out, self.image_output),
            (text_out, self.text_output),
        ):
            if not tokens:
                continue
            if price is None:
                return None
            total += tokens * price / 1_000_000
        return total


def _gpt_image(*, low: tuple[float, float], medium: tuple[float, float], high: tuple[float, float],
               text_input: float, image_input: float, image_output: float,
               text_output: float | None = None) -> ModelPrices:  # fmt: skip
    """A GPT image model: square and portrait/landscape prices per quality, and token prices."""

    def sizes(square: float, oblong: float) -> dict[str, float]:
        return {_SQUARE: square, "1024x1536": oblong, "1536x1024": oblong}

    return ModelPrices(
        per_image={"low": sizes(*low), "medium": sizes(*medium), "high": sizes(*high)},
        text_input=text_input,
        image_input=image_input,
        image_output=image_output,
        text_output=text_output,
    )


_GPT_IMAGE_1_5 = _gpt_image(
    low=(0.009, 0.013), medium=(0.034, 0.05), high=(0.133, 0.2),
    text_input=5.0, image_input=8.0, image_output=32.0, text_output=10.0,
)  # fmt: skip

#: Published prices (see the module docstring for the source and date).
PUBLISHED_PRICES: dict[str, ModelPrices] = {
    "dall-e-2": ModelPrices(per_image={"standard": {"256x256": 0.016, "512x512": 0.018, _SQUARE: 0.02}}),
    "dall-e-3": ModelPrices(
        per_image={
            "standard": {_SQUARE: 0.04, "1024x1792": 0.08, "1792x1024": 0.08},
            "hd": {_SQUARE: 0.08, "1024x1792": 0.12, "1792x1024": 0.12},
        }
    ),
    "gpt-image-1": _gpt_image(
        low=(0.011, 0.016), medium=(0.042, 0.063), high=(0.167, 0.25),
        text_input=5.0, image_input=10.0, image_output=40.0,
    ),
    "gpt-image-1-mini": _gpt_image(
        low=(0.005, 0.006), medium=(0.011, 0.015), high=(0.036, 0.052),
        text_input=2.0, image_input=2.5, image_output=8.0,
    ),
    "gpt-image-1.5": _GPT_IMAGE_1_5,
    "chatgpt-image-latest": _GPT_IMAGE_1_5,
    "gpt-image-2": ModelPrices(
        per_image={"low": {_SQUARE: 0.006}, "medium": {_SQUARE: 0.053}, "high": {_SQUARE: 0.211}},
        text_input=5.0,
        image_input=8.0,
        image_output=30.0,
        area_priced=True,
    ),
}  # fmt: skip

#: The quality the API uses when none is sent, for models that answer without saying.
_DEFAULT_QUALITY = {"dall-e-2": "standard", "dall-e-3": "standard"}


class PriceTable:
    """The published prices, with the connection's ``prices`` extra on top.

    ``overrides`` maps a model name to either a number (USD per image, whatever the quality and size)
    or an object with ``per_image`` (quality -> size -> USD, ``*`` for any) and token prices in USD
    per million (``text_input``, ``image_input``, ``image_output``, ``text_output``). An entry for a
    known model changes only what it names. Dated snapshots (``gpt-image-2-2026-04-21``) use their
    base model's prices unless priced themselves.
    """

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        self._prices = dict(PUBLISHED_PRICES)
        for model, entry in (overrides or {}).items():
            self._prices[model] = _merged(self._prices.get(model), model, entry)

    def for_model(self, model: str) -> ModelPrices | None:
        return self._prices.get(model) or self._prices.get(snapshot_base(model) or "")

    def answer_cost(
        self,
        model: str,
        *,
        images: int,
        usage: ImagesUsage | None,
        quality: str | None,
        size: str | None,
        batch: bool = False,
    ) -> float | None:
        """What an answer of ``images`` images cost: by its ``usage`` when the model is billed by
        tokens, else per image at the quality and size the answer reports (or the request asked).
        ``None`` when the price is unknown."""
        prices = self.for_model(model)
        if prices is None:
            return None
        cost = prices.usage_cost(usage) if usage is not None else None
        if cost is None:
            quality = quality if quality not in (None, "auto") else _DEFAULT_QUALITY.get(model, quality)
            one = prices.highest_image_price(quality, size if size not in (None, "auto") else None)
            cost = None if one is None else one * images
        return None if cost is None else cost * (BATCH_DISCOUNT if batch else 1.0)

    def worst_case(
        self, model: str, *, images: int, quality: str | None, size: str | None, batch: bool = False
    ) -> float | None:
        """The most ``images`` images can cost (quality or size left to the server priced at their
        highest); prompt and input-image tokens are not included. ``None`` when the price is unknown."""
        prices = self.for_model(model)
        one = prices.highest_image_price(quality, size) if prices is not None else None
        return None if one is None else one * images * (BATCH_DISCOUNT if batch else 1.0)


def _merged(base: ModelPrices | None, model: str, entry: Any) -> ModelPrices:
    allowed = (
        "a price per image in USD, or an object with 'per_image' (quality -> size -> USD) and token prices "
        f"in USD per million ({', '.join(_TOKEN_FIELDS)})"
    )
    if isinstance(entry, (int, float)) and not isinstance(entry, bool) and entry >= 0:
        return ModelPrices(per_image={ANY: {ANY: float(entry)}})  # a flat price replaces token prices too
    if not isinstance(entry, Mapping) or set(entry) - {"per_image", *_TOKEN_FIELDS}:
        raise OpenAIImagesValidationError(f"prices[{model!r}]", entry, allowed)
    try:
        per_image = {
            str(q): {str(s): float(p) for s, p in sizes.items()} for q, sizes in entry.get("per_image", {}).items()
        }
        tokens: dict[str, Any] = {name: float(entry[name]) for name in _TOKEN_FIELDS if entry.get(name) is not None}
    except (AttributeError, TypeError, ValueError):
        raise OpenAIImagesValidationError(f"prices[{model!r}]", entry, allowed) from None
    base = base or ModelPrices()
    combined = {quality: {**base.per_image.get(quality, {}), **sizes} for quality, sizes in per_image.items()}
    return dataclasses.replace(base, per_image={**base.per_image, **combined}, **tokens)
