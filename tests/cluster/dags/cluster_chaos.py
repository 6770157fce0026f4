"""Bulk tasks for the chaos tests of the Celery cluster's components: the same prompts in the worker, deferred to
the triggerer, and through the Batch API. The run's conf says how many (``{"prompts": 20}``, default 12); four
requests at a time, one retry."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator


def postcards(count: Any) -> str:
    """``count`` prompts, as the JSON list the operator's templated ``prompts`` reads."""
    return json.dumps([f"A harbour at dawn, postcard number {number}" for number in range(int(count))])


MODES: dict[str, dict[str, Any]] = {
    "cluster_chaos_bulk": {"deferrable": False},
    "cluster_chaos_deferred": {"deferrable": True},
    "cluster_chaos_batch": {"use_batch_api": True, "poll_interval": 0.5},
}

for dag_id, mode in MODES.items():
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
        user_defined_macros={"postcards": postcards},
    ):
        OpenAIBulkGenerateImagesOperator(
            task_id="generate",
            prompts="{{ postcards(dag_run.conf.get('prompts', 12)) }}",
            model="gpt-image-2.5-flare",
            quality="low",
            max_concurrency=4,
            s3_bucket="openai-images-cluster",
            **mode,
        )
