"""``BaseOpenAIImagesOutputOperator``: the output options that generations, edits and bulk generations share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_openai_images.operators.base import BaseOpenAIImagesOperator, images_template_fields


class BaseOpenAIImagesOutputOperator(BaseOpenAIImagesOperator):
    """What the images look like, for the operators that send a prompt; on top of the base operator's arguments.

    :param quality: ``low``/``medium``/``high``/``auto`` (GPT image models), ``standard``/``hd`` (dall-e-3).
    :param background: ``transparent``, ``opaque`` or ``auto`` (GPT image models).
    :param output_format: ``png``, ``jpeg`` or ``webp`` (GPT image models).
    :param output_compression: 0-100 for ``jpeg`` and ``webp`` (GPT image models).
    """

    template_fields: Sequence[str] = images_template_fields(
        "quality", "background", "output_format", "output_compression"
    )

    def __init__(
        self,
        *,
        quality: str | None = None,
        background: str | None = None,
        output_format: str | None = None,
        output_compression: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.quality = quality
        self.background = background
        self.output_format = output_format
        self.output_compression = output_compression
