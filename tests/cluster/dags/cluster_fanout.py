"""Mapped generate tasks for the Celery cluster: more task instances than one worker has slots, so that both
workers take some; each generates and lands its image in the worker that runs it."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_openai_images.operators import OpenAIGenerateImageOperator

PROMPTS = [f"A lighthouse, postcard number {number}" for number in range(8)]

with DAG(
    dag_id="cluster_fanout",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=8,
):
    OpenAIGenerateImageOperator.partial(
        task_id="generate", model="gpt-image-2.5-flare", quality="low", s3_bucket="openai-images-cluster"
    ).expand(prompt=PROMPTS)
