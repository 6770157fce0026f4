"""The JSON bodies of successful answers: an ``ImagesResponse`` for a validated image request (with
GPT image models' token ``usage``, by quality and size as OpenAI documents it for gpt-image-1), and
the model list of ``GET /models``."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Collection
from typing import Any

from airflow_provider_openai_images.core.models import parse_size
from airflow_provider_openai_images.testing.emulator.rendering import FORMATS, encode_image, noise_file, render_image
from airflow_provider_openai_images.testing.emulator.validation import ValidatedRequest

#: ``store(content, content_type, extension)`` keeps an image on the image host and returns its URL
StoreImage = Callable[[bytes, str, str], str]

#: output tokens of one gpt-image-1 image, as OpenAI documents them: size -> quality -> tokens
OUTPUT_TOKENS: dict[tuple[int, int], dict[str, int]] = {
    (1024, 1024): {"low": 272, "medium": 1056, "high": 4160},
    (1024, 1536): {"low": 408, "medium": 1584, "high": 6240},
    (1536, 1024): {"low": 408, "medium": 1584, "high": 6240},
}
#: what a GPT image request's text and input images count as (input tokens)
_TEXT_TOKENS, _INPUT_IMAGE_TOKENS = 50, 40


def image_output_tokens(quality: str | None, size: tuple[int, int]) -> int:
    """Output tokens of one image: the documented figure for the three standard sizes, the 1024x1024
    one scaled by pixel area (rounded) for any other; ``auto`` or no quality counts as ``medium``."""
    quality = quality if quality in ("low", "high") else "medium"
    if size in OUTPUT_TOKENS:
        return OUTPUT_TOKENS[size][quality]
    return round(OUTPUT_TOKENS[(1024, 1024)][quality] * size[0] * size[1] / (1024 * 1024))


def models_response(unavailable: Collection[str] = ()) -> dict[str, Any]:
    """``GET /models``: every model the provider knows that is not ``unavailable``, as the API lists them."""
    from airflow_provider_openai_images.core.models import KNOWN_MODELS

    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "owned_by": "emulator"} for name in KNOWN_MODELS if name not in unavailable
        ],
    }


def images_response(
    request: ValidatedRequest, store: StoreImage, *, corrupt: bool = False, incompressible: bool = False
) -> dict[str, Any]:
    """Draw the ``n`` images asked for and answer with them as ``b64_json`` or as URLs from ``store``.

    :param corrupt: cut every image file to half its bytes (``Fault.corrupt_image``).
    :param incompressible: random noise instead of a drawing, as big as a real picture (benchmarks).
    """
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
        if incompressible:
            content = noise_file(
                size, output_format, transparent=transparent, compression=params.get("output_compression")
            )
        else:
            picture = render_image(
                prompt, index, size, source=sources[0] if sources else None, mask=request.mask, transparent=transparent
            )
            content = encode_image(picture, output_format, params.get("output_compression"))
        if corrupt:
            content = content[: len(content) // 2]
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
        quality = params.get("quality") if params.get("quality") in ("low", "medium", "high") else "medium"
        answer.update(
            background="transparent" if transparent else "opaque",
            output_format=output_format,
            size=f"{size[0]}x{size[1]}",
            quality=quality,
            usage=_usage(image_output_tokens(quality, size) * len(data), with_images=bool(sources)),
        )
    return answer


def _usage(output_tokens: int, *, with_images: bool) -> dict[str, Any]:
    """An ``ImageGenUsage``: input split between text and images, output all image tokens."""
    image_tokens = _INPUT_IMAGE_TOKENS if with_images else 0
    return {
        "input_tokens": _TEXT_TOKENS,
        "output_tokens": output_tokens,
        "total_tokens": _TEXT_TOKENS + output_tokens,
        "input_tokens_details": {"text_tokens": _TEXT_TOKENS - image_tokens, "image_tokens": image_tokens},
        "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
    }
