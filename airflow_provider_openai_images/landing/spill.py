"""Paid images that could not be written to S3 yet, kept for the next try of the task.

By default they wait on the worker's disk: a retry on the same worker lands them without paying again,
but on another worker (a new Kubernetes pod, another Celery host) they are gone and the missing images
are paid for again. ``spill_path`` (an operator argument, or the connection's extra) puts them where
every worker can read them:

- ``s3://spill-bucket/openai-images``: another bucket (or prefix), written through the task's own
  ``S3Hook``, so with the AWS connection's credentials and ``endpoint_url`` (:class:`S3Spill`). Chosen over
  ``ObjectStoragePath`` and ``s3fs``: no extra dependency (s3fs's aiobotocore pins an older botocore than the
  amazon provider installs), and the same client, retries and endpoint as the landing itself.
- a shared volume (``/mnt/shared/spill``), or any other location Airflow's ``ObjectStoragePath`` understands
  (``file://...``; :class:`SpillDirectory`).

A spill location that refuses the image too (the outage may be the whole endpoint) does not lose it: it is
kept on the worker's disk, and the message says where.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.records import Provenance

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

log = logging.getLogger(__name__)

DEFAULT_SPILL_ROOT = Path(tempfile.gettempdir()) / "airflow-openai-images-spill"
#: writes to an ``s3://`` spill: brief, since the landing's own retries were already spent on the image
SPILL_WRITE_RETRY = RetryPolicy(max_retries=2, initial_delay=0.5, max_delay=2.0)

Kept = dict[int, tuple[bytes, Provenance]]


class Spill(Protocol):
    """Where one task instance's paid images wait, keyed by image index."""

    @property
    def where(self) -> str:
        """The location, for messages."""
        ...

    def save(self, index: int, content: bytes, provenance: Provenance) -> str:
        """Keep an image; returns where it was kept."""
        ...

    def load(self) -> Kept:
        """Every image kept, with its provenance."""
        ...

    def discard(self, index: int) -> None:
        """Forget an image (it landed)."""
        ...


def _digest(bucket: str, prefix: str) -> str:
    """The folder of one task instance's images in a spill: one per destination bucket and prefix."""
    return hashlib.sha256(f"{bucket}/{prefix}".encode()).hexdigest()[:24]


def open_spill(bucket: str, prefix: str, spill_path: str | None, s3_hook: S3Hook) -> Spill:
    """The spill of the task instance landing under ``s3://bucket/prefix``: ``spill_path`` when given (see the
    module's docstring), else the worker's temp directory."""
    if spill_path and spill_path.startswith("s3://"):
        return S3Spill(bucket, prefix, spill_path, s3_hook)
    return SpillDirectory(bucket, prefix, spill_path, conn_id=s3_hook.aws_conn_id)


class SpillDirectory:
    """A spill in a directory: the worker's temp directory, a shared volume, or an ``ObjectStoragePath``.

    :param root: where spills of every task instance go; default: the worker's temp directory.
    :param conn_id: the connection for a remote ``root``.
    """

    def __init__(self, bucket: str, prefix: str, root: str | None = None, *, conn_id: str | None = None) -> None:
        self.path: Any = (_storage_path(root, conn_id) if root else DEFAULT_SPILL_ROOT) / _digest(bucket, prefix)

    @property
    def where(self) -> str:
        return str(self.path)

    def save(self, index: int, content: bytes, provenance: Provenance) -> str:
        if isinstance(self.path, Path):
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
        (self.path / f"{index:03d}.bin").write_bytes(content)
        (self.path / f"{index:03d}.json").write_text(json.dumps(provenance, default=str))
        return self.where

    def load(self) -> Kept:
        kept: Kept = {}
        if not self.path.exists():
            return kept
        for image in sorted(self.path.glob("*.bin"), key=str):
            provenance = self.path / f"{image.stem}.json"
            if provenance.exists():
                kept[int(image.stem)] = (image.read_bytes(), json.loads(provenance.read_text()))
        return kept

    def discard(self, index: int) -> None:
        for suffix in (".bin", ".json"):
            (self.path / f"{index:03d}{suffix}").unlink(missing_ok=True)


