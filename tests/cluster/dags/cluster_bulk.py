"""A non-deferred bulk task for the Celery cluster's chaos tests: 60 prompts, four at a time, one retry (on
whichever worker takes it)."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator

PROMPTS = [f"A harbour at dawn, postcard number {number}" for number in range(60)]

with DAG(
    dag_id="cluster_bulk",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
):
    OpenAIBulkGenerateImagesOperator(
        task_id="generate",
        prompts=PROMPTS,
        model="gpt-image-2.5-flare",
        quality="low",
        max_concurrency=4,
        deferrable=False,
        s3_bucket="openai-images-cluster",
    )
