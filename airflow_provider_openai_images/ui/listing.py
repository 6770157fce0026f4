"""What a DAG run's task instances landed, read from their XCom ``return_value`` as Airflow reads it.

Read-only, through the API server's session. An operator of this provider returns a list of
:class:`~airflow_provider_openai_images.records.ImageRecord` (a bulk task a list of such lists, one per
item), or, when its records are many, a :class:`~airflow_provider_openai_images.records.ManifestSummary`,
whose records are read from the manifest in S3, only where the task instance's scope allows. Any other
return value is not about images and is skipped.

Each value is read as the REST API's XCom endpoint reads it (:mod:`~airflow_provider_openai_images.ui.xcom_values`).
When that is not records, and the task instance is one that landed images (it has a rendered ``s3_bucket``):

1. the deployment's XCom backend (``[core] xcom_backend``) resolves it, as it would for a task pulling it
   (a backend that keeps values in object storage leaves only a reference in the table); records it resolves
   are taken only if every object they name is the task instance's own (its bucket, under its prefix);
2. else the records are read back from S3 (:mod:`~airflow_provider_openai_images.ui.fallback`): the task
   instance's own ``manifest.jsonl``, else its sidecars.

:attr:`FoundRecord.source` says which. Every record that names an object is checked
(:func:`~airflow_provider_openai_images.ui.allowed.record_objects`) against its task instance's scope
(:mod:`~airflow_provider_openai_images.ui.scopes`): a found record carries either the objects the gallery
may read for it or why it may read none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_openai_images.records import is_manifest_summary, is_record, items_of
from airflow_provider_openai_images.ui.allowed import (
    RecordObjects,
    Refused,
    TaskInstanceScope,
    record_objects,
)
from airflow_provider_openai_images.ui.scopes import Landing, task_instance_landings
from airflow_provider_openai_images.ui.xcom_values import StoredValue, backend_value, stored_values

log = logging.getLogger(__name__)

#: where a record was read: the XCom table, the value the XCom backend resolved, the manifest a manifest
#: summary names, or, when the return value gave no records, the task instance's manifest or sidecars
RecordSource = Literal["xcom", "xcom_backend", "manifest", "fallback_manifest", "fallback_sidecars"]
#: the most task instances of one request whose records are looked for in S3 (each costs S3 requests)
MAX_FALLBACKS = 64


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
    source: RecordSource = "xcom"
    """Where the record was read (see :data:`RecordSource`)."""

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
    stored = stored_values(session, dag_id, run_id, task_id, map_index)
    landings = task_instance_landings(session, dag_id, run_id, {(one.task_id, one.map_index) for one in stored})
    found: list[FoundRecord] = []
    unresolved: list[tuple[StoredValue, str, bool]] = []
    for one in stored:
        landing = landings[(one.task_id, one.map_index)]
        records, problem, loud = _from_value(dag_id, run_id, one, landing)
        found += records
        if problem is not None:
            unresolved.append((one, problem, loud))
    if len(unresolved) > MAX_FALLBACKS:
        log.warning("Only %d of %d task instances were looked for in S3", MAX_FALLBACKS, len(unresolved))
    for one, problem, loud in unresolved[:MAX_FALLBACKS]:
        found += _fallback(one, landings[(one.task_id, one.map_index)], problem, loud)
    found.sort(key=lambda one: (one.task_id, one.map_index))  # stable: items and positions stay in order
    return vetted(found, {key: landing.scope for key, landing in landings.items()})


def _from_value(
    dag_id: str, run_id: str, stored: StoredValue, landing: Landing
) -> tuple[list[FoundRecord], str | None, bool]:
    """The records of a stored value, resolved by the XCom backend when the table holds none; when there are
    none, why (``None``: nothing to look for), and whether that is a failure to show."""
    task_id, map_index = stored.task_id, stored.map_index
    if stored.unreadable is None:
        if is_manifest_summary(stored.value):
            return manifest_found(task_id, map_index, stored.value, landing.scope), None, False
        if _is_records(stored.value):
            return list(records_of(task_id, map_index, stored.value)), None, False
    if landing.scope.refused is not None or landing.bucket is None:
        log.debug("%s[%s]: not records, and not a task instance that landed images", task_id, map_index)
        return [], None, False
    resolved = backend_value(dag_id, run_id, stored)
    if resolved.problem is not None:
        return [], resolved.problem, resolved.failed
    if is_manifest_summary(resolved.value):
        return manifest_found(task_id, map_index, resolved.value, landing.scope), None, False
    if not _is_records(resolved.value):
        return [], f"the XCom backend {resolved.backend} resolved it to no records (is its object gone?)", False
    records = list(records_of(task_id, map_index, resolved.value, source="xcom_backend"))
    foreign = _foreign(records, landing)
    if foreign is not None:
        return [], f"the records the XCom backend {resolved.backend} resolved are not this task's: {foreign}", True
    return records, None, False


def _is_records(value: Any) -> bool:
    """Whether ``value`` is an operator's records (a list of records, or a bulk task's list of lists)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
        return False
    return not value or any(is_record(record) for _, records in items_of(value) for record in records)


