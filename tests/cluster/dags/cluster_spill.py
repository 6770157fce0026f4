"""A non-deferred bulk task for the Celery cluster's chaos tests that lands through the connection ``aws_faulty``
(an S3 fault proxy in front of moto, see ``tests/cluster/conftest.py``) and keeps the paid images S3 refuses in a
spill bucket every worker reads: 12 prompts, four at a time, one retry."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator

PROMPTS = [f"A harbour at dusk, postcard number {number}" for number in range(12)]
SPILL_PATH = "s3://openai-images-cluster-spill/spill"

# By default a refused write is retried for about 30 s before its image goes to the spill: 7 s here, so that the
# test waits seconds, not minutes. The task process parses only its own DAG file: no other DAG's task is affected.
# The window in which the test kills the worker is the manifest's write (refused too), after the last image spilled.
s3.S3_WRITE_RETRY = RetryPolicy(max_retries=4, initial_delay=1.0, max_delay=2.0, jitter=0.0)

with DAG(
    dag_id="cluster_spill",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
):
    OpenAIBulkGenerateImagesOperator(
        task_id="generate",
        prompts=PROMPTS,
        model="gpt-image-2.5-flare",
        quality="low",
        max_concurrency=4,
        deferrable=False,
        s3_bucket="openai-images-cluster",
        aws_conn_id="aws_faulty",
        spill_path=SPILL_PATH,
    )
