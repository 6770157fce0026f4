"""DAGs for the fault-injection suite: no task retries, so a failing try ends the run at once."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_openai_images.operators import OpenAIGenerateImageOperator

BUCKET = "openai-images-demo"
COMMON: dict[str, Any] = {"schedule": None, "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"), "catchup": False}

with DAG(
    dag_id="fault_injection_single",
    params={
        "prompt": Param("A lighthouse in a storm", type="string"),
        "model": Param("gpt-image-1-mini", type="string"),
        "n": Param(2, type="integer"),
        "size": Param("1024x1024", type="string"),
        "response_format": Param("", type="string"),
    },
    **COMMON,
):
    OpenAIGenerateImageOperator(
        task_id="generate",
        prompt="{{ params.prompt }}",
        model="{{ params.model }}",
        n="{{ params.n }}",
        size="{{ params.size }}",
        response_format="{{ params.response_format }}",
        s3_bucket=BUCKET,
    )

with DAG(dag_id="fault_injection_skip", **COMMON):
    OpenAIGenerateImageOperator(
        task_id="generate",
        prompt="A harbour at night",
        model="gpt-image-1-mini",
        on_content_policy_violation="skip",
        s3_bucket=BUCKET,
    )

with DAG(dag_id="fault_injection_mapped", **COMMON):

    @task
    def prompts() -> list[str]:
        return ["A red boat", "A blue boat", "A green boat"]

    generated = OpenAIGenerateImageOperator.partial(
        task_id="generate", model="gpt-image-1-mini", on_content_policy_violation="record", s3_bucket=BUCKET
    ).expand(prompt=prompts())

    @task
    def summary(records_per_prompt: list[list[dict[str, Any]]]) -> dict[str, int]:
        records = [record for records in records_per_prompt for record in records]
        return {status: sum(r["status"] == status for r in records) for status in ("landed", "rejected")}

    summary(generated.output)
