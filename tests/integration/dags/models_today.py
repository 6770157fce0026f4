"""A DAG for the models OpenAI serves today and their new parameters: every value comes from the run's conf.

It has task retries, so a test can tell a failure at try 1 (nothing sent, retries unused) from one that
Airflow retried.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_openai_images.operators import OpenAIGenerateImageOperator

with DAG(
    dag_id="models_today",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
    params={
        "conn_id": Param("openai_images_default", type="string"),
        "model": Param("gpt-image-2.5-flare", type="string"),
        "size": Param("", type="string"),
        "quality": Param("", type="string"),
        "output_format": Param("", type="string"),
        "frame_count": Param("", type="string"),
        "n": Param("", type="string"),
        "max_cost_usd": Param("", type="string"),
        "safety_identifier": Param("", type="string"),
    },
):
    OpenAIGenerateImageOperator(
        task_id="generate",
        conn_id="{{ params.conn_id }}",
        prompt="A red fox in the snow",
        model="{{ params.model }}",
        size="{{ params.size }}",
        quality="{{ params.quality }}",
        output_format="{{ params.output_format }}",
        frame_count="{{ params.frame_count }}",
        n="{{ params.n }}",
        max_cost_usd="{{ params.max_cost_usd }}",
        safety_identifier="{{ params.safety_identifier }}",
        s3_bucket="openai-images-demo",
    )
