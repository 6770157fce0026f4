"""A DAG whose task announces what it landed: an asset event per image through an alias."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_openai_images.operators import OpenAIGenerateImageOperator

with DAG(dag_id="announce_generate", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    OpenAIGenerateImageOperator(
        task_id="generate",
        prompt="A paper boat on a pond",
        model="gpt-image-2.5-flare",
        quality="low",
        n=2,
        asset_alias="test_new_images",
        s3_bucket="openai-images-demo",
    )
