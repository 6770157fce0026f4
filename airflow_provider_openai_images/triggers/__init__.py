"""Triggers of the OpenAI Images provider: deferred operators generate and land their images in the triggerer."""

from airflow_provider_openai_images.triggers.images import OpenAIImagesTrigger

__all__ = ["OpenAIImagesTrigger"]
