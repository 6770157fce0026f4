"""The DAG of ``benchmarks/cluster.py``: a day's prompts as ``OPENAI_IMAGES_BENCH_TASKS`` bulk tasks of
``OPENAI_IMAGES_BENCH_PROMPTS_PER_TASK`` prompts each, each task paced to ``OPENAI_IMAGES_BENCH_TASK_PACE``
images per minute (its share of the account's rate), every landed image an asset event through an alias.

One DAG, built twice: ``bench_cluster`` (the tasks hold their worker slot while they generate) and
``bench_cluster_deferred`` (``deferrable=True``: the requests run in the triggerer)."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG

from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator

TASKS = int(os.environ.get("OPENAI_IMAGES_BENCH_TASKS", "4"))
PROMPTS_PER_TASK = int(os.environ.get("OPENAI_IMAGES_BENCH_PROMPTS_PER_TASK", "250"))
TASK_PACE = float(os.environ.get("OPENAI_IMAGES_BENCH_TASK_PACE", "150"))
CONCURRENCY = int(os.environ.get("OPENAI_IMAGES_BENCH_CONCURRENCY", "10"))
BUCKET = "openai-images-bench"

for dag_id, deferrable in (("bench_cluster", False), ("bench_cluster_deferred", True)):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_tasks=TASKS,
    ):
        for task in range(TASKS):
            OpenAIBulkGenerateImagesOperator(
                task_id=f"generate_{task}",
                prompts=[
                    f"A watercolour postcard, batch {task}, number {number}" for number in range(PROMPTS_PER_TASK)
                ],
                model="gpt-image-2.5-flare",
                size="1024x1024",
                quality="low",
                max_concurrency=CONCURRENCY,
                images_per_minute=TASK_PACE,
                deferrable=deferrable,
                s3_bucket=BUCKET,
                asset_alias="bench_cluster_images",
            )
