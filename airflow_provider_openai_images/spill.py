"""Paid images that could not be written to S3 yet, kept on the worker's disk for the next try."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from airflow_provider_openai_images.records import Provenance


class SpillDirectory:
    """One task instance's paid images that S3 refused, keyed by image index.

    A retry of the task on the same worker lands them without paying again; on another worker (or a
    new Kubernetes pod) they are gone and only the missing images are generated again.
    """

    def __init__(self, bucket: str, prefix: str, root: Path | None = None) -> None:
        digest = hashlib.sha256(f"{bucket}/{prefix}".encode()).hexdigest()[:24]
        self.path = (root or Path(tempfile.gettempdir()) / "airflow-openai-images-spill") / digest

    def save(self, index: int, content: bytes, provenance: Provenance) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.path / f"{index:03d}.bin").write_bytes(content)
        (self.path / f"{index:03d}.json").write_text(json.dumps(provenance, default=str))

    def load(self) -> dict[int, tuple[bytes, Provenance]]:
        kept: dict[int, tuple[bytes, Provenance]] = {}
        for image in sorted(self.path.glob("*.bin")) if self.path.is_dir() else []:
            provenance = image.with_suffix(".json")
            if provenance.exists():
                kept[int(image.stem)] = (image.read_bytes(), json.loads(provenance.read_text()))
        return kept

    def discard(self, index: int) -> None:
        for suffix in (".bin", ".json"):
            (self.path / f"{index:03d}{suffix}").unlink(missing_ok=True)
