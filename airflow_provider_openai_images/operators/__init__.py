"""Operators of the OpenAI Images provider: generate, edit and vary images, landed in S3.

:class:`BaseOpenAIImagesOperator` holds what every request and every landing needs,
:class:`BaseOpenAIImagesOutputOperator` the output options of generations, edits and bulk generations,
:class:`BaseOpenAIImagesInputOperator` the input images of edits and variations.
:class:`BaseOpenAIImagesBatchOperator` the Batch API mode of generations, edits and bulk generations.
:class:`OpenAIBulkGenerateImagesOperator` generates a list of prompts in one task.
"""

from airflow_provider_openai_images.operators.base import BaseOpenAIImagesOperator, images_template_fields
from airflow_provider_openai_images.operators.batch_mode import BaseOpenAIImagesBatchOperator
from airflow_provider_openai_images.operators.bulk import OpenAIBulkGenerateImagesOperator
from airflow_provider_openai_images.operators.edit import OpenAIEditImageOperator
from airflow_provider_openai_images.operators.generate import OpenAIGenerateImageOperator
from airflow_provider_openai_images.operators.output_options import BaseOpenAIImagesOutputOperator
from airflow_provider_openai_images.operators.variation import OpenAICreateImageVariationOperator
from airflow_provider_openai_images.operators.with_inputs import BaseOpenAIImagesInputOperator

__all__ = [
    "BaseOpenAIImagesBatchOperator",
    "BaseOpenAIImagesInputOperator",
    "BaseOpenAIImagesOperator",
    "BaseOpenAIImagesOutputOperator",
    "OpenAIBulkGenerateImagesOperator",
    "OpenAICreateImageVariationOperator",
    "OpenAIEditImageOperator",
    "OpenAIGenerateImageOperator",
    "images_template_fields",
]
