"""Records whose XCom return value the table does not hold: resolved through the deployment's XCom backend
(the common-io provider's ``XComObjectStorageBackend`` on local object storage), else read back from the
task instance's own ``manifest.jsonl`` or sidecars in S3 (moto, in memory), only under its own prefix, and
checked like any other record.

Adversarial: a reference to another task's value, a reference outside the backend's path, a backend that
raises, a forged sidecar, a prefix holding far more objects than the gallery reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # here, not in a test: urllib3 probes for IPv6 with a socket when first imported
import pytest
from airflow.sdk.bases.xcom import BaseXCom
from sqlalchemy.orm import Session

from airflow_provider_openai_images.ui import fallback, listing, objects, xcom_values
from tests.unit.ui.test_listing import BUCKET, DAG, PREFIX, RUN, _add, _landed

OWN = f"{PREFIX}/generate"
RENDERED = {"s3_bucket": BUCKET, "s3_key_prefix": None}
OBJECT_STORAGE = "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"


class RaisingXCom(BaseXCom):
    """Stands for a backend whose store is down (set as ``[core] xcom_backend`` by :func:`raising`)."""

    calls = 0

    @staticmethod
    def deserialize_value(result: Any) -> Any:
        RaisingXCom.calls += 1
        raise ConnectionError("the XCom store is down")


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    from airflow.providers.common.io.xcom import backend

    def clear() -> None:
        xcom_values.forget_resolved()
        fallback.forget_recovered()
        objects._listings.clear()
        objects._manifests.clear()
        for cached in (backend._get_base_path, backend._get_threshold, backend._get_compression):
            cached.cache_clear()

    clear()
    yield
    clear()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto's S3 with :data:`BUCKET`, as the gallery's client; every request is recorded under ``"calls"``."""
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        client.create_bucket(Bucket=BUCKET)
        calls: list[tuple[str, str]] = []

        class Recorded:
            def get_object(self, **kwargs: Any) -> Any:
                calls.append(("get", kwargs["Key"]))
                return client.get_object(**kwargs)

            def list_objects_v2(self, **kwargs: Any) -> Any:
                calls.append(("list", kwargs["Prefix"]))
                return client.list_objects_v2(**kwargs)

        monkeypatch.setattr(objects, "s3_client", Recorded)
        yield {"client": client, "calls": calls}


@pytest.fixture
def object_storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """``XComObjectStorageBackend`` configured as ``[core] xcom_backend``, every value in ``tmp_path``."""
    monkeypatch.setenv("AIRFLOW__CORE__XCOM_BACKEND", OBJECT_STORAGE)
    monkeypatch.setenv("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH", f"file://{tmp_path}")
    monkeypatch.setenv("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD", "0")
    return tmp_path


@pytest.fixture
def raising(monkeypatch: pytest.MonkeyPatch) -> type[RaisingXCom]:
    """A backend that raises, configured as ``[core] xcom_backend``."""
    monkeypatch.setenv("AIRFLOW__CORE__XCOM_BACKEND", f"{__name__}.RaisingXCom")
    RaisingXCom.calls = 0
    return RaisingXCom


def _stored_by_backend(value: Any, task_id: str = "generate") -> Any:
    """What a task using ``XComObjectStorageBackend`` leaves in the table for ``value``: a reference."""
    from airflow.providers.common.io.xcom.backend import XComObjectStorageBackend

    return XComObjectStorageBackend.serialize_value(value, key="return_value", dag_id=DAG, run_id=RUN, task_id=task_id)


def _delete_values(object_storage: Path) -> None:
    """Delete what the backend stored (its objects are named by a UUID, without an extension)."""
    stored = [path for path in object_storage.rglob("*") if path.is_file()]
    assert stored
    for path in stored:
        path.unlink()


def _land(s3: dict[str, Any], prefix: str, count: int, item: int | None = None) -> list[dict[str, Any]]:
    """``count`` images with their sidecars under ``prefix`` (a bulk item's folder with ``item``)."""
    folder = prefix if item is None else f"{prefix}/item-{item:05d}"
    records = []
    for index in range(count):
        record = _landed(f"{folder}/{index:03d}.png", index=index)
        s3["client"].put_object(Bucket=BUCKET, Key=record["key"], Body=b"png")
        sidecar = {"record": record, "provenance": {"prompt": f"prompt {index}"}}
        s3["client"].put_object(Bucket=BUCKET, Key=f"{folder}/{index:03d}.json", Body=json.dumps(sidecar).encode())
        records.append(record)
    return records


def _sources(found: list[listing.FoundRecord]) -> list[str]:
    return [one.source for one in found]


