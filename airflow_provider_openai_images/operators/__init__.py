"""Operators of the OpenAI Images provider: generate, edit and vary images, landed in S3."""

from airflow_provider_openai_images.operators.images import (
    BaseOpenAIImagesOperator,
    OpenAICreateImageVariationOperator,
    OpenAIEditImageOperator,
    OpenAIGenerateImageOperator,
)

__all__ = [
    "BaseOpenAIImagesOperator",
    "OpenAICreateImageVariationOperator",
    "OpenAIEditImageOperator",
    "OpenAIGenerateImageOperator",
]
