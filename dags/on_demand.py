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
            description="What to draw. Up to 32000 characters.",
        ),
        "model": Param(
            "gpt-image-2.5-flare",
            type="string",
            enum=[
                "gpt-image-2.5-flare",
                "gpt-image-2.5-sunburst",
                "gpt-image-2",
                "gpt-image-2.6-flare",
                "gpt-image-2.6-sunburst",
            ],
            title="Model",
            description="Models OpenAI serves (as of 2026-12-05): flare is the fast everyday model, sunburst the "
            "precise one. The 2.6 family's rules and prices are not published yet.",
        ),
        "size": Param(
            "1024x1024",
            type="string",
            enum=["auto", "1024x1024", "1536x1024", "1024x1536", "2048x1152", "1152x2048", "2048x2048", "3840x2160"],
            title="Size",
            description="Every model takes 1024x1024, 1536x1024, 1024x1536 and auto; gpt-image-2 and the 2.5 family "
            "take any WIDTHxHEIGHT (multiples of 16, 1:3 to 3:1, at most 3840x2160; above 2560x1440 experimental).",
        ),
        "quality": Param(
            "medium",
            type="string",
            enum=["low", "medium", "high", "xhigh", "max", "auto"],
            title="Quality",
            description="xhigh and max: the 2.5 family only. They have no published per-image price, so a budget "
            "refuses them (and auto, which may choose them): leave the budget empty to use them.",
        ),
        "output_format": Param(
            "png",
            type="string",
            enum=["png", "jpeg", "webp", "gif", "svg"],
            title="Format",
            description="gif: animated (9 frames). svg: one image, and no budget (its author's tokens have no "
            "published price).",
        ),
        "n": Param(1, type="integer", minimum=1, maximum=10, title="Number of images"),
        "max_cost_usd": Param(
            1.0,
            type=["number", "null"],
            minimum=0,
            title="Budget (USD)",
            description="The run fails before any request if the images could cost more (worst case). Empty: no "
            "budget.",
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
        output_format="{{ params.output_format }}",
        n="{{ params.n }}",
        max_cost_usd="{{ params.max_cost_usd if params.max_cost_usd is not none else '' }}",
        s3_bucket="{{ params.bucket }}",
        s3_key_prefix="on-demand/{{ run_id | key_segment }}",
    )
