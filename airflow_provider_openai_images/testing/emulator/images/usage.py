"""The token usage an answer reports, as the GPT image models report it (``usage``, and ``svg_usage`` for
SVG output), from the emulator's own figures (:mod:`.served_models`).

- Output image tokens of one image: the model's figure for its quality at 1024x1024, or its published
  oblong figure at 1536x1024 and 1024x1536, else the 1024x1024 figure scaled by pixel area (rounded).
  ``auto`` quality counts, and is echoed, as :data:`AUTO_QUALITY`. A GIF costs one image per frame.
  No text is output.
- Input text tokens: one per four characters of the prompt (at least one).
- Input image tokens, for each image an edit uploads (and its markup overlay; not its mask): 85 + 170
  per 512-pixel tile, the image first fitted within 2048x2048 then its short side brought down to 768
  (the vision models' published formula); twice that with ``input_fidelity=high`` (an assumption).
- ``svg_usage`` (the emulator's own figures): the prompt's text tokens plus a 1024x1024 reference
  image's (765) in; the document's length over four plus the reasoning tokens of its effort
  (:data:`REASONING_TOKENS`, ``medium`` when none is chosen) out. Its author is ``svg.model``, or the
  image model itself when none is chosen.
"""

from __future__ import annotations

import math

from typing_extensions import TypedDict

from airflow_provider_openai_images.testing.emulator.images.served_models import ModelSpec

#: what ``quality=auto`` (or none) counts and is echoed as
AUTO_QUALITY = "medium"
#: reasoning tokens of the SVG author, by ``svg.reasoning.effort``
REASONING_TOKENS = {"none": 0, "minimal": 64, "low": 256, "medium": 1024, "high": 4096, "xhigh": 8192, "max": 16384}
#: the tokens of the reference image an SVG is authored from (a 1024x1024 image, four tiles)
REFERENCE_IMAGE_TOKENS = 765
_SQUARE = (1024, 1024)
_OBLONG = ((1536, 1024), (1024, 1536))


class InputTokensDetailsJSON(TypedDict):
    text_tokens: int
    image_tokens: int


class OutputTokensDetailsJSON(TypedDict):
    image_tokens: int
    text_tokens: int


class UsageJSON(TypedDict):
    """The spec's ``ImageGenUsage``."""

    input_tokens: int
    input_tokens_details: InputTokensDetailsJSON
    output_tokens: int
    output_tokens_details: OutputTokensDetailsJSON
    total_tokens: int


class SvgUsageJSON(TypedDict):
    """The spec's ``SvgUsage`` (``images_response.py``'s ``SvgUsage`` in openai 3.63.0)."""

    input_tokens: int
    model: str
    output_tokens: int
    reasoning_tokens: int
    total_tokens: int


def concrete_quality(requested: str | None) -> str:
    """The quality an answer echoes and counts: the one asked for, :data:`AUTO_QUALITY` for ``auto``."""
    return AUTO_QUALITY if requested in (None, "auto") else requested


def image_output_tokens(spec: ModelSpec, quality: str, size: tuple[int, int]) -> int:
    """Output tokens of one image (one frame) of ``quality`` and ``size``."""
    if size in _OBLONG and quality in spec.oblong_tokens:
        return spec.oblong_tokens[quality]
    square = spec.output_tokens.get(quality, spec.output_tokens.get(AUTO_QUALITY, 0))
    return square if size == _SQUARE else round(square * size[0] * size[1] / (1024 * 1024))


def text_tokens(prompt: str) -> int:
    return max(1, math.ceil(len(prompt) / 4))


def input_image_tokens(size: tuple[int, int], fidelity: str | None = None) -> int:
    """Tokens of one input image of ``size``, doubled with ``input_fidelity=high``."""
    fit = min(1.0, 2048 / max(size))
    fitted_width, fitted_height = size[0] * fit, size[1] * fit
    shrink = min(1.0, 768 / min(fitted_width, fitted_height))
    tiles = math.ceil(fitted_width * shrink / 512) * math.ceil(fitted_height * shrink / 512)
    tokens = 85 + 170 * tiles
    return 2 * tokens if fidelity == "high" else tokens


def image_usage(
    spec: ModelSpec,
    *,
    quality: str,
    size: tuple[int, int],
    images: int,
    frames: int,
    prompt: str,
    inputs: list[tuple[int, int]],
    fidelity: str | None,
) -> UsageJSON:
    """The ``usage`` of an answer of ``images`` images (each of ``frames`` frames) from ``prompt`` and
    input images of the sizes ``inputs``."""
    text = text_tokens(prompt)
    image_in = sum(input_image_tokens(each, fidelity) for each in inputs)
    image_out = image_output_tokens(spec, quality, size) * frames * images
    return UsageJSON(
        input_tokens=text + image_in,
        input_tokens_details=InputTokensDetailsJSON(text_tokens=text, image_tokens=image_in),
        output_tokens=image_out,
        output_tokens_details=OutputTokensDetailsJSON(image_tokens=image_out, text_tokens=0),
        total_tokens=text + image_in + image_out,
    )


def svg_usage(author: str, effort: str | None, prompt: str, document: bytes) -> SvgUsageJSON:
    """The ``svg_usage`` of authoring ``document``."""
    reasoning = REASONING_TOKENS[effort or "medium"]
    input_tokens = text_tokens(prompt) + REFERENCE_IMAGE_TOKENS
    output_tokens = math.ceil(len(document) / 4) + reasoning
    return SvgUsageJSON(
        input_tokens=input_tokens,
        model=author,
        output_tokens=output_tokens,
        reasoning_tokens=reasoning,
        total_tokens=input_tokens + output_tokens,
    )