def test_a_reference_in_the_table_is_resolved_through_the_configured_backend(
    session: Session, object_storage: Path, s3: dict[str, Any]
) -> None:
    records = [_landed(f"{OWN}/000.png", index=0), _landed(f"{OWN}/001.png", index=1)]
    reference = _stored_by_backend(records)
    assert isinstance(reference, str)
    assert reference.startswith(f"file://{object_storage}/")
    assert xcom_values.shown_value(reference) == reference, "the REST API shows the reference, not the value"
    _add(session, "generate", -1, reference, RENDERED)

    found = listing.find_records(session, DAG, RUN)
    assert [one.record for one in found] == records
    assert _sources(found) == ["xcom_backend", "xcom_backend"]
    assert all(one.objects is not None for one in found), [one.refused for one in found]
    again = listing.record_for_key(session, DAG, RUN, "generate", -1, f"{OWN}/001.png")
    assert again is not None
    assert again.objects is not None
    assert s3["calls"] == [], "records the backend resolved need nothing from S3"


def test_a_manifest_summary_behind_a_reference_is_read_from_its_own_manifest(
    session: Session, object_storage: Path, s3: dict[str, Any]
) -> None:
    line = {"item": 0, **_landed(f"{OWN}/item-00000/000.png", index=0)}
    s3["client"].put_object(Bucket=BUCKET, Key=f"{OWN}/manifest.jsonl", Body=(json.dumps(line) + "\n").encode())
    summary = {"manifest_uri": f"s3://{BUCKET}/{OWN}/manifest.jsonl", "items": 1, "records": 1}
    _add(session, "generate", -1, _stored_by_backend(summary), RENDERED)
    (found,) = listing.find_records(session, DAG, RUN)
    assert (found.source, found.item) == ("manifest", 0)
    assert found.objects is not None


def test_when_the_backend_object_is_gone_the_sidecars_give_the_records(
    session: Session, object_storage: Path, s3: dict[str, Any]
) -> None:
    landed = _land(s3, OWN, 3)
    _add(session, "generate", -1, _stored_by_backend(landed), RENDERED)
    _delete_values(object_storage)

    found = listing.find_records(session, DAG, RUN)
    assert [one.record for one in found] == landed
    assert _sources(found) == ["fallback_sidecars"] * 3
    assert [(one.item, one.position) for one in found] == [(None, 0), (None, 1), (None, 2)]
    assert all(one.objects is not None for one in found)
    assert all(key.startswith(f"{OWN}/") for _, key in s3["calls"]), s3["calls"]

    calls = len(s3["calls"])
    for index in range(3):  # the thumbnails of the page
        assert listing.record_for_key(session, DAG, RUN, "generate", -1, f"{OWN}/{index:03d}.png") is not None
    assert len(s3["calls"]) == calls, "kept: a thumbnail request neither lists the prefix nor reads a sidecar"


def test_when_the_backend_object_is_gone_a_bulk_task_manifest_gives_the_records(
    session: Session, object_storage: Path, s3: dict[str, Any]
) -> None:
    lines = [{"item": item, **_landed(f"{OWN}/item-{item:05d}/000.png", index=0)} for item in range(2)]
    failed = {"item": 2, "status": "failed", "s3_uri": None, "model": "m", "message": "gave up"}
    body = "\n".join(json.dumps(line) for line in [*lines, failed]) + "\n"
    s3["client"].put_object(Bucket=BUCKET, Key=f"{OWN}/manifest.jsonl", Body=body.encode())
    _add(session, "generate", -1, _stored_by_backend([[line] for line in lines]), RENDERED)
    _delete_values(object_storage)

    found = listing.find_records(session, DAG, RUN)
    assert [(one.item, one.record["status"], one.source) for one in found] == [
        (0, "landed", "fallback_manifest"),
        (1, "landed", "fallback_manifest"),
        (2, "failed", "fallback_manifest"),
    ]
    assert all(one.objects is not None for one in found[:2])
    assert s3["calls"] == [("get", f"{OWN}/manifest.jsonl")], "the manifest alone: no listing"


def test_a_backend_that_raises_falls_back_and_is_said_when_nothing_is_found(
    session: Session, raising: type[RaisingXCom], s3: dict[str, Any]
) -> None:
    _add(session, "generate", -1, "s3://xcom-store/somewhere.json", RENDERED)
    (said,) = listing.find_records(session, DAG, RUN)
    assert said.record["status"] == "failed"
    assert "the XCom backend tests.unit.ui.test_xcom_resolution.RaisingXCom failed" in said.record["message"]
    assert "the XCom store is down" in said.record["message"]
    assert "nor found in S3" in said.record["message"]

    fallback.forget_recovered()
    objects._listings.clear()
    landed = _land(s3, OWN, 2)
    found = listing.find_records(session, DAG, RUN)
    assert [one.record for one in found] == landed
    assert _sources(found) == ["fallback_sidecars"] * 2
    assert raising.calls == 1, "what the backend answered is kept for a minute too"


