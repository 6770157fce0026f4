"""Variations for A/B testing creatives from one landed image.

``hero_creative`` lands one landscape JPEG from ``gpt-image-2.5-flare`` on OpenAI; ``variants`` asks
dall-e-2 for four variations of it (the JPEG is prepared into the square PNG the endpoint wants; the
answers are URLs, downloaded at once without the API key); ``ab_test_plan`` splits traffic between the
original (arm A) and the variants (arms B1..B4) and returns the plan for the ad server.

**For Azure OpenAI or a compatible server:** OpenAI shut dall-e-2 down on 2026-05-12, and no GPT image
model makes variations. ``variants`` therefore uses the connection ``openai_images_compatible``, which
points at a server that still serves dall-e-2 (an Azure OpenAI deployment, or a self-hosted compatible
server) and sets ``"model_lifecycle": "off"`` in its extra: OpenAI's shutdown dates do not apply there.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_openai_images.operators import OpenAICreateImageVariationOperator, OpenAIGenerateImageOperator

BUCKET = "{{ var.value.get('openai_images_bucket', 'openai-images-demo') }}"
#: A server that still serves dall-e-2: Azure OpenAI or a compatible server (not api.openai.com).
COMPATIBLE_CONN_ID = "openai_images_compatible"

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
        model="gpt-image-2.5-flare",
        size="1536x1024",
        quality="medium",
        output_format="jpeg",
        s3_bucket=BUCKET,
    )
    variants = OpenAICreateImageVariationOperator(
        task_id="variants",
        conn_id=COMPATIBLE_CONN_ID,
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
