"""Nightly content pipeline on the Batch API: the same prompts as ``openai_images_content_pipeline``, at
half the price, for pipelines that can wait until morning.

``generate_images`` (:class:`OpenAIBulkGenerateImagesOperator` with ``use_batch_api=True``) writes the
day's prompts into one batch input file, uploads it, creates one batch and records it in
``s3://BUCKET/nightly/{day}/{run}/generate_images/batch.json`` before deferring: the triggerer polls the
batch (every ``openai_images_batch_poll_seconds`` seconds, an Airflow Variable, default 300) and,
once it has ended, lands every image of its output file line by line, exactly where the real-time
pipeline puts them. A retried task re-attaches to the recorded batch instead of paying for a second
one. The task log ends with what the batch cost, what the same images cost at synchronous prices,
and the difference; ``publish_index`` writes the ``index.json`` the CMS picks up, with the same
figures.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator

BUCKET = "{{ var.value.get('openai_images_bucket', 'openai-images-demo') }}"
#: The run's day: its logical date, or when it was due for runs that have none (triggered through the REST API or
#: the CLI without a logical date, or by an asset event), where ``{{ ds }}`` is undefined.
DAY = "{{ (logical_date if logical_date is defined and logical_date else dag_run.run_after) | ds }}"
#: Where a run's images land: under its day, in a folder of its own, so that a scheduled run and a manual one on
#: the same day never share images (the operators would refuse to: see the README's Guarantees).
RUN_PREFIX = "nightly/" + DAY + "/{{ run_id | key_segment }}"
PROMPTS_FILE = Path(__file__).resolve().parent / "prompts" / "content_pipeline.txt"

with DAG(
    dag_id="openai_images_nightly_batch",
    description="Nightly hero images through the OpenAI Batch API: half the price, ready by morning",
    schedule="0 1 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    user_defined_filters={"key_segment": key_segment},
    tags=["openai-images", "example", "batch"],
) as dag:

    @task
    def tonights_prompts() -> list[str]:
        """The night's prompts, one a line (read when the task runs, not when the DAG is parsed)."""
        lines = PROMPTS_FILE.read_text().splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    generated = OpenAIBulkGenerateImagesOperator(
        task_id="generate_images",
        prompts=tonights_prompts(),
        model="gpt-image-2.5-flare",
        size="1024x1024",
        quality="medium",
        output_format="png",
        use_batch_api=True,
        poll_interval="{{ var.value.get('openai_images_batch_poll_seconds', 300) }}",
        max_cost_usd=1.5,  # the worst case at batch prices: half of the real-time pipeline's budget
        on_item_error="record",  # a refused prompt is recorded; the rest are published
        s3_bucket=BUCKET,
        s3_key_prefix=RUN_PREFIX,
    )

    @task
    def publish_index(output: Any, day: str) -> dict[str, Any]:
        """Write the night's index from the records (no bytes), with what the batch saved; ``read_records`` reads
        them from the manifest when the task returned its summary (more than ``max_xcom_records``)."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from airflow_provider_openai_images.records import read_records

        records = [record for item in read_records(output) for record in item]
        images = [record for record in records if record["status"] == "landed"]
        batch_cost = sum(record.get("cost_usd") or 0.0 for record in images)
        synchronous_cost = 2 * batch_cost  # the Batch API bills half the synchronous price
        summary = {
            "date": day,
            "images": len(images),
            "not_landed": len(records) - len(images),
            "batch_cost_usd": round(batch_cost, 4),
            "synchronous_cost_usd": round(synchronous_cost, 4),
            "saved_usd": round(synchronous_cost - batch_cost, 4),
        }
        print(
            f"{len(images)} images for ${batch_cost:.4f} through the Batch API; ${synchronous_cost:.4f} at "
            f"synchronous prices: saved ${synchronous_cost - batch_cost:.4f}"
        )
        bucket = images[0]["bucket"] if images else None
        if bucket is not None:
            index = {**summary, "items": images}
            S3Hook().load_string(json.dumps(index, indent=1), f"nightly/{day}/index.json", bucket, replace=True)
        return summary

    publish_index(generated.output, day=DAY)
