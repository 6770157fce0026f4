"""What an answer cost, and what else may have been paid for: the figures records, sidecars and the
task log carry. Estimates from :mod:`~airflow_provider_openai_images.core.pricing`, never invoices."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_openai_images.core.attempts import Attempt, possibly_billed_images
from airflow_provider_openai_images.core.budget import Ask
from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.requests import ImageRequest
from airflow_provider_openai_images.core.responses import ImagesResponse
from airflow_provider_openai_images.records import PreparationReport, Provenance, TaskInstanceInfo


def answer_costs(
    prices: PriceTable, request: ImageRequest, response: ImagesResponse, *, batch: bool = False
) -> tuple[float | None, float | None]:
    """What the answer cost (at Batch API prices with ``batch``), and at most what the attempts that may
    have been billed without an answer cost (0 when there were none); ``None`` where a price is unknown."""
    quality = getattr(request, "quality", None)
    cost = prices.answer_cost(
        request.model,
        images=len(response.data),
        usage=response.usage,
        quality=response.quality or quality,
        size=response.size or request.size,
        batch=batch,
    )
    return cost, possibly_billed_cost(prices, request, response.attempts)


def possibly_billed_cost(prices: PriceTable, request: ImageRequest, attempts: Sequence[Attempt]) -> float | None:
    """At most what the ``attempts`` of ``request`` that may have been billed without an answer cost (0 when
    there were none); ``None`` where a price is unknown."""
    unanswered = possibly_billed_images(tuple(attempts))
    if not unanswered:
        return 0.0
    possibly = prices.worst_case(
        request.model,
        images=unanswered,
        quality=getattr(request, "quality", None),
        size=request.size,
        output_format=getattr(request, "output_format", None),
        frame_count=getattr(request, "frame_count", None),
        input_images=Ask.of(request).input_images,
    )
    return None if possibly is None else round(possibly, 6)


def per_image(cost: float | None, images: int) -> float | None:
    """Each image's share of an answer's cost."""
    return None if cost is None or not images else round(cost / images, 6)


def spend_summary(images: int, provenance: Provenance) -> str:
    """One line on what a try spent: the images of its answer, their cost, attempts that may have been billed."""
    each = provenance.get("cost_usd")
    cost = "cost unknown (add the model to the connection's prices)" if each is None else f"${each * images:.4f}"
    suspects = sum(attempt["possibly_billed"] for attempt in provenance.get("attempts", []))
    possibly = provenance.get("possibly_billed_cost_usd")
    up_to = f" (up to ${possibly:.4f})" if possibly else ""
    return (
        f"Spend of this try: {images} image(s) answered, {cost} (estimate); {suspects} attempt(s) may have been "
        f"billed without an answer{up_to}."
    )


def batch_spend_summary(batch_id: str | None, spend: Mapping[str, Any]) -> str:
    """One line on what a batch spent, and what the same images would have cost without the Batch API."""
    images, cost, synchronous = spend["images_landed"], spend.get("cost_usd"), spend.get("synchronous_cost_usd")
    if cost is None or synchronous is None:
        return f"Batch {batch_id}: {images} image(s) landed, cost unknown (add the model to the connection's prices)."
    return (
        f"Batch {batch_id}: {images} image(s) landed, ${cost:.4f} at Batch API prices (estimate); the same images "
        f"at synchronous prices: ${synchronous:.4f}, saved ${synchronous - cost:.4f}."
    )


def answer_provenance(
    request: ImageRequest,
    response: ImagesResponse,
    *,
    prices: PriceTable,
    sources: list[str],
    task: TaskInstanceInfo,
    prepared: PreparationReport | None = None,
    batch_id: str | None = None,
) -> Provenance:
    """What the sidecar of each image of ``response`` says about how it came to be, and what it cost
    (at Batch API prices for an answer from batch ``batch_id``)."""
    parameters = request.parameters()
    cost, possibly_billed_cost = answer_costs(prices, request, response, batch=batch_id is not None)
    provenance: Provenance = {
        "model": request.model,
        "prompt": parameters.pop("prompt", None),
        "request_id": response.request_id,
        "created": response.created,
        "parameters": parameters,
        "usage": dataclasses.asdict(response.usage) if response.usage else None,
        "output_format": response.output_format,
        "inputs": sources,
        "task": task,
        "cost_usd": per_image(cost, len(response.data)),
        "attempts": [attempt.as_record() for attempt in response.attempts],
        "possibly_billed_cost_usd": possibly_billed_cost,
    }
    if response.svg_usage is not None:
        provenance["svg_usage"] = dict(response.svg_usage)  # the SVG author's tokens: not in cost_usd (no price)
    if prepared is not None:
        provenance["prepared"] = prepared
    if batch_id is not None:
        provenance["batch_id"] = batch_id
    return provenance
