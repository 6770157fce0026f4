"""Triggers of the OpenAI Images provider: deferred operators generate and land their images in the triggerer,
or wait for their Batch API batch and land its output."""

from airflow_provider_openai_images.triggers.batch import OpenAIImagesBatchTrigger
from airflow_provider_openai_images.triggers.images import OpenAIImagesTrigger

__all__ = ["OpenAIImagesBatchTrigger", "OpenAIImagesTrigger"]
