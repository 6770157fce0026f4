"""The budget guard: how many images, and how many dollars at most, one call may spend.

Checked before anything is sent, on the worst case: every image at the highest price the model,
quality and size allow (a quality or size left to the server counts at its most expensive).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.exceptions import OpenAIImagesBudgetError, OpenAIImagesValidationError


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

    def check(
        self,
        prices: PriceTable,
        *,
        model: str,
        images: int,
        quality: str | None = None,
        size: str | None = None,
        batch: bool = False,
    ) -> float | None:
        """Refuse a request over budget; return its worst-case cost (``None`` if the price is unknown).

        :raises OpenAIImagesBudgetError: ``images`` over ``max_images``, the worst case over
            ``max_cost_usd``, or ``max_cost_usd`` set for a model whose price is unknown.
        """
        if self.max_images is not None and images > self.max_images:
            raise OpenAIImagesBudgetError(
                f"Over budget, nothing was sent: max_images={self.max_images}, and this asks for {images} images."
            )
        worst = prices.worst_case(model, images=images, quality=quality, size=size, batch=batch)
        if self.max_cost_usd is None:
            return worst
        plural = "s" if images != 1 else ""
        what = f"{images} image{plural} of {model} (quality {quality or 'auto'}, size {size or 'auto'})"
        if worst is None:
            raise OpenAIImagesBudgetError(
                f"Nothing was sent: max_cost_usd={self.max_cost_usd:g} is set, but the price of {model!r} is unknown. "
                f"Add it to the connection's 'prices' extra, e.g. {{\"{model}\": 0.04}} (USD per image)."
            )
        if worst > self.max_cost_usd:
            raise OpenAIImagesBudgetError(
                f"Over budget, nothing was sent: max_cost_usd={self.max_cost_usd:g}, and {what} may cost up to "
                f"${worst:.4f}."
            )
        return worst


def _limit(name: str, value: Any, kind: type[int] | type[float]) -> Any:
    if value is None or value == "":
        return None
    try:
        limit = kind(value)
    except (TypeError, ValueError):
        limit = None
    if limit is None or isinstance(value, bool) or limit < 0:
        raise OpenAIImagesValidationError(name, value, f"a non-negative {'integer' if kind is int else 'number'}")
    return limit
