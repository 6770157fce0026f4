"""Where one try of a task instance lands: a value built once per try, which landing, deferral, batches and
lineage take instead of the operator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.keys import task_instance_prefix
from airflow_provider_openai_images.landing import DEFAULT_THUMBNAIL_SIZE
from airflow_provider_openai_images.landing.lander import ImageLander
from airflow_provider_openai_images.records import TaskInstanceInfo

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook


@dataclass(frozen=True)
class LandingTarget:
    """The bucket and prefix a task instance owns, which task instance it is, and how it lands.

    :param bucket: the destination bucket.
    :param prefix: the key prefix owned by the task instance (the same for every try of it).
    :param task: which task instance and try this is; sidecars name it, recovery checks it.
    :param spill_path: where paid images S3 refuses wait for the next try (``None``: the worker's temp dir).
    :param thumbnail_size: the long side of each image's WEBP thumbnail (``None``: none).
    :param overwrite: generate afresh instead of recovering what an earlier try landed.
    """

    bucket: str
    prefix: str
    task: TaskInstanceInfo
    spill_path: str | None = None
    thumbnail_size: int | None = DEFAULT_THUMBNAIL_SIZE
    overwrite: bool = False

    @classmethod
    def of_task_instance(
        cls,
        s3_key_prefix: str | None,
        *,
        bucket: str,
        task: TaskInstanceInfo,
        spill_path: str | None = None,
        thumbnail_size: int | None = DEFAULT_THUMBNAIL_SIZE,
        overwrite: bool = False,
    ) -> LandingTarget:
        """The target of ``task`` under ``s3_key_prefix`` (``None``: the default, per run)."""
        prefix = task_instance_prefix(
            s3_key_prefix,
            dag_id=task["dag_id"],
            run_id=task["run_id"],
            task_id=task["task_id"],
            map_index=task["map_index"],
        )
        return cls(bucket, prefix, task, spill_path, thumbnail_size, overwrite)

    def lander(self, s3_hook: S3Hook, prefix: str | None = None) -> ImageLander:
        """The lander of this target (or of ``prefix`` within it: a bulk item's)."""
        return ImageLander(
            s3_hook,
            self.bucket,
            prefix or self.prefix,
            spill_path=self.spill_path,
            thumbnail_size=self.thumbnail_size,
            owner=self.task,
        )


def task_instance_of(context: Mapping[str, Any], task_id: str) -> TaskInstanceInfo:
    """Which task instance and try an Airflow task ``context`` is, for the task ``task_id``."""
    return {
        "dag_id": context["dag"].dag_id,
        "run_id": context["run_id"],
        "task_id": task_id,
        "map_index": getattr(context["ti"], "map_index", -1),
        "try_number": getattr(context["ti"], "try_number", None),
    }
