"""A task instance's records read back from S3, for when its XCom return value cannot give them (the XCom
backend fails, its object is gone, or the value is not records).

Landing leaves every record in S3 as well: a bulk task's ``{prefix}/manifest.jsonl`` (one record per line,
with its ``item``), and each landed image's sidecar ``{prefix}/{index:03d}.json`` (a bulk item's under
``{prefix}/item-{i:05d}/``), which holds ``{"record": ..., "provenance": ...}``. So the records are read
from the manifest, else from the sidecars, and only there: under the task instance's own prefix
(:attr:`~airflow_provider_openai_images.ui.allowed.TaskInstanceScope.prefix`), in the bucket of its rendered
``s3_bucket``, when that bucket is one the gallery may read. Whatever is found is a record like any other:
the listing checks each against the task instance's scope before serving anything it names.

Reads are bounded (:data:`MAX_SIDECARS` sidecars of at most :data:`MAX_SIDECAR_BYTES`, a listing of at most
:data:`~airflow_provider_openai_images.ui.objects.MAX_LISTED_KEYS` keys) and what was found is kept for
:data:`RECOVERED_TTL_SECONDS`, so the thumbnails of a page read S3 once. Sidecars hold only landed images:
records of rejected and failed images are in the manifest alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import HTTPException

from airflow_provider_openai_images.records import is_record, manifest_records
from airflow_provider_openai_images.s3 import S3Location
from airflow_provider_openai_images.ui import objects
from airflow_provider_openai_images.ui.allowed import MANIFEST, Refused, TaskInstanceScope, manifest_location
from airflow_provider_openai_images.ui.ttl_cache import TTLCache

#: a sidecar under a task instance's prefix: ``000.json``, or a bulk item's ``item-00042/000.json``
SIDECAR = re.compile(r"(?:item-([0-9]{5,})/)?([0-9]{3,})\.json")
#: the most sidecars read for one task instance
MAX_SIDECARS = 500
#: the largest sidecar read (a sidecar bounds its prompt to 4000 characters: a few kilobytes)
MAX_SIDECAR_BYTES = 256 * 1024
#: sidecars read at once
READERS = 8
#: how long what was found is reused
RECOVERED_TTL_SECONDS = 60.0

Source = Literal["fallback_manifest", "fallback_sidecars"]


@dataclass(frozen=True)
class Recovered:
    """The records found for a task instance, ``(item, record)`` in order, and where they came from; or,
    when ``source`` is ``None``, why none were read."""

    source: Source | None
    records: tuple[tuple[int | None, Mapping[str, Any]], ...] = ()
    problem: str | None = None
    """Why none were read; with records, which were left unread."""


_recovered: TTLCache[Recovered] = TTLCache(RECOVERED_TTL_SECONDS, kept=32)


def recover(bucket: str | None, scope: TaskInstanceScope) -> Recovered:
    """The records a task instance left in S3, read only under its own prefix (``scope``) in its own
    ``bucket`` (its rendered ``s3_bucket``), when the gallery may read that bucket."""
    if scope.refused is not None:
        return Recovered(None, problem=scope.refused)
    if bucket is None:
        return Recovered(None, problem="the task instance has no rendered s3_bucket, so where it landed is not known")
    if bucket not in scope.buckets:
        return Recovered(None, problem=f"its bucket {bucket!r} is not one the gallery may read")
    return _recovered.get((bucket, scope.prefix), lambda: _recover(bucket, scope))


def manifest_per_item(
    summary: Mapping[str, Any], scope: TaskInstanceScope, items: int | None = None
) -> list[list[Any]]:
    """The entries of the manifest ``summary`` names (its ``manifest_uri``), one list per item, read only when
    it is the task instance's own (``scope``); at most ``items`` items, never more than the manifest has lines.

    :raises Refused: the manifest is not the task instance's own.
    :raises HTTPException: S3 has no such manifest (404), or refused or failed to read it.
    :raises ValueError: a line is not JSON.
    """
    text = objects.read_manifest(manifest_location(summary, scope))
    lines = text.count("\n") + 1
    return manifest_records(text, lines if items is None else min(items, lines))


def _recover(bucket: str, scope: TaskInstanceScope) -> Recovered:
    uri = f"s3://{bucket}/{scope.prefix}/{MANIFEST}"
    try:
        per_item = manifest_per_item({"manifest_uri": uri}, scope)
    except Refused as refusal:
        return Recovered(None, problem=refusal.reason)
    except HTTPException as error:
        if not objects.is_missing(error):
            return Recovered(None, problem=str(error.detail))
        return _from_sidecars(bucket, scope)
    except ValueError as error:
        return Recovered(None, problem=f"{uri}: a line is not JSON ({error})")
    found = tuple((item, record) for item, records in enumerate(per_item) for record in records if is_record(record))
    return Recovered("fallback_manifest", found)


def _from_sidecars(bucket: str, scope: TaskInstanceScope) -> Recovered:
    where = f"s3://{bucket}/{scope.prefix}/"
    try:
        keys, more = objects.list_keys(bucket, f"{scope.prefix}/", objects.MAX_LISTED_KEYS)
    except HTTPException as error:
        return Recovered(None, problem=str(error.detail))
    named = []
    for key in keys:
        match = SIDECAR.fullmatch(key[len(scope.prefix) + 1 :])
        if match:
            named.append((int(match[1]) if match[1] else -1, int(match[2]), key))
    if not named:
        return Recovered(None, problem=f"neither {where}{MANIFEST} nor any sidecar under {where} was found")
    named.sort()
    read = named[:MAX_SIDECARS]
    with ThreadPoolExecutor(READERS) as pool:
        sidecars = list(pool.map(_sidecar, [S3Location(bucket, key) for _, _, key in read]))
    found: list[tuple[int | None, Mapping[str, Any]]] = []
    for (item, _, key), sidecar in zip(read, sidecars, strict=True):
        record = (sidecar or {}).get("record")
        # the lander writes each record into its own sidecar: one that names another is not this image's
        if isinstance(record, Mapping) and is_record(record) and record.get("metadata_uri") == f"s3://{bucket}/{key}":
            found.append((None if item < 0 else item, record))
    left = []
    if more:
        left.append(f"more than {len(keys)} objects under {where}: only the first {len(keys)} were looked at")
    if len(named) > len(read):
        left.append(f"{len(named) - len(read)} sidecars beyond the first {len(read)} were not read")
    if len(found) < len(read):
        left.append(f"{len(read) - len(found)} sidecars were gone, too large, not JSON, or not their image's")
    return Recovered("fallback_sidecars", tuple(found), "; ".join(left) or None)


def _sidecar(location: S3Location) -> dict[str, Any] | None:
    try:
        return objects.read_sidecar(location, MAX_SIDECAR_BYTES)
    except HTTPException:
        return None


def forget_recovered() -> None:
    """Forget what was found so far (tests; a deployment waits a minute)."""
    _recovered.clear()
