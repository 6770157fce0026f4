"""Scheduled content pipeline: the day's prompts generated in one bulk task, paced to the account's
rate limit, deferred to the triggerer, then an ``index.json`` published from its records.

``todays_prompts`` reads the 50 prompts of ``dags/prompts/content_pipeline.txt``;
``generate_images`` (:class:`OpenAIBulkGenerateImagesOperator`, ``deferrable=True``) generates them
eight at a time, at most ``openai_images_per_minute`` images a minute (an Airflow Variable; unset:
as fast as the server allows), within a budget, and lands each image at
``s3://BUCKET/content/{day}/{run}/generate_images/item-NNNNN/000.png`` the moment it arrives, with a
``manifest.jsonl`` beside them; the worker slot is free while the triggerer works. ``publish_index``
turns the records into ``content/{day}/index.json``, which the CMS picks up (the day's latest run
wins). Set the Variable ``openai_images_bucket`` to choose the bucket.

``{day}`` is the run's logical date, or, for a run without one (triggered through the REST API or the CLI
without a logical date), the day it was due; ``{run}`` is the run id as a key segment, so that a scheduled
run and a manual one on the same day never share images.
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
RUN_PREFIX = "content/" + DAY + "/{{ run_id | key_segment }}"
PROMPTS_FILE = Path(__file__).resolve().parent / "prompts" / "content_pipeline.txt"

with DAG(
    dag_id="openai_images_content_pipeline",
    description="Daily hero images for the blog: one bulk task at the rate limit, landed in S3 under a dated prefix",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    user_defined_filters={"key_segment": key_segment},
    tags=["openai-images", "example"],
) as dag:

    @task
    def todays_prompts() -> list[str]:
        """The day's prompts, one a line (read when the task runs, not when the DAG is parsed)."""
        lines = PROMPTS_FILE.read_text().splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    generated = OpenAIBulkGenerateImagesOperator(
        task_id="generate_images",
        prompts=todays_prompts(),
        model="gpt-image-2.5-flare",  # OpenAI's fast everyday model
        size="1024x1024",
        quality="medium",
        output_format="png",
        max_concurrency=8,
        images_per_minute="{{ var.value.get('openai_images_per_minute', '') }}",
        max_cost_usd=3,
        deferrable=True,
        s3_bucket=BUCKET,
        s3_key_prefix=RUN_PREFIX,
    )

    @task
    def publish_index(output: Any, day: str, bucket: str) -> dict[str, Any]:
        """Write the day's index next to the images, from the bulk task's records (no bytes): its return value,
        or, when its records are more than ``max_xcom_records``, its manifest in S3 (``read_records``)."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from airflow_provider_openai_images.records import landed_records, read_records

        images = landed_records(read_records(output))
        prefix = f"content/{day}"
        index = {"date": day, "images": images}
        S3Hook().load_string(json.dumps(index, indent=1), f"{prefix}/index.json", bucket, replace=True)
        return {"index_uri": f"s3://{bucket}/{prefix}/index.json", "images": len(images)}

    publish_index(generated.output, day=DAY, bucket=BUCKET)
