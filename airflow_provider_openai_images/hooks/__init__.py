"""Hooks of the OpenAI Images provider."""

from airflow_provider_openai_images.hooks.openai_images import OpenAIImagesHook

__all__ = ["OpenAIImagesHook"]
