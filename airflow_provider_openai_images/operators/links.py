"""Extra links on every operator's task instances: "Images" (the gallery view of that task instance in
the Airflow UI, from the provider's plugin) and "S3" (the AWS console at the task instance's prefix).

Airflow 3 computes links in the worker when a try ends, with the rendered operator: the prefix comes
from its rendered ``s3_bucket`` and ``s3_key_prefix``, as landing computed it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

#: where the plugin's FastAPI app is mounted in the API server
GALLERY_PREFIX = "/openai-images"


def gallery_url(dag_id: str, run_id: str, task_id: str | None = None, map_index: int = -1) -> str:
    """The gallery page of a DAG run, or of one task instance of it (relative to the API server's root,
    or absolute when ``[api] base_url`` is set)."""
    from airflow.sdk import conf

    query: dict[str, Any] = {"dag_id": dag_id, "run_id": run_id}
    if task_id is not None:
        query |= {"task_id": task_id, "map_index": map_index}
    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return f"{base}{GALLERY_PREFIX}/gallery?{urlencode(query)}"


class OpenAIImagesGalleryLink(BaseOperatorLink):
    """The task instance's images, as the "Images" view of the Airflow UI shows them."""

    name = "Images"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        return gallery_url(ti_key.dag_id, ti_key.run_id, ti_key.task_id, ti_key.map_index)


class OpenAIImagesS3Link(BaseOperatorLink):
    """The task instance's prefix in the AWS S3 console (once the task has landed images)."""

    name = "S3"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        from airflow_provider_openai_images.keys import task_instance_prefix

        bucket = getattr(operator, "s3_bucket", None)
        if not bucket or "{{" in str(bucket):
            return ""
        prefix = task_instance_prefix(
            operator.s3_key_prefix,
            dag_id=ti_key.dag_id,
            run_id=ti_key.run_id,
            task_id=ti_key.task_id,
            map_index=ti_key.map_index,
        )
        console = "https://s3.console.aws.amazon.com/s3/buckets"
        return f"{console}/{quote(bucket, safe='')}?prefix={quote(prefix + '/', safe='')}"
