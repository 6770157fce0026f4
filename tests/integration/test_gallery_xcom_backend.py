"""The Images view in a real Airflow whose XComs live in object storage: the common-io provider's
``XComObjectStorageBackend`` (``[core] xcom_backend``) on a local folder, every value written there
(threshold 0), so the ``xcom`` table holds only references (the REST API's XCom endpoint shows them, even
with ``deserialize=true``).

The gallery lists a bulk run and a single-image run with the records the backend resolves, and streams
their images; with the backend's objects deleted, it lists them again from the task instance's own
``manifest.jsonl`` (bulk) or sidecars (single) in S3.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gallery_auth import OUTSIDER_DAG
from tests.ui.gallery_cluster import GalleryCluster, gallery_cluster, images_of

BULK = "bulk_generate_recorded"
APP = "/openai-images"
OBJECT_STORAGE = "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"


@dataclass
class Stored:
    cluster: GalleryCluster
    folder: Path

    def reference(self, dag_id: str, run_id: str) -> Path:
        """Where the backend stored the ``generate`` task's return value, from the reference in the table."""
        reference = self.cluster.airflow.xcom(dag_id, run_id, "generate")
        assert isinstance(reference, str), f"the REST API shows the table's reference: {reference!r}"
        assert reference.startswith(f"file://{self.folder}/"), reference
        return Path(urllib.parse.urlsplit(reference).path)

    def records(self, dag_id: str, run_id: str) -> list[tuple[int | None, int, dict[str, Any]]]:
        """The task's records, as the backend stored them."""
        return images_of(json.loads(self.reference(dag_id, run_id).read_text()))

    def listing(self, dag_id: str, run_id: str) -> dict[str, Any]:
        answer = self.cluster.get(f"{APP}/api/dags/{dag_id}/dagRuns/{_q(run_id)}/images", user="viewer")
        assert answer.status == 200, answer.body[:500]
        return dict(answer.json())

    def assert_served(self, images: list[dict[str, Any]]) -> None:
        """Every landed image and thumbnail of ``images`` streams, with the bytes its record names."""
        landed = [image for image in images if image["status"] == "landed"]
        assert landed
        for image in landed:
            full = self.cluster.get(image["image_url"], user="viewer")
            assert full.status == 200, full.body[:300]
            key = urllib.parse.urlsplit(image["s3_uri"]).path.lstrip("/")
            stored = self.cluster.s3.get_object(Bucket=urllib.parse.urlsplit(image["s3_uri"]).netloc, Key=key)
            assert hashlib.sha256(full.body).hexdigest() == hashlib.sha256(stored["Body"].read()).hexdigest()
            assert self.cluster.get(image["thumbnail_url"], user="viewer").status == 200
            assert self.cluster.get(image["prompt_url"], user="viewer").json()["prompt"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    folder = tmp_path_factory.mktemp("xcom-objects")
    env = {
        "AIRFLOW__CORE__XCOM_BACKEND": OBJECT_STORAGE,
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"file://{folder}",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "0",
    }
    with gallery_cluster(tmp_path_factory, ("bulk.py",), extra_env=env) as cluster:
        yield Stored(cluster, folder)


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _compared(images: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(image["item"], image["index"], image["status"], image["s3_uri"]) for image in images]


def _expected(records: list[tuple[int | None, int, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    return [
        (item, record.get("index", position), record["status"], record["s3_uri"]) for item, position, record in records
    ]


def test_the_gallery_lists_and_serves_records_the_backend_resolves(stored: Stored) -> None:
    cluster = stored.cluster
    bulk_run = cluster.run(BULK, {"count": 4, "max_concurrency": 1})
    single_run = cluster.run(OUTSIDER_DAG)

    bulk = stored.listing(BULK, bulk_run)
    records = stored.records(BULK, bulk_run)
    assert len(records) == 5, "four items, the fourth of two images"
    assert _compared(bulk["images"]) == _expected(records)
    assert {image["source"] for image in bulk["images"]} == {"xcom_backend"}
    assert all(image["refused"] is None for image in bulk["images"])
    stored.assert_served(bulk["images"])

    single = stored.listing(OUTSIDER_DAG, single_run)
    assert _compared(single["images"]) == _expected(stored.records(OUTSIDER_DAG, single_run))
    assert [image["source"] for image in single["images"]] == ["xcom_backend", "xcom_backend"]
    stored.assert_served(single["images"])


def test_with_the_backend_objects_gone_the_manifest_and_sidecars_give_the_records(stored: Stored) -> None:
    cluster = stored.cluster
    bulk_run = cluster.run(BULK, {"count": 4, "max_concurrency": 1})
    single_run = cluster.run(OUTSIDER_DAG)
    bulk_records = stored.records(BULK, bulk_run)
    single_records = stored.records(OUTSIDER_DAG, single_run)
    for dag_id, run_id in ((BULK, bulk_run), (OUTSIDER_DAG, single_run)):
        stored.reference(dag_id, run_id).unlink()

    bulk = stored.listing(BULK, bulk_run)
    assert _compared(bulk["images"]) == _expected(bulk_records)
    assert {image["source"] for image in bulk["images"]} == {"fallback_manifest"}
    stored.assert_served(bulk["images"])

    single = stored.listing(OUTSIDER_DAG, single_run)
    assert _compared(single["images"]) == _expected(single_records)
    assert [image["source"] for image in single["images"]] == ["fallback_sidecars", "fallback_sidecars"]
    stored.assert_served(single["images"])
