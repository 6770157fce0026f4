"""A DAG whose bulk task lands its images through the asset alias the example DAGs use, ``openai_images``:
``openai_images_on_new_images`` (scheduled on that alias) runs after it."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator

with DAG(
    dag_id="assets_bulk_generate",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    OpenAIBulkGenerateImagesOperator(
        task_id="generate",
        prompts=["A kite over dunes", {"prompt": "A tram in the rain, two takes", "n": 2}],
        model="gpt-image-2.5-flare",
        size="1024x1024",
        quality="low",
        asset_alias="openai_images",
        s3_bucket="openai-images-demo",
    )
