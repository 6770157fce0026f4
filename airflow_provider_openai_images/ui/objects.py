"""The S3 objects a record names (its image, thumbnail and sidecar), read through the AWS connection.

The connection is ``[openai_images] gallery_aws_conn_id`` (default ``aws_default``). Callers run these
functions in a worker thread (the app's endpoints are plain functions, which FastAPI runs in its thread
pool, and a streamed body is read there too): boto3 blocks. Callers pass only locations that passed
:func:`~airflow_provider_openai_images.ui.allowed.record_objects` (or, to list or read a manifest, a task
instance's own prefix in an allowed bucket): this module reads what it is given.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from typing import Any

from fastapi import HTTPException, status
from fastapi.responses import StreamingResponse

from airflow_provider_openai_images.s3 import S3Location
from airflow_provider_openai_images.ui.ttl_cache import TTLCache

CHUNK_BYTES = 64 * 1024
#: the largest manifest the gallery reads (some 700 bytes a record: about 90,000 records)
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
#: how long a read manifest is reused (a thumbnail request would read it again otherwise)
MANIFEST_TTL_SECONDS = 60.0
MANIFESTS_KEPT = 8
#: the largest sidecar read for its prompt (a sidecar bounds its prompt to 4000 characters)
MAX_SIDECAR_BYTES = 1024 * 1024
#: what the gallery serves as an image; anything else goes out as ``application/octet-stream``
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif", "image/svg+xml"})
#: Every object is served in a sandbox: an SVG opened on its own (a new tab, a link) runs no script in the
#: Airflow origin, loads nothing, and cannot be framed by another site; as an <img> it never runs script at all.
OBJECT_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
#: images are addressed with their sha256 in the URL, so a browser may keep them
IMAGE_CACHE = "private, max-age=86400"
CLIENT_TTL_SECONDS = 300.0
#: the most keys a listing of a task instance's prefix looks at (ten pages of S3's)
MAX_LISTED_KEYS = 10_000
#: how long a listing is reused (a thumbnail request would list the prefix again otherwise)
LISTING_TTL_SECONDS = 60.0
_MISSING = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket"})

_clients: TTLCache[Any] = TTLCache(CLIENT_TTL_SECONDS, kept=8)
_manifests: TTLCache[str] = TTLCache(MANIFEST_TTL_SECONDS, kept=MANIFESTS_KEPT)
_listings: TTLCache[tuple[tuple[str, ...], bool]] = TTLCache(LISTING_TTL_SECONDS, kept=32)


def gallery_conn_id() -> str:
    """The AWS connection the gallery reads S3 with."""
    from airflow.configuration import conf

    return str(conf.get("openai_images", "gallery_aws_conn_id", fallback="aws_default"))


def s3_client() -> Any:
    """A boto3 S3 client of the gallery's connection, shared by requests and renewed every few minutes
    (a connection edited in Airflow is picked up without a restart)."""
    conn_id = gallery_conn_id()

    def make() -> Any:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=conn_id).get_conn()

    return _clients.get(conn_id, make)


def stream(location: S3Location, content_type: str | None, *, cache: str = IMAGE_CACHE) -> StreamingResponse:
    """The object as a streamed response: 404 when it is gone, 502 when S3 refuses or fails."""
    answer = _get(location)
    body = answer["Body"]
    media_type = content_type or answer.get("ContentType") or mimetypes.guess_type(location.key)[0]
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff", "Content-Security-Policy": OBJECT_CSP}
    if "ContentLength" in answer:
        headers["Content-Length"] = str(answer["ContentLength"])
    if answer.get("ETag"):
        headers["ETag"] = str(answer["ETag"])
    served = media_type if media_type in IMAGE_TYPES else "application/octet-stream"
    return StreamingResponse(_chunks(body), media_type=served, headers=headers)


def read_sidecar(location: S3Location, limit: int = MAX_SIDECAR_BYTES) -> dict[str, Any]:
    """The sidecar's JSON (at most ``limit`` bytes)."""
    data = _read(location, limit, "sidecar")
    try:
        sidecar = json.loads(data)
    except ValueError:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"The sidecar {location.uri} is not JSON") from None
    return sidecar if isinstance(sidecar, dict) else {}


def read_manifest(location: S3Location) -> str:
    """A bulk task's manifest (at most :data:`MAX_MANIFEST_BYTES`), kept for :data:`MANIFEST_TTL_SECONDS`."""
    return _manifests.get(location, lambda: _read(location, MAX_MANIFEST_BYTES, "manifest").decode("utf-8", "replace"))


def _read(location: S3Location, limit: int, what: str) -> bytes:
    """The object's bytes; 502 when it holds more than ``limit``."""
    body = _get(location)["Body"]
    try:
        data = bytes(body.read(limit + 1))
    finally:
        body.close()
    if len(data) > limit:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"The {what} {location.uri} is too large")
    return data


def list_keys(bucket: str, prefix: str, limit: int = MAX_LISTED_KEYS) -> tuple[tuple[str, ...], bool]:
    """The keys under ``prefix`` (at most ``limit``, in S3's order) and whether there are more; a listing is
    kept for :data:`LISTING_TTL_SECONDS`. 404 when the bucket is gone, 502 when S3 refuses or fails."""
    return _listings.get((bucket, prefix, limit), lambda: _list(bucket, prefix, limit))


def _list(bucket: str, prefix: str, limit: int) -> tuple[tuple[str, ...], bool]:
    from botocore.exceptions import BotoCoreError, ClientError

    keys: list[str] = []
    asked: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    try:
        while True:
            page = s3_client().list_objects_v2(**asked, MaxKeys=min(1000, limit + 1 - len(keys)))
            keys += [entry["Key"] for entry in page.get("Contents", [])]
            if len(keys) > limit:
                return tuple(keys[:limit]), True
            if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
                return tuple(keys), False
            asked["ContinuationToken"] = page["NextContinuationToken"]
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        where = f"s3://{bucket}/{prefix}"
        if code in _MISSING:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{where} is not in S3") from None
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"S3 refused listing {where}: {code}") from None
    except BotoCoreError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"S3 failed listing s3://{bucket}/{prefix}: {error}") from None


def is_missing(error: HTTPException) -> bool:
    """Whether ``error`` says the object is not in S3 (rather than S3 failing)."""
    return error.status_code == status.HTTP_404_NOT_FOUND


def _get(location: S3Location) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return s3_client().get_object(Bucket=location.bucket, Key=location.key)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code in _MISSING:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{location.uri} is not in S3") from None
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"S3 refused {location.uri}: {code}") from None
    except BotoCoreError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"S3 failed for {location.uri}: {error}") from None


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()
