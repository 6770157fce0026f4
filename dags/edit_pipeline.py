"""Edit pipeline: product shots are generated, a mask is painted for each landed image, then inpainted.

``product_shots`` lands two landscape JPEGs from ``gpt-image-2.5-flare`` (OpenAI's fast everyday
model); ``build_masks`` reads each back from S3 and paints a black-and-white mask of the same size,
white where the edit goes (the lower third), as people paint them in an editor; ``replace_background``
is mapped over the upstream records, one edit per image, with ``gpt-image-2.5-sunburst`` (the model
for precise edits), and prepares its inputs: the JPEG goes as it is, and the painted mask becomes the
RGBA mask the API wants (transparent = edit), of exactly the image's size.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_openai_images.operators import OpenAIEditImageOperator, OpenAIGenerateImageOperator

BUCKET = "{{ var.value.get('openai_images_bucket', 'openai-images-demo') }}"

with DAG(
    dag_id="openai_images_edit_pipeline",
    description="Generate product shots, then repaint the lower third of each inside a mask",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["openai-images", "example"],
) as dag:
    shots = OpenAIGenerateImageOperator(
        task_id="product_shots",
        prompt="A ceramic coffee mug on a plain table, studio product photography",
        model="gpt-image-2.5-flare",
        n=2,
        size="1536x1024",
        quality="low",
        output_format="jpeg",
        s3_bucket=BUCKET,
    )

    @task
    def build_masks(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One painted mask per landed image, same size: white where the edit should happen."""
        import io

        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from PIL import Image, ImageDraw

        s3 = S3Hook()
        edits = []
        for record in records:
            width, height = record["width"], record["height"]
            mask = Image.new("L", (width, height), 0)
            ImageDraw.Draw(mask).rectangle((0, height * 2 // 3, width, height), fill=255)
            buffer = io.BytesIO()
            mask.save(buffer, format="PNG")
            mask_key = record["key"].rsplit(".", 1)[0] + ".mask.png"
            s3.load_bytes(buffer.getvalue(), mask_key, record["bucket"], replace=True)
            edits.append({"image": record, "mask": f"s3://{record['bucket']}/{mask_key}"})
        return edits

    OpenAIEditImageOperator.partial(
        task_id="replace_background",
        prompt="The same mug on a marble kitchen counter with morning light",
        model="gpt-image-2.5-sunburst",
        size="1536x1024",
        quality="medium",
        output_format="jpeg",
        s3_bucket=BUCKET,
    ).expand_kwargs(build_masks(shots.output))
