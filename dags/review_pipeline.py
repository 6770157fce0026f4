"""Generate, have a person choose, publish only what they chose: a human review step between the bulk
task and the ``index.json`` the CMS picks up.

``generate_images`` (:class:`OpenAIBulkGenerateImagesOperator`, ``gpt-image-2.5-flare`` at low quality)
makes one image per prompt of the trigger form's ``prompts``, landed under
``s3://BUCKET/review/{run_id}/generate_images/``; a prompt the safety system refuses is recorded, not
fatal. ``prepare_review`` turns the records into the review's subject, Markdown body and options with
:func:`~airflow_provider_openai_images.review.review_request`: each landed image's thumbnail, served
by the gallery and loaded by the UI with the reviewer's own session, its facts and a link to the task's
gallery page; one option per landed image labelled with its number and a prompt excerpt (``#2 · …remote
work: a tidy desk…``); rejected prompts listed apart. ``review_images`` waits (in the
``awaiting_input`` state, no worker slot held) until someone picks the images to publish, in the UI's
Required Actions or through the REST API, for at most three days (then it fails and nothing is
published). ``publish_index`` writes ``s3://BUCKET/review/{run_id}/index.json`` with the approved
records only (:func:`~airflow_provider_openai_images.review.approved`). Set the Variable
``openai_images_bucket`` to choose the bucket.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import DAG, Param, task

from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator
from airflow_provider_openai_images.records import read_records
from airflow_provider_openai_images.review import ReviewRequest, approved, gallery_thumbnail_url, review_request

BUCKET = "{{ var.value.get('openai_images_bucket', 'openai-images-demo') }}"
PREFIX = "review/{{ run_id | key_segment }}"
PROMPTS = [
    "A hero image for a post on spring gardening: seedlings on a sunny windowsill, soft morning light",
    "A hero image for a post on remote work: a tidy desk by a window overlooking a harbour",
    "A hero image for a post on home baking: a rustic loaf on a floured board, warm tones",
    "A hero image for a post on city cycling: a bicycle lane at dusk, long exposure lights",
]


class ImageReviewOperator(HITLOperator):
    """``HITLOperator`` whose ``options`` are templated too, so that they can come from an upstream task's
    XCom (``HITLOperator`` templates only ``subject`` and ``body``)."""

    template_fields: Collection[str] = (*HITLOperator.template_fields, "options")
    template_fields_renderers = {"body": "md", "options": "json"}


with DAG(
    dag_id="openai_images_review_pipeline",
    description="Images generated in bulk, chosen by a person, and only the chosen ones published",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"prompts": Param(PROMPTS, type="array", items={"type": "string"}, minItems=1, maxItems=50)},
    user_defined_filters={"key_segment": key_segment},
    tags=["openai-images", "example"],
) as dag:
    generated = OpenAIBulkGenerateImagesOperator(
        task_id="generate_images",
        prompts="{{ params.prompts | tojson }}",
        model="gpt-image-2.5-flare",
        size="1024x1024",
        quality="low",
        on_item_error="record",  # a refused prompt is listed in the review, not a failed run
        max_cost_usd=1,
        s3_bucket=BUCKET,
        s3_key_prefix=PREFIX,
    )

    @task(multiple_outputs=True)
    def prepare_review(output: Any, dag_run: Any = None, params: dict[str, Any] | None = None) -> ReviewRequest:
        """The review's subject, body and options, from the records (at run time: XCom, not parse time)."""
        from airflow_provider_openai_images.operators.links import gallery_url

        link = gallery_url(dag_run.dag_id, dag_run.run_id, "generate_images")
        return review_request(
            read_records(output),
            prompts=(params or {})["prompts"],
            gallery_url=link,
            thumbnail_url=gallery_thumbnail_url(link),
        )

    request = prepare_review(generated.output)
    review = ImageReviewOperator(
        task_id="review_images",
        subject=request["subject"],
        body=request["body"],
        options=request["options"],
        multiple=True,
        response_timeout=timedelta(days=3),
    )

    @task
    def publish_index(
        output: Any,
        answer: dict[str, Any],
        bucket: str,
        prefix: str,
        run_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write ``index.json`` beside the images with the approved records only (records, no bytes)."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        images = approved(read_records(output), answer, prompts=(params or {})["prompts"])
        reviewer = answer.get("responded_by_user") or {}
        index = {
            "run_id": run_id,
            "reviewed_by": reviewer.get("name"),
            "reviewed_at": str(answer.get("responded_at")),
            "images": images,
        }
        key = f"{prefix}/index.json"
        S3Hook().load_string(json.dumps(index, indent=1, default=str), key, bucket, replace=True)
        return {"index_uri": f"s3://{bucket}/{key}", "images": len(images)}

    publish_index(generated.output, review.output, bucket=BUCKET, prefix=PREFIX)
