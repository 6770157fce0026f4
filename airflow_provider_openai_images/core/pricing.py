"""What images cost, in US dollars: published prices, and estimates from an answer or a request.

GPT image models are billed by tokens (text and image input, image output); an answer's ``usage``
gives its cost. DALL-E models, and any answer without ``usage``, are priced per image by model,
quality and size. The Batch API costs half (:data:`BATCH_DISCOUNT`).

The prices are data: each model's ``prices`` in the model catalogue
(:mod:`~airflow_provider_openai_images.core.catalogue`, with its sources and as-of date), the
connection's ``models`` extra on top, then its ``prices`` extra (see :class:`PriceTable`). Every figure
here is an estimate, never an invoice.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.core.models import STANDARD_GPT_SIZES, parse_size, snapshot_base
from airflow_provider_openai_images.core.responses import ImagesUsage
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.catalogue import ModelCatalogue

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

    def highest_image_price(
        self, quality: str | None, size: str | None, *, qualities: Iterable[str] | None = None
    ) -> float | None:
        """The most one image can cost when ``quality`` or ``size`` is left to the server (``None``/``auto``).

        :param qualities: the qualities ``auto`` may choose (the model's); default: those priced here. One of
            them without a price makes the most unknown (``None``): a budget cannot be kept on a guess.
        """
        if quality not in (None, "auto"):
            candidates: list[str] = [str(quality)]
        else:
            candidates = [each for each in (qualities if qualities is not None else self.per_image) if each != "auto"]
        prices = []
        for each_quality in candidates:
            by_size = self.per_image.get(each_quality) or self.per_image.get(ANY)
            if not by_size:
                return None
            if size not in (None, "auto"):
                sizes: Iterable[str] = [str(size)]
            elif self.area_priced and ANY not in by_size:
                sizes = STANDARD_GPT_SIZES  # what "auto" chooses among
            else:
                sizes = by_size.keys()
            for each_size in sizes:
                price = self.image_price(each_quality, each_size)
                if price is None:
                    return None
                prices.append(price)
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


class PriceTable:
    """Each model's prices: its catalogue entry's ``prices``, with the connection's ``prices`` extra on top.

    ``overrides`` maps a model name to either a number (USD per image, whatever the quality and size)
    or an object with ``per_image`` (quality -> size -> USD, ``*`` for any) and token prices in USD per
    million (``text_input``, ``image_input``, ``image_output``, ``text_output``); ``area_priced`` scales a
    1024x1024 per-image price by pixel area. An entry for a known model changes only what it names. Dated
    snapshots (``gpt-image-2-2026-04-21``) use their base model's prices unless priced themselves.

    :param catalogue: the models (default: the packaged catalogue); the connection's ``models`` extra may
        price models there too.
    """

    def __init__(self, overrides: Mapping[str, Any] | None = None, *, catalogue: ModelCatalogue | None = None) -> None:
        if catalogue is None:
            from airflow_provider_openai_images.core.catalogue import packaged_catalogue

            catalogue = packaged_catalogue()
        self.catalogue = catalogue
        self._prices: dict[str, ModelPrices] = {}
        for model in catalogue:
            entry = catalogue.prices_entry(model)
            if entry:
                self._prices[model] = parse_prices(None, f"models[{model!r}].prices", entry)
        for model, entry in (overrides or {}).items():
            self._prices[model] = parse_prices(self.for_model(model), f"prices[{model!r}]", entry)

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
            one = prices.highest_image_price(
                quality, size if size not in (None, "auto") else None, qualities=self._qualities(model)
            )
            cost = None if one is None else one * images
        return None if cost is None else cost * (BATCH_DISCOUNT if batch else 1.0)

    def worst_case(
        self,
        model: str,
        *,
        images: int,
        quality: str | None,
        size: str | None,
        batch: bool = False,
        output_format: str | None = None,
        frame_count: int | None = None,
        input_images: int = 0,
    ) -> float | None:
        """The most ``images`` images can cost (quality or size left to the server priced at their
        highest), with ``input_images`` input images (an edit's) at their most tokens where the model prices
        input image tokens; the prompt's tokens are not included. ``None`` when the price is unknown.

        A GIF counts each of its frames (9 unless ``frame_count`` says) as one image at most. An SVG's
        price is unknown: its author model's tokens have no published price.
        """
        if output_format == "svg":
            return None
        prices = self.for_model(model)
        if prices is None:
            return None
        one = prices.highest_image_price(quality, size, qualities=self._qualities(model))
        if one is None:
            return None
        frames = (frame_count or DEFAULT_GIF_FRAMES) if output_format == "gif" else 1
        inputs = input_images * MAX_INPUT_IMAGE_TOKENS * (prices.image_input or 0.0) / 1_000_000
        return (one * images * frames + inputs) * (BATCH_DISCOUNT if batch else 1.0)

    def _qualities(self, model: str) -> frozenset[str] | None:
        rules = self.catalogue.rules_for(model)
        return rules.qualities if rules is not None else None


#: The quality the API uses when none is sent, for models that answer without saying.
_DEFAULT_QUALITY = {"dall-e-2": "standard", "dall-e-3": "standard"}
#: GIF answers have this many frames unless ``frame_count`` says otherwise (the official client).
DEFAULT_GIF_FRAMES = 9
#: The most tokens one input image counts, by OpenAI's published image-input formula (fitted within 2048x2048,
#: its short side brought to 768, 85 tokens plus 170 per 512-pixel tile: at most 2 x 4 tiles); an estimate for
#: image models, whose own figures are not published.
MAX_INPUT_IMAGE_TOKENS = 85 + 170 * 8


def parse_prices(base: ModelPrices | None, where: str, entry: Any) -> ModelPrices:
    """``entry`` (a number: USD per image; or an object of prices) over ``base``.

    :raises OpenAIImagesValidationError: naming ``where``, for an entry that is neither.
    """
    allowed = (
        "a price per image in USD, or an object with 'per_image' (quality -> size -> USD), 'area_priced' and token "
        f"prices in USD per million ({', '.join(_TOKEN_FIELDS)})"
    )
    if isinstance(entry, (int, float)) and not isinstance(entry, bool) and entry >= 0:
        return ModelPrices(per_image={ANY: {ANY: float(entry)}})  # a flat price replaces token prices too
    if not isinstance(entry, Mapping) or set(entry) - {"per_image", "area_priced", "note", *_TOKEN_FIELDS}:
        raise OpenAIImagesValidationError(where, entry, allowed)
    try:
        per_image = {
            str(q): {str(s): _price(p) for s, p in sizes.items()} for q, sizes in (entry.get("per_image") or {}).items()
        }
        tokens: dict[str, Any] = {
            name: None if entry[name] is None else _price(entry[name]) for name in _TOKEN_FIELDS if name in entry
        }
    except (AttributeError, TypeError, ValueError):
        raise OpenAIImagesValidationError(where, entry, allowed) from None
    base = base or ModelPrices()
    combined = {quality: merged_sizes(base.per_image.get(quality, {}), sizes) for quality, sizes in per_image.items()}
    area_priced = bool(entry.get("area_priced", base.area_priced))
    return dataclasses.replace(base, per_image={**base.per_image, **combined}, area_priced=area_priced, **tokens)


def merged_sizes(base: Mapping[str, Any], sizes: Mapping[str, Any]) -> dict[str, Any]:
    """One quality's prices by size, ``sizes`` over ``base``; a ``*`` (any size) replaces them all."""
    return dict(sizes) if ANY in sizes else {**base, **sizes}


def _price(value: Any) -> float:
    """A price: a finite, non-negative number."""
    price = float(value)
    if isinstance(value, bool) or not math.isfinite(price) or price < 0:
        raise ValueError(value)
    return price
