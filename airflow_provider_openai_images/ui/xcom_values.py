"""The XCom ``return_value`` of a run's task instances, read as Airflow reads it.

Two readings, each with Airflow's own functions:

- **as the REST API shows it** (:func:`shown_value`): ``GET .../xcomEntries/{key}?deserialize=true``
  (``airflow/api_fastapi/core_api/routes/public/xcom.py``, ``get_xcom_entry``) reads the row with
  ``XComModel.get_many``, parses it with ``json.loads``, then gives
  ``airflow.serialization.stringify.stringify`` of it, or ``XComModel.deserialize_value`` of the row when
  ``stringify`` cannot. That endpoint never runs the configured XCom backend: with a backend that keeps
  values elsewhere (the common-io provider's ``XComObjectStorageBackend``), it shows the reference.
- **as a task that pulls it gets it** (:func:`backend_value`): the Task SDK's
  ``BaseXCom.get_one`` hands the table's value, as the Execution API answers it, to the
  ``deserialize_value`` of ``[core] xcom_backend`` (``airflow.sdk.execution_time.xcom.resolve_xcom_backend``).
  The gallery does the same, in the API server, only for values that are not records as stored (see
  :mod:`~airflow_provider_openai_images.ui.listing`), and keeps what it resolved for a minute.

Rows are selected with ``XComModel.get_many``, as both APIs select them, so that a release that stores XComs
elsewhere (Airflow 3.4's ``xcom_v2``, read through the same ``XComModel``) is read the way Airflow reads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from airflow_provider_openai_images.ui.ttl_cache import TTLCache

log = logging.getLogger(__name__)

RETURN_VALUE = "return_value"
#: how long a value the backend resolved is reused (the thumbnails of a page would each resolve it again)
RESOLVED_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class StoredValue:
    """One task instance's return value in the metadata database."""

    task_id: str
    map_index: int
    raw: Any
    """The table's value, as the Execution API hands it to a task that pulls it."""
    value: Any
    """The value as the REST API's XCom endpoint shows it with ``deserialize=true``."""
    unreadable: str | None = None
    """Why :attr:`value` could not be read (it is ``None`` then)."""

    @property
    def value_of_row(self) -> _Row:
        """An object with the table's value as ``value``: what ``deserialize_value`` functions take."""
        return _Row(self.raw)


@dataclass(frozen=True)
class Resolved:
    """What the configured XCom backend made of a stored value: the value, or why there is none."""

    value: Any = None
    problem: str | None = None
    backend: str | None = None
    """The backend's class path; ``None`` when the deployment configures none (Airflow's own)."""
    failed: bool = False
    """Whether the backend failed (or is not usable): a problem of the deployment, shown in the gallery."""


@dataclass(frozen=True)
class _Row:
    value: Any


_resolved: TTLCache[Resolved] = TTLCache(RESOLVED_TTL_SECONDS, kept=64)


def stored_values(
    session: Session, dag_id: str, run_id: str, task_id: str | None = None, map_index: int | None = None
) -> list[StoredValue]:
    """The ``return_value`` of every task instance of the run (or of one task, or one task instance), by
    task id and map index; one query, selecting only the columns the gallery reads."""
    from airflow.models.xcom import XComModel

    query = XComModel.get_many(run_id=run_id, key=RETURN_VALUE, dag_ids=dag_id, task_ids=task_id, map_indexes=map_index)
    entity = query.column_descriptions[0]["entity"]  # XComModel; on 3.4 the alias of its read projection
    rows = session.execute(query.with_only_columns(entity.task_id, entity.map_index, entity.value))
    found = [_stored(row[0], row[1], row[2]) for row in rows]
    return sorted(found, key=lambda one: (one.task_id, one.map_index))


def _stored(task_id: str, map_index: int, raw: Any) -> StoredValue:
    try:
        return StoredValue(task_id, map_index, raw, shown_value(raw))
    except Exception as error:  # a class the deployment does not allow, a value of another version, ...
        return StoredValue(task_id, map_index, raw, None, f"{type(error).__name__}: {error}")


def shown_value(raw: Any) -> Any:
    """``raw`` as ``GET .../xcomEntries/return_value?deserialize=true`` shows it (``get_xcom_entry``)."""
    from airflow.models.xcom import XComModel

    try:
        from airflow.serialization.stringify import StringifyNotSupportedError, stringify
    except ImportError:  # a release whose endpoint deserialised with XComModel alone
        return XComModel.deserialize_value(_Row(raw))
    try:
        parsed = json.loads(raw)
    except (ValueError, TypeError):
        parsed = raw  # already deserialized (set through the Execution API)
    try:
        return stringify(parsed)
    except StringifyNotSupportedError:
        return XComModel.deserialize_value(_Row(raw))


def configured_backend() -> tuple[type[Any] | None, str | None]:
    """``[core] xcom_backend`` as tasks resolve it, and its class path; ``(None, None)`` when it is
    Airflow's own ``BaseXCom`` (the table holds the values). :class:`ImportError` or :class:`TypeError`
    when it names no usable class."""
    from airflow.sdk.bases.xcom import BaseXCom
    from airflow.sdk.execution_time.xcom import resolve_xcom_backend

    backend: type[Any] = resolve_xcom_backend()
    if backend is BaseXCom:
        return None, None
    return backend, f"{backend.__module__}.{backend.__qualname__}"


def backend_value(dag_id: str, run_id: str, stored: StoredValue) -> Resolved:
    """``stored`` resolved by the configured XCom backend's ``deserialize_value``, as a task pulling it would
    get it; kept for :data:`RESOLVED_TTL_SECONDS` (keyed by the table's value: an edited XCom is resolved
    anew). A backend that fails is said in :attr:`Resolved.problem`, never raised."""
    try:
        backend, name = configured_backend()
    except Exception as error:
        why = f"{type(error).__name__}: {error}"
        return Resolved(problem=f"[core] xcom_backend names no usable XCom backend ({why})", failed=True)
    if backend is None:
        return Resolved(problem="the deployment has no XCom backend of its own: the table's value is the value")
    key = (name, dag_id, run_id, stored.task_id, stored.map_index, _digest(stored.raw))
    return _resolved.get(key, lambda: _resolve(backend, name, stored))


def _resolve(backend: Any, name: str | None, stored: StoredValue) -> Resolved:
    try:
        value = backend.deserialize_value(stored.value_of_row)
    except Exception as error:
        log.warning("The XCom backend %s failed on %s[%s]: %r", name, stored.task_id, stored.map_index, error)
        why = f"{type(error).__name__}: {error}"
        return Resolved(problem=f"the XCom backend {name} failed: {why}", backend=name, failed=True)
    return Resolved(value=value, backend=name)


def _digest(raw: Any) -> str:
    text = json.dumps(raw, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def forget_resolved() -> None:
    """Forget the values resolved so far (tests; a deployment waits a minute)."""
    _resolved.clear()
