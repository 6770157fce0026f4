"""Paid images that could not be written to S3 yet, kept for the next try of the task.

By default they wait on the worker's disk: a retry on the same worker lands them without paying again,
but on another worker (a new Kubernetes pod, another Celery host) they are gone and the missing images
are paid for again. ``spill_path`` (an operator argument, or the connection's extra) puts them where
every worker can read them: any location Airflow's ``ObjectStoragePath`` understands, such as a shared
volume (``/mnt/shared/spill`` or ``file:///mnt/shared/spill``) or another bucket
(``s3://spill-bucket/openai-images``, which needs ``s3fs``, reached through the operator's AWS connection).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from airflow_provider_openai_images.records import Provenance

DEFAULT_SPILL_ROOT = Path(tempfile.gettempdir()) / "airflow-openai-images-spill"


class SpillDirectory:
    """One task instance's paid images that S3 refused, keyed by image index.

    :param root: where spills of every task instance go; default: the worker's temp directory.
    :param conn_id: the connection for a remote ``root`` (the operator's AWS connection for ``s3://``).
    """

    def __init__(self, bucket: str, prefix: str, root: str | None = None, *, conn_id: str | None = None) -> None:
        digest = hashlib.sha256(f"{bucket}/{prefix}".encode()).hexdigest()[:24]
        self.path: Any = (_storage_path(root, conn_id) if root else DEFAULT_SPILL_ROOT) / digest

    def save(self, index: int, content: bytes, provenance: Provenance) -> None:
        if isinstance(self.path, Path):
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
        (self.path / f"{index:03d}.bin").write_bytes(content)
        (self.path / f"{index:03d}.json").write_text(json.dumps(provenance, default=str))

    def load(self) -> dict[int, tuple[bytes, Provenance]]:
        kept: dict[int, tuple[bytes, Provenance]] = {}
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


def _storage_path(root: str, conn_id: str | None) -> Any:
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(root, conn_id=conn_id) if "://" in root else ObjectStoragePath(root)