def test_records_stored_in_the_table_never_run_the_backend(
    session: Session, raising: type[RaisingXCom], s3: dict[str, Any]
) -> None:
    _add(session, "generate", -1, [_landed(f"{OWN}/000.png")], RENDERED)
    _add(session, "prompts", -1, _stored_by_backend(["a prompt"], "prompts"), None)  # not an images task
    (found,) = listing.find_records(session, DAG, RUN)
    assert found.source == "xcom"
    assert raising.calls == 0
    assert s3["calls"] == [], "a task instance that landed no images is not looked for in S3"


def test_a_reference_to_another_task_value_is_not_taken_and_its_own_sidecars_are(
    session: Session, object_storage: Path, s3: dict[str, Any]
) -> None:
    other = [_landed(f"{PREFIX}/other/000.png", revised_prompt="another team's secret prompt")]
    landed = _land(s3, OWN, 1)
    _add(session, "generate", -1, _stored_by_backend(other, "other"), RENDERED)  # an edited XCom
    found = listing.find_records(session, DAG, RUN)
    assert [one.record for one in found] == landed
    assert _sources(found) == ["fallback_sidecars"]
    assert "secret" not in repr(found)


def test_a_reference_outside_the_backend_path_is_not_read(
    session: Session, object_storage: Path, s3: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "value.json"
    elsewhere.write_text(json.dumps([_landed(f"{OWN}/000.png", revised_prompt="planted")]))
    _add(session, "generate", -1, f"file://{elsewhere}", RENDERED)
    assert listing.find_records(session, DAG, RUN) == [], "the backend refuses it: no records, none in S3"
    assert {call for call, _ in s3["calls"]} == {"get", "list"}
    assert all(key.startswith(f"{OWN}/") for _, key in s3["calls"])


def test_the_fallback_reads_only_the_task_instance_own_prefix_and_checks_what_it_finds(
    session: Session, object_storage: Path, s3: dict[str, Any]
) -> None:
    client = s3["client"]
    neighbour = f"{PREFIX}/other"
    client.put_object(Bucket=BUCKET, Key=f"{neighbour}/manifest.jsonl", Body=b'{"item": 0, "status": "landed"}\n')
    _land(s3, neighbour, 1)
    forged = _landed("salaries.csv", bucket="hr-payroll", metadata_uri=f"s3://{BUCKET}/{OWN}/000.json")
    client.put_object(Bucket=BUCKET, Key=f"{OWN}/000.json", Body=json.dumps({"record": forged}).encode())
    elsewhere = _landed(f"{OWN}/001.png", metadata_uri=f"s3://{BUCKET}/{neighbour}/000.json")
    client.put_object(Bucket=BUCKET, Key=f"{OWN}/001.json", Body=json.dumps({"record": elsewhere}).encode())
    client.put_object(Bucket=BUCKET, Key=f"{OWN}/002.json", Body=b"{not json")
    _add(session, "generate", -1, "not records", RENDERED)

    found = listing.find_records(session, DAG, RUN)
    assert [one.record.get("key") for one in found] == ["salaries.csv", None]
    refused, note = found
    assert refused.objects is None
    assert "'hr-payroll' is not this task's own bucket" in str(refused.refused)
    assert "2 sidecars were gone, too large, not JSON, or not their image's" in note.record["message"]
    assert all(key.startswith(f"{OWN}/") for _, key in s3["calls"]), s3["calls"]


def test_a_huge_prefix_is_read_only_so_far(
    session: Session, s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(objects, "MAX_LISTED_KEYS", 25)
    monkeypatch.setattr(fallback, "MAX_SIDECARS", 4)
    _land(s3, OWN, 20)  # 40 objects
    _add(session, "generate", -1, {"not": "records"}, RENDERED)

    found = listing.find_records(session, DAG, RUN)
    assert [one.record.get("index") for one in found] == [0, 1, 2, 3, None]
    note = found[-1].record["message"]
    assert "more than 25 objects under" in note
    assert "sidecars beyond the first 4 were not read" in note
    gets = [key for call, key in s3["calls"] if call == "get"]
    assert gets == [f"{OWN}/manifest.jsonl"] + [f"{OWN}/{index:03d}.json" for index in range(4)]
    assert sum(call == "list" for call, _ in s3["calls"]) == 1, "a 25-key listing: one page"


def test_a_task_instance_whose_bucket_the_gallery_may_not_read_is_not_looked_for(
    session: Session, s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__OPENAI_IMAGES__GALLERY_BUCKETS", "gallery-shared")
    _land(s3, OWN, 1)
    _add(session, "generate", -1, "not records", RENDERED)
    assert listing.find_records(session, DAG, RUN) == []
    assert s3["calls"] == []