class S3Spill:
    """A spill under ``s3://bucket/prefix`` (``root``), through ``s3_hook``; the worker's disk when that refuses.

    An image's bytes are written before its provenance, and only images with both are loaded: a spill cut
    half way holds nothing a retry would trust.

    Once :meth:`load` has listed the spill (recovery does, before anything is paid), the spill knows which
    images it holds, and :meth:`discard` removes only those: landing an image that never waited here costs
    no S3 request. Before a listing (``overwrite=True`` skips recovery), every discard removes, in case an
    earlier try left the image here.
    """

    def __init__(self, bucket: str, prefix: str, root: str, s3_hook: S3Hook) -> None:
        parts = urlsplit(root)
        if parts.scheme != "s3" or not parts.netloc:
            raise OpenAIImagesValidationError("spill_path", root, "s3://bucket or s3://bucket/prefix")
        self.bucket = parts.netloc
        self.prefix = f"{parts.path.strip('/')}/{_digest(bucket, prefix)}".lstrip("/")
        self.s3_hook = s3_hook
        self.fallback = SpillDirectory(bucket, prefix)
        self._held: set[int] | None = None  # the indices with an object here; None: not listed yet

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, index: int, suffix: str) -> str:
        return f"{self.prefix}/{index:03d}{suffix}"

    def save(self, index: int, content: bytes, provenance: Provenance) -> str:
        try:
            for suffix, body in ((".bin", content), (".json", json.dumps(provenance, default=str).encode())):
                key = self._key(index, suffix)
                s3.put_object(self.s3_hook, SPILL_WRITE_RETRY, Bucket=self.bucket, Key=key, Body=body)
                if self._held is not None:
                    self._held.add(index)
        except Exception as error:
            if not s3.is_transient_s3_error(error):
                raise
            kept = self.fallback.save(index, content, provenance)
            log.warning("The spill %s refused image %d too (%s): kept on this worker in %s", self.where, index, error,
                        kept)  # fmt: skip
            return f"{kept} on this worker ({self.where} refused it too)"
        return self.where

    def load(self) -> Kept:
        kept = self.fallback.load()
        sizes = s3.object_sizes(self.s3_hook, self.bucket, f"{self.prefix}/")
        self._held = {int(stem) for stem in (key.rsplit("/", 1)[-1].split(".", 1)[0] for key in sizes) if _index(stem)}
        for key in sorted(sizes):
            name = key.rsplit("/", 1)[-1]
            if not (name.endswith(".bin") and _index(name[:-4])):
                continue
            provenance_key = key[:-4] + ".json"
            if provenance_key not in sizes:
                continue
            content, provenance = (
                s3.read_object(self.s3_hook, s3.S3Location(self.bucket, each), parameter="spill_path")
                for each in (key, provenance_key)
            )
            kept[int(name[:-4])] = (content, json.loads(provenance))
        return kept

    def discard(self, index: int) -> None:
        self.fallback.discard(index)
        if self._held is not None and index not in self._held:
            return
        keys = [{"Key": self._key(index, suffix)} for suffix in (".bin", ".json")]
        try:
            self.s3_hook.get_conn().delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
            if self._held is not None:
                self._held.discard(index)
        except Exception as error:  # the image landed: a copy left behind is skipped by the next recovery
            if not s3.is_transient_s3_error(error):
                raise
            log.warning("Could not remove image %d from the spill %s (%s); it is in S3 already", index, self.where,
                        error)  # fmt: skip


def _index(stem: str) -> bool:
    """Whether ``stem`` names an image index (``007``)."""
    return stem.isascii() and stem.isdigit()


def _storage_path(root: str, conn_id: str | None) -> Any:
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(root, conn_id=conn_id) if "://" in root else ObjectStoragePath(root)
