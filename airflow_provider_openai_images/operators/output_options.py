"""``BaseOpenAIImagesOutputOperator``: the output options that generations, edits and bulk generations share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_openai_images.operators.base import BaseOpenAIImagesOperator


class BaseOpenAIImagesOutputOperator(BaseOpenAIImagesOperator):
    """What the images look like, for the operators that send a prompt; on top of the base operator's arguments.

    :param quality: ``low``/``medium``/``high``/``auto`` (GPT image models; ``xhigh`` and ``max`` too on the 2.5
        family), ``standard``/``hd`` (dall-e-3).
    :param complexity: ``low``/``medium``/``high``: how much the model plans the image, apart from ``quality``.
    :param background: ``transparent``, ``opaque`` or ``auto`` (GPT image models).
    :param output_format: ``png``, ``jpeg``, ``webp``, ``gif`` (animated) or ``svg`` (GPT image models that
        take them). Every GIF frame is verified on landing and its thumbnail is the first frame; an SVG is
        checked as well-formed SVG and gets no raster thumbnail.
    :param output_compression: 0-100 for ``jpeg`` and ``webp`` (GPT image models).
    :param frame_count: how many frames a GIF has (2 to 16; the API's default is 9).
    :param frame_duration_ms: how long each GIF frame shows, in milliseconds (the API's default is 200).
    :param svg: the SVG author's options, e.g. ``{"model": "...", "reasoning": {"effort": "low"}}``
        (``output_format="svg"``, which also needs ``n=1``).
    """

    template_fields: Sequence[str] = (
        "quality", "complexity", "background", "output_format", "output_compression", "frame_count",
        "frame_duration_ms", "svg",
    )  # fmt: skip

    def __init__(
        self,
        *,
        quality: str | None = None,
        complexity: str | None = None,
        background: str | None = None,
        output_format: str | None = None,
        output_compression: int | str | None = None,
        frame_count: int | str | None = None,
        frame_duration_ms: int | str | None = None,
        svg: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.quality = quality
        self.complexity = complexity
        self.background = background
        self.output_format = output_format
        self.output_compression = output_compression
        self.frame_count = frame_count
        self.frame_duration_ms = frame_duration_ms
        self.svg = svg
