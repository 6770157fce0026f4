"""What an answer costs in US dollars, from the emulator's own price data (:mod:`.served_models`), never
the provider's: GPT image models by the tokens their ``usage`` reports, the legacy DALL·E models per
image by quality and size. The Batch API bills half (:data:`BATCH_DISCOUNT`).

Prices (USD per million tokens: text input / image input / image output / text output): the 2, 2.5
and 2.6 families 5 / 8 / 30 / not billed (2.6 assumed priced as 2.5); ``gpt-image-1`` 5 / 10 / 40;
``gpt-image-1-mini`` 2 / 2.5 / 8; ``gpt-image-1.5`` and ``chatgpt-image-latest`` 5 / 8 / 32 / 10.
Per image: ``dall-e-2`` $0.016 / 0.018 / 0.02 at 256 / 512 / 1024; ``dall-e-3`` standard $0.04
(1024x1024) / 0.08 (oblong), hd $0.08 / 0.12. ``svg_usage`` is reported but not priced (the SVG
author models' prices are not published), and a name the catalogue does not know has no price.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_openai_images.testing.emulator.images.generation import drawn_size
from airflow_provider_openai_images.testing.emulator.images.validation import ValidatedRequest

#: the Batch API bills half the synchronous price
BATCH_DISCOUNT = 0.5
#: the quality DALL·E bills when ``auto`` or none is asked for
_DALL_E_DEFAULT_QUALITY = "standard"


def answer_cost(request: ValidatedRequest, answer: dict[str, Any], *, batch: bool = False) -> float:
    """The USD cost of ``answer`` to ``request``, at batch price with ``batch``."""
    spec = request.spec
    cost = 0.0
    usage = answer.get("usage")
    if spec.token_prices is not None and usage is not None:
        prices = spec.token_prices
        inputs, outputs = usage["input_tokens_details"], usage["output_tokens_details"]
        cost = (
            inputs["text_tokens"] * prices.text_input
            + inputs["image_tokens"] * prices.image_input
            + outputs["image_tokens"] * prices.image_output
            + outputs["text_tokens"] * prices.text_output
        ) / 1_000_000
    elif spec.image_prices:
        quality = request.params.get("quality")
        quality = _DALL_E_DEFAULT_QUALITY if quality in (None, "auto") else quality
        width, height = drawn_size(request)
        per_image = spec.image_prices.get(quality, {}).get(f"{width}x{height}", 0.0)
        cost = per_image * len(answer["data"])
    return cost * BATCH_DISCOUNT if batch else cost
