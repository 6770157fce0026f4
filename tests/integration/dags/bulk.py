"""DAGs for the bulk and deferrable tests: a list of prompts in one task, in the worker or deferred."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator, OpenAIGenerateImageOperator

BUCKET = "openai-images-demo"
COMMON: dict[str, Any] = {"schedule": None, "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"), "catchup": False}
PARAMS = {
    "count": Param(40, type="integer"),
    "max_concurrency": Param(8, type="integer"),
    "images_per_minute": Param("", type=["string", "number"]),
    "max_images": Param("", type=["string", "integer"]),
    "model": Param("gpt-image-2.5-flare", type="string"),
    "max_xcom_records": Param(100, type="integer"),
}


@task
def prompts(params: dict[str, Any] | None = None) -> list[Any]:
    """Texts, and one item with its own size and two images."""
    count = int((params or {})["count"])
    items: list[Any] = [f"A watercolour postcard, number {number}" for number in range(count)]
    if count > 3:
        items[3] = {"prompt": "A wide banner, number 3", "size": "1536x1024", "n": 2}
    return items


for dag_id, deferrable, on_item_error in (
    ("bulk_generate", False, "fail"),
    ("bulk_generate_deferred", True, "fail"),
    ("bulk_generate_recorded", False, "record"),
):
    with DAG(dag_id=dag_id, params=PARAMS, **COMMON):
        OpenAIBulkGenerateImagesOperator(
            task_id="generate",
            prompts=prompts(),
            model="{{ params.model }}",
            size="1024x1024",
            quality="low",
            max_concurrency="{{ params.max_concurrency }}",
            images_per_minute="{{ params.images_per_minute }}",
            max_images="{{ params.max_images }}",
            max_xcom_records="{{ params.max_xcom_records }}",
            on_item_error=on_item_error,
            deferrable=deferrable,
            s3_bucket=BUCKET,
        )

with DAG(dag_id="generate_deferred", **COMMON):
    OpenAIGenerateImageOperator(
        task_id="generate",
        prompt="A lighthouse at dusk",
        model="gpt-image-2.5-flare",
        n=2,
        deferrable=True,
        s3_bucket=BUCKET,
    )
