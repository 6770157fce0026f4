"""What a DAG run's task instances landed, read from their XCom ``return_value`` in the metadata database.

Read-only, through the API server's session. An operator of this provider returns a list of
:class:`~airflow_provider_openai_images.records.ImageRecord` (a bulk task a list of such lists, one per
item), or, when its records are many, a :class:`~airflow_provider_openai_images.records.ManifestSummary`,
whose records are read from the manifest in S3, only where the task instance's scope allows. Any other
return value is not about images and is skipped. A custom XCom backend that keeps only references in the
database is not resolved (the API server does not run XCom backends).

Every record that names an object is checked (:func:`~airflow_provider_openai_images.ui.allowed.record_objects`)
against its task instance's scope (:mod:`~airflow_provider_openai_images.ui.scopes`): a found record carries
either the objects the gallery may read for it or why it may read none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_openai_images.records import is_manifest_summary, is_record, items_of, manifest_records
from airflow_provider_openai_images.ui.allowed import (
    RecordObjects,
    Refused,
    TaskInstanceScope,
    manifest_location,
    record_objects,
)
from airflow_provider_openai_images.ui.scopes import task_instance_scopes


@dataclass(frozen=True)
class FoundRecord:
    """One record of a task instance's return value, and where it sits in it."""

    task_id: str
    map_index: int
    item: int | None
    """The item of a bulk task (its position in the outer list); ``None`` for a single-request operator."""
    position: int
    """The record's position within its item (or within the return value)."""
    record: Mapping[str, Any]
    objects: RecordObjects | None = None
    """What the gallery may read for the record (see :func:`vetted`); ``None`` before, or when refused."""
    refused: str | None = None
    """Why the gallery reads none of the record's objects; ``None`` when it may, or when it names none."""

    @property
    def index(self) -> int:
        """The image's index within its task instance, as the record says (else its position)."""
        index = self.record.get("index")
        return index if isinstance(index, int) else self.position

    @property
    def key(self) -> str | None:
        """The S3 key of the record's image; ``None`` when it names none (rejected, failed)."""
        key = self.record.get("key")
        return key if isinstance(key, str) and self.record.get("s3_uri") else None

    @property
    def names_objects(self) -> bool:
        """Whether the record names an object in S3 (a landed image); rejected and failed ones do not."""
        return bool(self.record.get("s3_uri"))


def run_state(session: Session, dag_id: str, run_id: str) -> str | None:
    """The run's state; ``None`` when there is no such run (``"none"`` for a run without a state)."""
    from airflow.models.dagrun import DagRun

    found = session.execute(select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).first()
    return None if found is None else str(found[0] or "none")


def find_records(
    session: Session, dag_id: str, run_id: str, task_id: str | None = None, map_index: int | None = None
) -> list[FoundRecord]:
    """Every image record of the run (or of one task, or one task instance), by task id, map index, item
    and position, each checked against its task instance's scope (read once per request)."""
    from airflow.models.xcom import XComModel

    query = select(XComModel.task_id, XComModel.map_index, XComModel.value).where(
        XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key == "return_value"
    )
    if task_id is not None:
        query = query.where(XComModel.task_id == task_id)
    if map_index is not None:
        query = query.where(XComModel.map_index == map_index)
    found: list[FoundRecord] = []
    summaries: dict[tuple[str, int], Mapping[str, Any]] = {}
    for row in session.execute(query.order_by(XComModel.task_id, XComModel.map_index)):
        try:
            value = XComModel.deserialize_value(row)
        except (TypeError, ValueError):
            continue
        if is_manifest_summary(value):
            summaries[(row.task_id, row.map_index)] = value
        else:
            found += records_of(row.task_id, row.map_index, value)
    named = {(one.task_id, one.map_index) for one in found if one.names_objects} | set(summaries)
    scopes = task_instance_scopes(session, dag_id, run_id, named)
    for (task, index), summary in summaries.items():
        found += manifest_found(task, index, summary, scopes[(task, index)])
    found.sort(key=lambda one: (one.task_id, one.map_index))  # stable: items and positions stay in order
    return vetted(found, scopes)


def manifest_found(
    task_id: str, map_index: int, summary: Mapping[str, Any], scope: TaskInstanceScope
) -> list[FoundRecord]:
    """The records of a bulk task's manifest, read only from its own ``manifest.jsonl``; when that cannot be,
    one ``failed`` entry that says why (so the gallery shows that records are missing, and where)."""
    from fastapi import HTTPException

    from airflow_provider_openai_images.ui.objects import read_manifest

    try:
        text = read_manifest(manifest_location(summary, scope))
        lines = text.count("\n") + 1
        per_item = manifest_records(text, min(int(summary["items"]), lines))
    except Refused as refusal:
        return [_unread(task_id, map_index, summary, refusal.reason)]
    except HTTPException as error:
        return [_unread(task_id, map_index, summary, str(error.detail))]
    except ValueError as error:  # a line that is not JSON
        return [_unread(task_id, map_index, summary, f"a line is not JSON ({error})")]
    return [
        FoundRecord(task_id, map_index, item, position, record)
        for item, records in enumerate(per_item)
        for position, record in enumerate(records)
        if is_record(record)
    ]


def _unread(task_id: str, map_index: int, summary: Mapping[str, Any], reason: str) -> FoundRecord:
    message = f"the records of this task's manifest summary ({summary.get('manifest_uri')!r}) were not read: {reason}"
    record = {"status": "failed", "s3_uri": None, "model": None, "request_id": None, "code": None, "message": message}
    return FoundRecord(task_id, map_index, None, 0, record)


def vetted(found: list[FoundRecord], scopes: Mapping[tuple[str, int], TaskInstanceScope]) -> list[FoundRecord]:
    """``found`` with, for each record that names objects, the objects it may serve or why it may serve none."""
    return [_vet(one, scopes[(one.task_id, one.map_index)]) if one.names_objects else one for one in found]


def _vet(one: FoundRecord, scope: TaskInstanceScope) -> FoundRecord:
    try:
        return replace(one, objects=record_objects(one.record, scope))
    except Refused as refusal:
        return replace(one, refused=refusal.reason)


def records_of(task_id: str, map_index: int, value: Any) -> Iterator[FoundRecord]:
    """The image records in one return value: a list of records, or a bulk task's list of lists."""
    for item, entries in items_of(value):
        for position, record in enumerate(entries):
            if is_record(record):
                yield FoundRecord(task_id, map_index, item, position, record)


def record_for_key(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int, key: str
) -> FoundRecord | None:
    """The record of that task instance whose image is ``key`` (the first the gallery may serve, else the
    first refused); ``None`` when no record names it."""
    named = [one for one in find_records(session, dag_id, run_id, task_id, map_index) if one.key == key]
    return next((one for one in named if one.objects is not None), named[0] if named else None)
