"""DAGs for the Batch API tests: a list of prompts in one batch, and a GPT image edit through a batch.

Prompts containing ``forbidden`` are refused by the emulator's safety system when the test sets
``blocked_prompt_words``; ``poll_interval`` and ``batch_timeout`` come from the trigger form so tests
wait fractions of a second, not minutes.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator, OpenAIEditImageOperator

BUCKET = "openai-images-demo"
COMMON: dict[str, Any] = {"schedule": None, "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"), "catchup": False}
PARAMS = {
    "count": Param(20, type="integer"),
    "blocked": Param(-1, type="integer"),
    "batch_timeout": Param(600, type="number"),
    "size": Param("1024x1024", type="string"),
    "model": Param("gpt-image-2.5-flare", type="string"),
}


@task
def prompts(params: dict[str, Any] | None = None) -> list[str]:
    """``count`` prompts; number ``blocked`` asks for something the safety system refuses."""
    count, blocked = int((params or {})["count"]), int((params or {})["blocked"])
    return [
        f"A forbidden poster, number {n}" if n == blocked else f"A linocut harbour, number {n}" for n in range(count)
    ]


for dag_id, on_item_error in (("batch_generate", "record"), ("batch_generate_strict", "fail")):
    with DAG(dag_id=dag_id, params=PARAMS, **COMMON):
        OpenAIBulkGenerateImagesOperator(
            task_id="generate",
            prompts=prompts(),
            model="{{ params.model }}",
            size="{{ params.size }}",
            quality="low",
            use_batch_api=True,
            poll_interval=0.1,
            batch_timeout="{{ params.batch_timeout }}",
            max_cost_usd=5,
            on_item_error=on_item_error,
            s3_bucket=BUCKET,
        )


@task
def upload_photo() -> str:
    """A product photo in S3, the edit's input."""
    import io

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buffer, format="JPEG")
    S3Hook().load_bytes(buffer.getvalue(), "inputs/photo.jpg", BUCKET, replace=True)
    return f"s3://{BUCKET}/inputs/photo.jpg"


with DAG(dag_id="batch_edit", **COMMON):
    OpenAIEditImageOperator(
        task_id="edit",
        image=upload_photo(),
        prompt="The same photo on a marble table",
        model="gpt-image-2.5-flare",
        size="1024x1024",
        quality="low",
        use_batch_api=True,
        poll_interval=0.1,
        s3_bucket=BUCKET,
    )
