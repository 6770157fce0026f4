"""The DAGs of ``benchmarks/bulk.py``: the same prompts as mapped task instances, as one bulk task, and as
one deferred bulk task. ``OPENAI_IMAGES_BENCH_N`` prompts (default 40), each one image."""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator, OpenAIGenerateImageOperator

N = int(os.environ.get("OPENAI_IMAGES_BENCH_N", "40"))
CONCURRENCY = int(os.environ.get("OPENAI_IMAGES_BENCH_CONCURRENCY", "8"))
PROMPTS = [f"A watercolour postcard, number {number}" for number in range(N)]
COMMON: dict[str, Any] = {"schedule": None, "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"), "catchup": False}
REQUEST: dict[str, Any] = {
    "model": "gpt-image-2.5-flare",
    "size": "1024x1024",
    "quality": "low",
    "s3_bucket": "openai-images-demo",
}

with DAG(dag_id="bench_mapped", max_active_tasks=CONCURRENCY, **COMMON):
    OpenAIGenerateImageOperator.partial(task_id="generate", **REQUEST).expand(prompt=PROMPTS)

with DAG(dag_id="bench_bulk", **COMMON):
    OpenAIBulkGenerateImagesOperator(task_id="generate", prompts=PROMPTS, max_concurrency=CONCURRENCY, **REQUEST)

with DAG(dag_id="bench_bulk_deferred", **COMMON):
    OpenAIBulkGenerateImagesOperator(
        task_id="generate", prompts=PROMPTS, max_concurrency=CONCURRENCY, deferrable=True, **REQUEST
    )
