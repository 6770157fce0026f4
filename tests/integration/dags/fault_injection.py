"""DAGs for the fault-injection suite. Most have no task retries, so a failing try ends the run at
once; ``fault_injection_retrying`` has two, to prove which failures do not use them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_openai_images.operators import OpenAIGenerateImageOperator

BUCKET = "openai-images-demo"
# The S3 fault schedules count PUTs as an image and its sidecar: no thumbnails here (tests/unit/test_thumbnails.py).
NO_THUMBNAILS: dict[str, Any] = {"thumbnail_size": None}
COMMON: dict[str, Any] = {
    "schedule": None,
    "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
    "catchup": False,
    "default_args": NO_THUMBNAILS,
}

with DAG(
    dag_id="fault_injection_single",
    params={
        "prompt": Param("A lighthouse in a storm", type="string"),
        # gpt-image-2: every quality "auto" may choose has a per-image price, so what may have been paid is bounded
        "model": Param("gpt-image-2", type="string"),
        "n": Param(2, type="integer"),
        "size": Param("1024x1024", type="string"),
        "response_format": Param("", type="string"),
        "quality": Param("", type="string"),
        "max_images": Param("", type="string"),
        "max_cost_usd": Param("", type="string"),
    },
    **COMMON,
):
    OpenAIGenerateImageOperator(
        task_id="generate",
        prompt="{{ params.prompt }}",
        model="{{ params.model }}",
        n="{{ params.n }}",
        size="{{ params.size }}",
        quality="{{ params.quality }}",
        response_format="{{ params.response_format }}",
        max_images="{{ params.max_images }}",
        max_cost_usd="{{ params.max_cost_usd }}",
        s3_bucket=BUCKET,
    )

with DAG(
    dag_id="fault_injection_retrying",
    **{**COMMON, "default_args": {**NO_THUMBNAILS, "retries": 2, "retry_delay": timedelta(seconds=1)}},
):
    # No model: the connection's default_model, else the package default.
    OpenAIGenerateImageOperator(
        task_id="generate", prompt="A lighthouse in a storm", size="1024x1024", s3_bucket=BUCKET
    )

with DAG(dag_id="fault_injection_skip", **COMMON):
    OpenAIGenerateImageOperator(
        task_id="generate",
        prompt="A harbour at night",
        model="gpt-image-2.5-flare",
        on_content_policy_violation="skip",
        s3_bucket=BUCKET,
    )

with DAG(dag_id="fault_injection_mapped", **COMMON):

    @task
    def prompts() -> list[str]:
        return ["A red boat", "A blue boat", "A green boat"]

    generated = OpenAIGenerateImageOperator.partial(
        task_id="generate", model="gpt-image-2.5-flare", on_content_policy_violation="record", s3_bucket=BUCKET
    ).expand(prompt=prompts())

    @task
    def summary(records_per_prompt: list[list[dict[str, Any]]]) -> dict[str, int]:
        records = [record for records in records_per_prompt for record in records]
        return {status: sum(r["status"] == status for r in records) for status in ("landed", "rejected")}

    summary(generated.output)

with DAG(
    dag_id="fault_injection_shared_prefix",
    **{**COMMON, "default_args": {**NO_THUMBNAILS, "retries": 2, "retry_delay": timedelta(seconds=1)}},
):
    # Every run lands under the same prefix, as "content/{{ ds }}" does for two runs of one day.
    OpenAIGenerateImageOperator(
        task_id="generate", prompt="A lighthouse in a storm", n=2, s3_bucket=BUCKET, s3_key_prefix="shared/daily"
    )
