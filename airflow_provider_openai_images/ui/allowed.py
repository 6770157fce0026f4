"""Which S3 objects the gallery may read for a record: the check, free of Airflow's database and of FastAPI.

A record is an operator's XCom return value, and XComs can be written by anyone who may edit the DAG's
runs (``PATCH .../xcomEntries/return_value``) or write its code; the gallery reads S3 with the API
server's AWS connection, which may reach far more than the DAG's own images. So a record's objects are
served only when:

- its ``s3_uri``, ``bucket`` and ``key`` agree, and its ``thumbnail_uri`` and ``metadata_uri`` sit beside
  the image (same bucket, same folder);
- the bucket is one the deployment allows for that task instance (:class:`TaskInstanceScope`: the
  buckets of ``[openai_images] gallery_buckets``, else the task's own rendered ``s3_bucket``);
- every key is a plain S3 path (no empty, ``.`` or ``..`` segment, no backslash, no control character)
  under the task instance's own prefix, computed as landing computes it
  (:func:`~airflow_provider_openai_images.keys.task_instance_prefix`), segment by segment.

Keys are compared as S3 stores them, literally: ``%2e%2e`` is a name, not ``..``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_openai_images.keys import task_instance_prefix
from airflow_provider_openai_images.s3 import S3Location

#: the option listing the buckets the gallery may read; unset, each task's own rendered ``s3_bucket``
GALLERY_BUCKETS = "[openai_images] gallery_buckets"
#: the fields beside the image that a record may name, and what each is
BESIDE_IMAGE = {"thumbnail_uri": "thumbnail", "metadata_uri": "sidecar"}
MAX_KEY_BYTES = 1024  # S3's limit
#: a bulk task's manifest, in its task instance's prefix (``jobs/outcome.py`` writes it)
MANIFEST = "manifest.jsonl"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHOWN = 160  # characters of a record's value quoted in a reason


class Refused(Exception):
    """Why the gallery serves none of a record's objects (the message is shown to the gallery's readers)."""

    @property
    def reason(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class TaskInstanceScope:
    """Where the gallery may read one task instance's objects: ``buckets`` and the key ``prefix``; or,
    when ``refused`` says why, nowhere."""

    buckets: frozenset[str]
    prefix: str
    refused: str | None = None
    configured: bool = False
    """Whether ``buckets`` come from ``[openai_images] gallery_buckets`` (else: the task's own bucket)."""


@dataclass(frozen=True)
class RecordObjects:
    """The objects of one record that passed :func:`record_objects`: the image, and its thumbnail and
    sidecar when the record names them."""

    image: S3Location
    thumbnail: S3Location | None
    sidecar: S3Location | None


def parse_buckets(value: str | None) -> frozenset[str] | None:
    """The buckets of a comma-separated list; ``None`` when it names none (the option is not set)."""
    buckets = frozenset(part.strip() for part in (value or "").split(",") if part.strip())
    return buckets or None


def task_instance_scope(
    rendered: Mapping[str, Any] | None,
    *,
    gallery_buckets: frozenset[str] | None,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
) -> TaskInstanceScope:
    """The scope of a task instance from its rendered template fields (``s3_bucket``, ``s3_key_prefix``;
    ``None``: Airflow kept none) and the allowed buckets (``None``: the task's own bucket only)."""
    if rendered is None:
        return _nowhere(
            "Airflow keeps no rendered template fields for this task instance (it keeps them for the last "
            "[core] num_dag_runs_to_retain_rendered_fields runs of a DAG), so where it landed is not known"
        )
    bucket = rendered.get("s3_bucket")
    if not isinstance(bucket, str) or not bucket:
        return _nowhere(
            "the task instance has no rendered s3_bucket (it is not an OpenAI Images operator?), so where "
            "it landed is not known"
        )
    configured = rendered.get("s3_key_prefix")
    if configured is not None and not isinstance(configured, str):
        return _nowhere(f"the task instance's rendered s3_key_prefix is not text: {_shown(configured)}")
    prefix = task_instance_prefix(configured, dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index)
    problem = key_problem(prefix)
    if problem is not None:
        return _nowhere(f"the task instance's key prefix {_shown(prefix)} is not a plain S3 path: it has {problem}")
    if gallery_buckets:
        return TaskInstanceScope(buckets=gallery_buckets, prefix=prefix, configured=True)
    return TaskInstanceScope(buckets=frozenset({bucket}), prefix=prefix)


def record_objects(record: Mapping[str, Any], scope: TaskInstanceScope) -> RecordObjects:
    """The record's objects if the gallery may serve them; :class:`Refused` with the reason otherwise."""
    image = _location(record.get("s3_uri"), "s3_uri")
    if record.get("bucket") != image.bucket:
        raise Refused(f"the record's bucket {_shown(record.get('bucket'))} is not the bucket of its s3_uri")
    if record.get("key") != image.key:
        raise Refused(f"the record's key {_shown(record.get('key'))} is not the key of its s3_uri")
    if scope.refused is not None:
        raise Refused(scope.refused)
    if image.bucket not in scope.buckets:
        if scope.configured:  # the configured list is the deployment's business: not shown
            raise Refused(f"the bucket {_shown(image.bucket)} is not one of {GALLERY_BUCKETS}")
        own = ", ".join(_shown(bucket) for bucket in sorted(scope.buckets))
        raise Refused(
            f"the bucket {_shown(image.bucket)} is not this task's own bucket {own} (its rendered s3_bucket; "
            f"{GALLERY_BUCKETS} may allow others)"
        )
    _check_key(image.key, scope.prefix, "image")
    beside: dict[str, S3Location | None] = {}
    for field, name in BESIDE_IMAGE.items():
        beside[name] = None
        if record.get(field):
            other = _location(record[field], field)
            if other.bucket != image.bucket or posixpath.dirname(other.key) != posixpath.dirname(image.key):
                raise Refused(f"the record's {field} {_shown(other.uri)} is not beside its image")
            _check_key(other.key, scope.prefix, name)
            beside[name] = other
    return RecordObjects(image=image, thumbnail=beside["thumbnail"], sidecar=beside["sidecar"])


def manifest_location(summary: Mapping[str, Any], scope: TaskInstanceScope) -> S3Location:
    """Where a bulk task's manifest summary says its records are, if the gallery may read it there: only
    ``{prefix}/manifest.jsonl`` of the task instance's own prefix, in an allowed bucket. :class:`Refused`
    otherwise."""
    location = _location(summary.get("manifest_uri"), "manifest_uri")
    if scope.refused is not None:
        raise Refused(scope.refused)
    if location.bucket not in scope.buckets:
        raise Refused(f"the manifest's bucket {_shown(location.bucket)} is not one this task instance may use")
    if location.key != f"{scope.prefix}/{MANIFEST}":
        raise Refused(
            f"the manifest {_shown(location.key)} is not this task instance's {_shown(scope.prefix + '/' + MANIFEST)}"
        )
    return location


def key_problem(key: str) -> str | None:
    """What makes ``key`` other than a plain S3 path (``a/b/c``); ``None`` when nothing does."""
    if not key:
        return "no characters"
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return f"more than {MAX_KEY_BYTES} bytes"
    if "\\" in key:
        return "a backslash"
    if _CONTROL.search(key):
        return "a control character"
    segments = key.split("/")
    if "" in segments:
        return "an empty segment (a leading, trailing or double /)"
    if "." in segments or ".." in segments:
        return "a '.' or '..' segment"
    if posixpath.normpath(key) != key:  # the segments above are what normpath changes; kept as a backstop
        return "a form that normalises to another path"
    return None


def is_under(key: str, prefix: str) -> bool:
    """Whether ``key`` lies under ``prefix``, segment by segment (``a/b/c`` is under ``a/b``; ``a/bc`` is not)."""
    owned, segments = prefix.split("/"), key.split("/")
    return len(segments) > len(owned) and segments[: len(owned)] == owned


def _check_key(key: str, prefix: str, what: str) -> None:
    problem = key_problem(key)
    if problem is not None:
        raise Refused(f"the {what}'s key {_shown(key)} is not a plain S3 path: it has {problem}")
    if not is_under(key, prefix):
        raise Refused(f"the {what}'s key {_shown(key)} is not under this task instance's prefix {_shown(prefix + '/')}")


def _location(uri: Any, field: str) -> S3Location:
    """``s3://bucket/key`` split at its first ``/`` after the bucket: nothing dropped, nothing decoded."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise Refused(f"the record's {field} {_shown(uri)} is not an s3://bucket/key URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise Refused(f"the record's {field} {_shown(uri)} is not an s3://bucket/key URI")
    return S3Location(bucket, key)


def _nowhere(reason: str) -> TaskInstanceScope:
    return TaskInstanceScope(buckets=frozenset(), prefix="", refused=reason)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "\u2026"
