"""``OpenAIGenerateImageOperator``: images from a prompt, landed in S3."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_openai_images.operators.batch_mode import BaseOpenAIImagesBatchOperator
from airflow_provider_openai_images.operators.output_options import BaseOpenAIImagesOutputOperator
from airflow_provider_openai_images.operators.request_types import RequestTypeOf


class OpenAIGenerateImageOperator(BaseOpenAIImagesBatchOperator, BaseOpenAIImagesOutputOperator):
    """Generate images from a prompt and land them in S3 (``POST /images/generations``).

    Returns one :class:`~airflow_provider_openai_images.records.ImageRecord` per image.

    :param prompt: what to draw (templated, rendered as Markdown in the UI).
    :param style: ``vivid`` or ``natural`` (dall-e-3).
    :param moderation: ``low`` or ``auto`` (GPT image models).

    The other arguments are those of :class:`BaseOpenAIImagesOutputOperator`,
    :class:`~airflow_provider_openai_images.operators.batch_mode.BaseOpenAIImagesBatchOperator` (``use_batch_api``) and
    :class:`~airflow_provider_openai_images.operators.base.BaseOpenAIImagesOperator`.
    """

    template_fields: Sequence[str] = (
        "prompt",
        "style",
        "moderation",
    )
    request_type = RequestTypeOf("GenerateRequest")

    def __init__(self, *, prompt: str, style: str | None = None, moderation: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.style = style
        self.moderation = moderation
