"""The JSON body of a successful image answer: an ``ImagesResponse`` for a validated request.

Images come as ``b64_json`` (GPT image models) or as URLs from the image host (the legacy DALL·E
models' default), in the requested format: PNG, JPEG or WEBP drawings (:mod:`.rendering`), animated
GIFs and SVG documents (:mod:`.previews`). A GPT image model's answer echoes the concrete ``quality``
(never ``auto``), ``size``, ``output_format``, ``background`` and the effective ``safety_identifier``
(the non-empty ``safety_identifier``, else ``user``), and reports its token ``usage``
(:mod:`.usage`), plus ``svg_usage`` for SVG output. DALL·E answers carry the images only (and
``dall-e-3`` its ``revised_prompt``).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_openai_images.testing.emulator.images.model_rules import (
    DEFAULT_FRAMES,
    frame_duration,
    parse_size,
)
from airflow_provider_openai_images.testing.emulator.images.previews import gif_file, svg_document
from airflow_provider_openai_images.testing.emulator.images.rendering import (
    FORMATS,
    encode_image,
    noise_file,
    render_image,
)
from airflow_provider_openai_images.testing.emulator.images.uploads import oriented_size
from airflow_provider_openai_images.testing.emulator.images.usage import (
    concrete_quality,
    image_usage,
    svg_usage,
)
from airflow_provider_openai_images.testing.emulator.images.validation import ValidatedRequest

#: ``store(content, content_type, extension)`` keeps an image on the image host and returns its URL
StoreImage = Callable[[bytes, str, str], str]
_RASTER = ("png", "jpeg", "webp")


def drawn_size(request: ValidatedRequest) -> tuple[int, int]:
    """The size the answer's images are drawn at: the one asked for; for ``auto`` or none, 1024x1024,
    or a DALL·E edit's or variation's input image size."""
    sources = request.sources
    explicit = parse_size(request.params.get("size") or "auto")
    if explicit is not None:
        return explicit
    return (sources[0].width, sources[0].height) if sources and not request.spec.gpt_image else (1024, 1024)


def safety_identifier(params: dict[str, Any]) -> str | None:
    """The identifier the answer echoes: the non-empty ``safety_identifier``, else a non-empty ``user``."""
    return params.get("safety_identifier") or params.get("user") or None


def images_response(
    request: ValidatedRequest,
    store: StoreImage,
    *,
    corrupt: bool = False,
    incompressible: bool = False,
    images_delta: int = 0,
) -> dict[str, Any]:
    """Draw the ``n`` images asked for and answer with them as ``b64_json`` or as URLs from ``store``.

    :param corrupt: cut every image file to half its bytes (``Fault.corrupt_image``).
    :param incompressible: random noise instead of a drawing, as big as a real picture (benchmarks;
        PNG, JPEG and WEBP only).
    :param images_delta: answer this many more images than asked, or fewer (``Fault.miscount``).
    """
    spec, params = request.spec, request.params
    gpt = spec.gpt_image
    size = drawn_size(request)
    output_format = params.get("output_format") or "png"
    response_format = params.get("response_format") or ("b64_json" if gpt else "url")
    prompt = params.get("prompt") or "variation"
    frames = int(params.get("frame_count") or DEFAULT_FRAMES) if output_format == "gif" else 1
    data, documents = [], []
    for index in range(max(0, int(params.get("n") or 1) + images_delta)):
        content = _image_file(request, index, size, output_format, frames, incompressible=incompressible)
        if output_format == "svg":
            documents.append(content)
        if corrupt:
            content = content[: len(content) // 2]
        item: dict[str, Any] = {}
        if response_format == "url":
            item["url"] = store(content, FORMATS[output_format][1], output_format)
        else:
            item["b64_json"] = base64.b64encode(content).decode("ascii")
        if spec.family == "dall-e-3":
            item["revised_prompt"] = f"A detailed, vivid rendering of: {prompt}"
        data.append(item)
    answer: dict[str, Any] = {"created": int(time.time()), "data": data}
    if not gpt:
        return answer
    quality = concrete_quality(params.get("quality"))
    inputs = [oriented_size(image) for image in request.sources]
    if request.markup is not None:
        inputs.append(oriented_size(request.markup))
    answer.update(
        background="transparent" if params.get("background") == "transparent" else "opaque",
        output_format=output_format,
        size=f"{size[0]}x{size[1]}",
        quality=quality,
        usage=image_usage(
            spec,
            quality=quality,
            size=size,
            images=len(data),
            frames=frames,
            prompt=prompt,
            inputs=inputs,
            fidelity=params.get("input_fidelity"),
        ),
    )
    if (identifier := safety_identifier(params)) is not None:
        answer["safety_identifier"] = identifier
    if documents:
        svg = params.get("svg") or {}
        effort = (svg.get("reasoning") or {}).get("effort")
        answer["svg_usage"] = svg_usage(svg.get("model") or spec.name, effort, prompt, documents[0])
    return answer


def _image_file(
    request: ValidatedRequest,
    index: int,
    size: tuple[int, int],
    output_format: str,
    frames: int,
    *,
    incompressible: bool,
) -> bytes:
    params = request.params
    prompt = params.get("prompt") or "variation"
    transparent = params.get("background") == "transparent"
    compression = params.get("output_compression")
    if output_format == "svg":
        return svg_document(prompt, index, size)
    if incompressible and output_format in _RASTER:
        return noise_file(size, output_format, transparent=transparent, compression=compression)
    picture = render_image(
        prompt,
        index,
        size,
        source=request.sources[0] if request.sources else None,
        mask=request.mask,
        markup=request.markup,
        transparent=transparent,
    )
    if output_format == "gif":
        return gif_file(picture, frames, frame_duration(params))
    return encode_image(picture, output_format, compression)
