"""``BaseOpenAIPromptedImagesOperator``: the prompt and output options that generations and edits share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_openai_images.operators.base import BaseOpenAIImagesOperator, images_template_fields


class BaseOpenAIPromptedImagesOperator(BaseOpenAIImagesOperator):
    """What generations and edits share (``PromptedImageRequest``), on top of the base operator's arguments.

    :param prompt: what to draw, or what to change (templated, rendered as Markdown in the UI).
    :param quality: ``low``/``medium``/``high``/``auto`` (GPT image models), ``standard``/``hd`` (dall-e-3).
    :param background: ``transparent``, ``opaque`` or ``auto`` (GPT image models).
    :param output_format: ``png``, ``jpeg`` or ``webp`` (GPT image models).
    :param output_compression: 0-100 for ``jpeg`` and ``webp`` (GPT image models).
    """

    template_fields: Sequence[str] = images_template_fields(
        "prompt", "quality", "background", "output_format", "output_compression"
    )

    def __init__(
        self,
        *,
        prompt: str,
        quality: str | None = None,
        background: str | None = None,
        output_format: str | None = None,
        output_compression: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.quality = quality
        self.background = background
        self.output_format = output_format
        self.output_compression = output_compression
