"""On-demand generation from the Airflow UI: press Trigger, fill in the form, get S3 URIs back.

The ``params`` below give the trigger form its fields, defaults, choices and limits; the task's
return value (one record per image, with ``s3_uri``) shows in the XCom tab. Images land under
``on-demand/{run id}``, the run id made a safe key segment by the ``key_segment`` filter (a manual
run id holds ``:`` and ``+``, which some S3 tools and URLs mishandle).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.operators import OpenAIGenerateImageOperator

with DAG(
    dag_id="openai_images_on_demand",
    description="Generate images from the trigger form and land them in S3",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["openai-images", "example"],
    user_defined_filters={"key_segment": key_segment},
    # Transient API faults are retried by the client; these retries are for longer outages. Bad
    # input (an impossible size for the model, say) fails at once without using them.
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "prompt": Param(
            "A watercolour lighthouse at dawn",
            type="string",
            minLength=1,
            maxLength=32000,
            title="Prompt",
            description="What to draw. Up to 32000 characters for GPT image models (1000 for dall-e-2).",
        ),
        "model": Param(
            "gpt-image-1.5",
            type="string",
            enum=["gpt-image-1.5", "gpt-image-1", "gpt-image-1-mini", "gpt-image-2", "dall-e-3", "dall-e-2"],
            title="Model",
        ),
        "size": Param(
            "1024x1024",
            type="string",
            enum=["auto", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792", "512x512", "256x256"],
            title="Size",
            description="GPT image models: 1024x1024, 1536x1024, 1024x1536, auto. dall-e-3: 1024x1024, "
            "1792x1024, 1024x1792. dall-e-2: 256x256, 512x512, 1024x1024.",
        ),
        "quality": Param(
            "auto",
            type="string",
            enum=["auto", "low", "medium", "high", "standard", "hd"],
            title="Quality",
            description="low/medium/high for GPT image models, standard/hd for dall-e-3.",
        ),
        "n": Param(1, type="integer", minimum=1, maximum=10, title="Number of images"),
        "max_cost_usd": Param(
            1.0,
            type="number",
            minimum=0,
            title="Budget (USD)",
            description="The run fails before any request if the images could cost more (worst case).",
        ),
        "bucket": Param("openai-images-demo", type="string", minLength=3, maxLength=63, title="S3 bucket"),
    },
) as dag:
    OpenAIGenerateImageOperator(
        task_id="generate",
        prompt="{{ params.prompt }}",
        model="{{ params.model }}",
        size="{{ params.size }}",
        quality="{{ params.quality }}",
        n="{{ params.n }}",
        max_cost_usd="{{ params.max_cost_usd }}",
        s3_bucket="{{ params.bucket }}",
        s3_key_prefix="on-demand/{{ run_id | key_segment }}",
    )
