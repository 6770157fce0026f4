"""The JSON bodies of successful answers: an ``ImagesResponse`` for a validated image request, and
the model list of ``GET /models``."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_openai_images.core.models import parse_size
from airflow_provider_openai_images.testing.emulator.rendering import FORMATS, encode_image, render_image
from airflow_provider_openai_images.testing.emulator.validation import ValidatedRequest

#: ``store(content, content_type, extension)`` keeps an image on the image host and returns its URL
StoreImage = Callable[[bytes, str, str], str]


def models_response() -> dict[str, Any]:
    """``GET /models``: every model the provider knows, as the API lists them."""
    from airflow_provider_openai_images.core.models import KNOWN_MODELS

    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "owned_by": "emulator"} for name in KNOWN_MODELS],
    }


def images_response(request: ValidatedRequest, store: StoreImage) -> dict[str, Any]:
    """Draw the ``n`` images asked for and answer with them as ``b64_json`` or as URLs from ``store``."""
    model, rules, params, sources = request.model, request.rules, request.params, request.sources
    gpt = rules.is_gpt_image if rules is not None else model.startswith(("gpt-image", "chatgpt-image"))
    size = parse_size(params.get("size") or "auto") or (
        (sources[0].width, sources[0].height) if sources and not gpt else (1024, 1024)
    )
    output_format = params.get("output_format") or "png"
    response_format = params.get("response_format") or ("b64_json" if gpt else "url")
    transparent = params.get("background") == "transparent"
    prompt = params.get("prompt") or "variation"
    data = []
    for index in range(int(params.get("n") or 1)):
        picture = render_image(
            prompt, index, size, source=sources[0] if sources else None, mask=request.mask, transparent=transparent
        )
        content = encode_image(picture, output_format, params.get("output_compression"))
        item: dict[str, Any] = {}
        if response_format == "url":
            item["url"] = store(content, FORMATS[output_format][1], output_format)
        else:
            item["b64_json"] = base64.b64encode(content).decode("ascii")
        if model.startswith("dall-e-3"):
            item["revised_prompt"] = f"A detailed, vivid rendering of: {prompt}"
        data.append(item)
    answer: dict[str, Any] = {"created": int(time.time()), "data": data}
    if gpt:
        answer.update(
            background="transparent" if transparent else "opaque",
            output_format=output_format,
            size=f"{size[0]}x{size[1]}",
            quality=params.get("quality") if params.get("quality") in ("low", "medium", "high") else "medium",
            usage={
                "input_tokens": 50,
                "output_tokens": 272 * len(data),
                "total_tokens": 50 + 272 * len(data),
                "input_tokens_details": {
                    "text_tokens": 50 - 40 * bool(sources),
                    "image_tokens": 40 * bool(sources),
                },
            },
        )
    return answer
