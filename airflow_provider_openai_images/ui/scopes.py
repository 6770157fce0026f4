"""Where each task instance of a run may have landed, from the metadata database and the configuration.

The bucket and the key prefix come from the task instance's rendered template fields
(``RenderedTaskInstanceFields``: ``s3_bucket`` and ``s3_key_prefix``, as the operator rendered and used
them), never from its XCom, which the records come from and which users can edit. Both fields are read
for every task instance of a request in one query.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_openai_images.ui.allowed import TaskInstanceScope, parse_buckets, task_instance_scope

#: the rendered template fields the check needs
FIELDS = ("s3_bucket", "s3_key_prefix")


def gallery_buckets() -> frozenset[str] | None:
    """The buckets of ``[openai_images] gallery_buckets``; ``None`` when it is not set."""
    from airflow.configuration import conf

    return parse_buckets(conf.get("openai_images", "gallery_buckets", fallback=""))


@dataclass(frozen=True)
class Landing:
    """Where a task instance landed: its scope, and the bucket of its rendered ``s3_bucket`` (``None`` when it
    has none: Airflow kept no rendered fields, or it is not an OpenAI Images operator)."""

    scope: TaskInstanceScope
    bucket: str | None


def task_instance_scopes(
    session: Session, dag_id: str, run_id: str, task_instances: Collection[tuple[str, int]]
) -> dict[tuple[str, int], TaskInstanceScope]:
    """The scope of each ``(task_id, map_index)`` of the run."""
    landings = task_instance_landings(session, dag_id, run_id, task_instances)
    return {task_instance: landing.scope for task_instance, landing in landings.items()}


def task_instance_landings(
    session: Session, dag_id: str, run_id: str, task_instances: Collection[tuple[str, int]]
) -> dict[tuple[str, int], Landing]:
    """Where each ``(task_id, map_index)`` of the run landed (its scope and its own bucket)."""
    if not task_instances:
        return {}
    rendered = rendered_fields(session, dag_id, run_id, {task_id for task_id, _ in task_instances})
    buckets = gallery_buckets()
    landings = {}
    for task_id, map_index in task_instances:
        fields = rendered.get((task_id, map_index))
        scope = task_instance_scope(
            fields, gallery_buckets=buckets, dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index
        )
        bucket = (fields or {}).get("s3_bucket")
        landings[(task_id, map_index)] = Landing(scope, bucket if isinstance(bucket, str) and bucket else None)
    return landings


def rendered_fields(
    session: Session, dag_id: str, run_id: str, task_ids: Collection[str]
) -> dict[tuple[str, int], dict[str, Any]]:
    """:data:`FIELDS` of every task instance of ``task_ids`` in the run that has rendered fields, by
    ``(task_id, map_index)``; a field it does not have is ``None``. Only these fields are read (a bulk
    task's rendered prompts can be large)."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rendered

    columns = [Rendered.rendered_fields[name] for name in FIELDS]
    query = select(Rendered.task_id, Rendered.map_index, *columns).where(
        Rendered.dag_id == dag_id, Rendered.run_id == run_id, Rendered.task_id.in_(sorted(task_ids))
    )
    return {(row[0], row[1]): dict(zip(FIELDS, row[2:], strict=True)) for row in session.execute(query)}
