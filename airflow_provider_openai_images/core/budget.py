"""The budget guard: how many images, and how many dollars at most, one call may spend.

Checked before anything is sent, on the worst case: every image at the highest price the model,
quality and size allow (a quality or size left to the server counts at its most expensive).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from airflow_provider_openai_images.core.numbers import strict_float, strict_int
from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.requests import ImageRequest
from airflow_provider_openai_images.exceptions import OpenAIImagesBudgetError, OpenAIImagesValidationError


class Ask(NamedTuple):
    """What one request asks for, as far as its price goes."""

    model: str
    images: int
    quality: str | None = None
    size: str | None = None
    output_format: str | None = None
    frame_count: int | None = None
    input_images: int = 0

    @classmethod
    def of(cls, request: ImageRequest, *, input_images: int | None = None) -> Ask:
        """What ``request`` asks for; ``input_images`` counts its input images when they are not loaded yet
        (default: the request's own uploads)."""
        uploads = [*getattr(request, "images", ()), getattr(request, "markup", None)]
        return cls(
            request.model,
            request.n or 1,
            getattr(request, "quality", None),
            request.size,
            getattr(request, "output_format", None),
            getattr(request, "frame_count", None),
            sum(upload is not None for upload in uploads) if input_images is None else input_images,
        )


@dataclass(frozen=True)
class Budget:
    """At most ``max_images`` images and ``max_cost_usd`` dollars (``None``: no limit).

    Built from loosely typed values with :meth:`parse`, as templates render them.
    """

    max_images: int | None = None
    max_cost_usd: float | None = None

    @classmethod
    def parse(cls, max_images: Any = None, max_cost_usd: Any = None) -> Budget:
        return cls(_limit("max_images", max_images, int), _limit("max_cost_usd", max_cost_usd, float))

    def check(self, prices: PriceTable, asks: Sequence[Ask], *, batch: bool = False) -> float | None:
        """Refuse requests over budget, all ``asks`` together; return their worst-case cost (``None`` if a
        price is unknown).

        :raises OpenAIImagesBudgetError: more images than ``max_images``, a worst case over
            ``max_cost_usd``, or ``max_cost_usd`` set for a model whose price is unknown.
        """
        images = sum(ask.images for ask in asks)
        if self.max_images is not None and images > self.max_images:
            raise OpenAIImagesBudgetError(
                f"Over budget, nothing was sent: max_images={self.max_images}, and this asks for {images} images."
            )
        costs = [
            prices.worst_case(
                ask.model,
                images=ask.images,
                quality=ask.quality,
                size=ask.size,
                batch=batch,
                output_format=ask.output_format,
                frame_count=ask.frame_count,
                input_images=ask.input_images,
            )
            for ask in asks
        ]
        unpriced = [ask for ask, cost in zip(asks, costs, strict=True) if cost is None]
        worst = None if unpriced else sum(cost or 0.0 for cost in costs)
        if self.max_cost_usd is None:
            return worst
        if unpriced:
            ask = unpriced[0]
            if ask.output_format == "svg":
                raise OpenAIImagesBudgetError(
                    f"Nothing was sent: max_cost_usd={self.max_cost_usd:g} is set, but an SVG's author model is billed "
                    "by tokens at prices OpenAI has not published, so no budget can bound it: leave max_cost_usd unset "
                    "for SVG output (max_images still applies)."
                )
            if prices.for_model(ask.model) is None:
                raise OpenAIImagesBudgetError(
                    f"Nothing was sent: max_cost_usd={self.max_cost_usd:g} is set, but the price of {ask.model!r} is "
                    f"unknown. Add it to the connection's 'prices' extra, e.g. {json.dumps({ask.model: 0.04})} (USD "
                    "per image), or to its 'models' extra with token prices."
                )
            example = json.dumps({ask.model: {"per_image": {_missing_quality(prices, ask): {"*": 0.4}}}})
            raise OpenAIImagesBudgetError(
                f"Nothing was sent: max_cost_usd={self.max_cost_usd:g} is set, but the most {_described([ask])} can "
                f"cost is unknown{_why_unpriced(prices, ask)}. Name a priced quality, or add a per-image price to the "
                f"connection's 'prices' extra, e.g. {example} (USD per image, any size)."
            )
        assert worst is not None
        if worst > self.max_cost_usd:
            raise OpenAIImagesBudgetError(
                f"Over budget, nothing was sent: max_cost_usd={self.max_cost_usd:g}, and {_described(asks)} may cost "
                f"up to ${worst:.4f}."
            )
        return worst


def _described(asks: Sequence[Ask]) -> str:
    if len(asks) == 1:
        ask = asks[0]
        plural = "s" if ask.images != 1 else ""
        return f"{ask.images} image{plural} of {ask.model} (quality {ask.quality or 'auto'}, size {ask.size or 'auto'})"
    return f"{sum(ask.images for ask in asks)} images in {len(asks)} requests"


def _unpriced_qualities(prices: PriceTable, ask: Ask) -> list[str]:
    """The qualities ``ask`` may get that have no per-image price."""
    model_prices = prices.for_model(ask.model)
    rules = prices.catalogue.rules_for(ask.model)
    if ask.quality not in (None, "auto"):
        candidates = {str(ask.quality)}
    else:
        candidates = set(rules.qualities - {"auto"}) if rules is not None and rules.qualities else set()
    priced = model_prices.per_image if model_prices else {}
    return sorted(quality for quality in candidates if quality not in priced and "*" not in priced)


def _missing_quality(prices: PriceTable, ask: Ask) -> str:
    return next(iter(_unpriced_qualities(prices, ask)), "*")


def _why_unpriced(prices: PriceTable, ask: Ask) -> str:
    """Why the worst case of ``ask`` is unknown."""
    unpriced = _unpriced_qualities(prices, ask)
    if ask.quality in (None, "auto") and unpriced:
        return f" (quality 'auto' may choose {', '.join(map(repr, unpriced))}, which have no per-image price)"
    return f" (no per-image price for quality {ask.quality or 'auto'!r})"


def _limit(name: str, value: Any, kind: type[int] | type[float]) -> Any:
    if value is None or value == "":
        return None
    limit = strict_int(value) if kind is int else strict_float(value)
    if limit is None or limit < 0:
        allowed = "a non-negative integer" if kind is int else "a finite, non-negative number"
        raise OpenAIImagesValidationError(name, value, allowed)
    return limit
