"""Scheduled content pipeline: a list of prompts, one generation per prompt, landed under a dated prefix.

Each day the mapped ``generate_images`` task instances land their images at
``s3://BUCKET/content/{{ ds }}/generate_images/map-N/000.png`` and ``publish_index`` writes an
``index.json`` beside them for the CMS to pick up. Set the Airflow Variable ``openai_images_bucket``
to choose the bucket; use a pool to stay under your account's images-per-minute limit.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_openai_images.operators import OpenAIGenerateImageOperator

BUCKET = "{{ var.value.get('openai_images_bucket', 'openai-images-demo') }}"
PROMPTS = [
    "A lighthouse at dawn, watercolour, soft morning light",
    "A bowl of ramen on a wooden table, top-down food photography",
    "An isometric illustration of a tiny city on a floating island",
]

with DAG(
    dag_id="openai_images_content_pipeline",
    description="Daily hero images for the blog, landed in S3 under a dated prefix",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["openai-images", "example"],
) as dag:
    generated = OpenAIGenerateImageOperator.partial(
        task_id="generate_images",
        model="gpt-image-1.5",
        size="1024x1024",
        quality="medium",
        output_format="png",
        s3_bucket=BUCKET,
        s3_key_prefix="content/{{ ds }}",
    ).expand(prompt=PROMPTS)

    @task
    def publish_index(records_per_prompt: list[list[dict[str, Any]]], ds: str | None = None) -> dict[str, Any]:
        """Write the day's index (records only, no bytes) next to the images."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        records = [record for records in records_per_prompt for record in records]
        bucket = records[0]["bucket"]
        key = f"content/{ds}/index.json"
        S3Hook().load_string(json.dumps({"date": ds, "images": records}, indent=1), key, bucket, replace=True)
        return {"index_uri": f"s3://{bucket}/{key}", "images": len(records)}

    publish_index(generated.output)
