"""DAGs for the Spend view's tests: a bulk task in real time that does not retry a request that may have
been billed (so such a request leaves a ``possibly_billed`` record), and a bulk task through the Batch API.

Prompts containing ``banner`` are refused by the emulator's safety system when the test sets
``blocked_prompt_words``.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator

BUCKET = "openai-images-demo"
COMMON: dict[str, Any] = {"schedule": None, "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"), "catchup": False}
PROMPTS = [f"A watercolour postcard, number {n}" for n in range(5)]
PROMPTS[2] = "A wide banner, number 2"

with DAG(dag_id="spend_realtime", **COMMON):
    OpenAIBulkGenerateImagesOperator(
        task_id="generate",
        prompts=PROMPTS,
        model="gpt-image-2.5-flare",
        size="1024x1024",
        quality="low",
        max_concurrency=1,
        on_item_error="record",
        retry_possibly_billed=False,
        s3_bucket=BUCKET,
    )

with DAG(dag_id="spend_batch", **COMMON):
    OpenAIBulkGenerateImagesOperator(
        task_id="generate",
        prompts=[f"A linocut harbour, number {n}" for n in range(3)],
        model="gpt-image-2.5-flare",
        size="1024x1024",
        quality="low",
        use_batch_api=True,
        poll_interval=0.1,
        on_item_error="record",
        s3_bucket=BUCKET,
    )
