"""Variations for A/B testing creatives from one landed image.

``hero_creative`` lands one landscape JPEG from a GPT image model; ``variants`` asks dall-e-2 for four
variations of it (the JPEG is prepared into the square PNG the endpoint wants; the answers are URLs,
downloaded at once without the API key); ``ab_test_plan`` splits traffic between the original
(arm A) and the variants (arms B1..B4) and returns the plan for the ad server.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_openai_images.operators import OpenAICreateImageVariationOperator, OpenAIGenerateImageOperator

BUCKET = "{{ var.value.get('openai_images_bucket', 'openai-images-demo') }}"

with DAG(
    dag_id="openai_images_variations_ab_test",
    description="Four variations of one creative, with an A/B traffic split",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["openai-images", "example"],
) as dag:
    hero = OpenAIGenerateImageOperator(
        task_id="hero_creative",
        prompt="A bold poster for a summer lemonade stand, flat illustration",
        model="gpt-image-1.5",
        size="1536x1024",
        quality="medium",
        output_format="jpeg",
        s3_bucket=BUCKET,
    )
    variants = OpenAICreateImageVariationOperator(
        task_id="variants",
        image=hero.output,
        n=4,
        size="512x512",
        square_policy="pad",
        s3_bucket=BUCKET,
    )

    @task
    def ab_test_plan(original: list[dict[str, Any]], variations: list[dict[str, Any]]) -> dict[str, Any]:
        arms = {"A": original[0]["s3_uri"]} | {f"B{i + 1}": r["s3_uri"] for i, r in enumerate(variations)}
        return {"arms": arms, "traffic_split": {arm: round(1 / len(arms), 4) for arm in arms}}

    ab_test_plan(hero.output, variants.output)