def _foreign(records: list[FoundRecord], landing: Landing) -> str | None:
    """Why one of ``records`` names an object that is not in the task instance's own bucket and prefix (a
    reference the backend resolved to another task's value); ``None`` when none does."""
    own = TaskInstanceScope(buckets=frozenset({landing.bucket or ""}), prefix=landing.scope.prefix)
    for one in records:
        if one.names_objects:
            try:
                record_objects(one.record, own)
            except Refused as refusal:
                return refusal.reason
    return None


def _fallback(stored: StoredValue, landing: Landing, problem: str, loud: bool) -> list[FoundRecord]:
    """The task instance's records read back from S3 (its manifest, else its sidecars), with an entry saying
    what was not read; when none are found, an entry saying why only if ``loud``."""
    from airflow_provider_openai_images.ui.fallback import recover

    task_id, map_index = stored.task_id, stored.map_index
    recovered = recover(landing.bucket, landing.scope)
    if recovered.source is None:
        log.info("%s[%s]: no records (%s); none in S3 either (%s)", task_id, map_index, problem, recovered.problem)
        if not loud:
            return []
        message = f"the records of this task instance were not read: {problem}; nor found in S3: {recovered.problem}"
        return [_note(task_id, map_index, message)]
    log.info("%s[%s]: records read from %s (%s)", task_id, map_index, recovered.source, problem)
    positions: dict[int | None, int] = {}
    found = []
    for item, record in recovered.records:
        positions[item] = positions.get(item, -1) + 1
        found.append(FoundRecord(task_id, map_index, item, positions[item], record, source=recovered.source))
    if recovered.problem is not None:
        found.append(_note(task_id, map_index, f"some records were not read: {recovered.problem}", recovered.source))
    return found


def manifest_found(
    task_id: str, map_index: int, summary: Mapping[str, Any], scope: TaskInstanceScope
) -> list[FoundRecord]:
    """The records of a bulk task's manifest, read only from its own ``manifest.jsonl``; when that cannot be,
    one ``failed`` entry that says why (so the gallery shows that records are missing, and where)."""
    from fastapi import HTTPException

    from airflow_provider_openai_images.ui.fallback import manifest_per_item

    try:
        per_item = manifest_per_item(summary, scope, int(summary["items"]))
    except Refused as refusal:
        return [_unread(task_id, map_index, summary, refusal.reason)]
    except HTTPException as error:
        return [_unread(task_id, map_index, summary, str(error.detail))]
    except ValueError as error:  # a line that is not JSON
        return [_unread(task_id, map_index, summary, f"a line is not JSON ({error})")]
    return [
        FoundRecord(task_id, map_index, item, position, record, source="manifest")
        for item, records in enumerate(per_item)
        for position, record in enumerate(records)
        if is_record(record)
    ]


def _unread(task_id: str, map_index: int, summary: Mapping[str, Any], reason: str) -> FoundRecord:
    message = f"the records of this task's manifest summary ({summary.get('manifest_uri')!r}) were not read: {reason}"
    return _note(task_id, map_index, message, "manifest")


def _note(task_id: str, map_index: int, message: str, source: RecordSource = "xcom") -> FoundRecord:
    """A ``failed`` entry that says which records are missing, and why (so the gallery shows it)."""
    record = {"status": "failed", "s3_uri": None, "model": None, "request_id": None, "code": None, "message": message}
    return FoundRecord(task_id, map_index, None, 0, record, source=source)


def vetted(found: list[FoundRecord], scopes: Mapping[tuple[str, int], TaskInstanceScope]) -> list[FoundRecord]:
    """``found`` with, for each record that names objects, the objects it may serve or why it may serve none."""
    return [_vet(one, scopes[(one.task_id, one.map_index)]) if one.names_objects else one for one in found]


def _vet(one: FoundRecord, scope: TaskInstanceScope) -> FoundRecord:
    try:
        return replace(one, objects=record_objects(one.record, scope))
    except Refused as refusal:
        return replace(one, refused=refusal.reason)


def records_of(task_id: str, map_index: int, value: Any, source: RecordSource = "xcom") -> Iterator[FoundRecord]:
    """The image records in one return value: a list of records, or a bulk task's list of lists."""
    for item, entries in items_of(value):
        for position, record in enumerate(entries):
            if is_record(record):
                yield FoundRecord(task_id, map_index, item, position, record, source=source)


def record_for_key(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int, key: str
) -> FoundRecord | None:
    """The record of that task instance whose image is ``key`` (the first the gallery may serve, else the
    first refused); ``None`` when no record names it."""
    named = [one for one in find_records(session, dag_id, run_id, task_id, map_index) if one.key == key]
    return next((one for one in named if one.objects is not None), named[0] if named else None)
