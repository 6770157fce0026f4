"""What the listing and the object endpoints get from ``ui/listing.py``: every record that names an object
checked against its task instance's scope, read from the rendered template fields once per request, and a
refused record listed with its reason and without URLs.

The metadata database is an in-memory SQLite holding Airflow's own XCom, rendered-fields and DAG-run tables
(``conftest.py``), so the queries are the ones the API server runs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from airflow_provider_openai_images.keys import task_instance_prefix
from airflow_provider_openai_images.ui import listing
from airflow_provider_openai_images.ui.schemas import gallery_image, summarize
from tests.unit.ui.test_allowed import record

DAG, RUN = "bulk_generate", "manual__2026-12-05T10:00:00+00:00"
BUCKET = "openai-images-demo"
#: the run's folder, as landing names it
PREFIX = task_instance_prefix(None, dag_id=DAG, run_id=RUN, task_id="generate", map_index=-1).rsplit("/", 1)[0]


def _landed(key: str, bucket: str = BUCKET, **fields: Any) -> dict[str, Any]:
    return record(key, bucket, cost_usd=0.01, **fields)


def _add(session: Session, task_id: str, map_index: int, value: Any, rendered: dict[str, Any] | None) -> None:
    tables = session.info["tables"]
    xcom = {"dag_run_id": 1, "task_id": task_id, "map_index": map_index, "key": "return_value"}
    xcom |= {"dag_id": DAG, "run_id": RUN, "value": value, "timestamp": sa.func.now()}
    session.execute(tables["xcom"].insert().values(**xcom))
    if rendered is not None:
        row = {"dag_id": DAG, "task_id": task_id, "run_id": RUN, "map_index": map_index, "rendered_fields": rendered}
        session.execute(tables["rendered_task_instance_fields"].insert().values(**row))


def _url(endpoint: str, one: listing.FoundRecord) -> str:
    return f"{endpoint}:{one.key}"


def test_records_are_listed_as_served_or_refused_with_the_reason(session: Session) -> None:
    own = f"{PREFIX}/generate"
    _add(
        session,
        "generate",
        -1,
        [
            [_landed(f"{own}/item-00000/000.png")],
            [_landed("salaries.csv", bucket="hr-payroll")],
            [_landed(f"{own}/item-00002/000.png", s3_uri="s3://hr-payroll/salaries.csv")],
            [{"status": "rejected", "s3_uri": None, "model": "m", "code": "moderation_blocked"}],
        ],
        {"s3_bucket": BUCKET, "s3_key_prefix": None, "prompts": ["a long list"] * 50},
    )
    _add(session, "other", -1, [_landed(f"{PREFIX}/other/000.png")], {"s3_bucket": BUCKET, "s3_key_prefix": "x"})
    _add(session, "gone", -1, [_landed(f"{PREFIX}/gone/000.png")], None)
    found = listing.find_records(session, DAG, RUN)
    assert [(one.task_id, one.item) for one in found] == [("generate", 0), ("generate", 1), ("generate", 2),
                                                          ("generate", 3), ("gone", None), ("other", None)]  # fmt: skip
    served, salaries, mismatch, rejected, gone, other = found
    assert served.objects is not None
    assert served.refused is None
    assert served.objects.image.key == f"{own}/item-00000/000.png"
    assert salaries.objects is None
    assert "'hr-payroll' is not this task's own bucket 'openai-images-demo'" in str(salaries.refused)
    assert "not the bucket of its s3_uri" in str(mismatch.refused)
    assert (rejected.objects, rejected.refused) == (None, None), "names no object: nothing to check"
    assert "Airflow keeps no rendered template fields" in str(gone.refused)
    assert "not under this task instance's prefix 'x/other/'" in str(other.refused)

    images = [gallery_image(one, DAG, RUN, _url) for one in found]
    assert images[0].image_url == f"image:{own}/item-00000/000.png"
    assert images[0].prompt_url is not None
    for image in images[1:]:
        assert (image.image_url, image.thumbnail_url, image.prompt_url) == (None, None, None)
    assert [image.refused is not None for image in images] == [False, True, True, False, True, True]
    summary = summarize(found)
    assert (summary.landed, summary.rejected, summary.refused) == (5, 1, 4)


def test_the_rendered_fields_are_read_once_per_request(session: Session) -> None:
    for map_index in range(3):
        records = [_landed(f"{PREFIX}/generate/map-{map_index}/{index:03d}.png") for index in range(4)]
        _add(session, "generate", map_index, records, {"s3_bucket": BUCKET, "s3_key_prefix": None})
    statements: list[str] = []
    sa.event.listen(session.get_bind(), "before_cursor_execute", lambda *args: statements.append(args[2]))
    found = listing.find_records(session, DAG, RUN)
    assert len(found) == 12
    assert all(one.objects is not None for one in found), [one.refused for one in found]
    assert sum("rendered_task_instance_fields" in statement for statement in statements) == 1
    assert len(statements) == 2, "one query for the records, one for the scopes of their task instances"


def test_a_key_is_served_from_its_first_record_the_gallery_may_serve(session: Session) -> None:
    key = f"{PREFIX}/generate/000.png"
    forged = _landed(key, s3_uri="s3://hr-payroll/salaries.csv")
    _add(session, "generate", -1, [forged, _landed(key)], {"s3_bucket": BUCKET})
    found = listing.record_for_key(session, DAG, RUN, "generate", -1, key)
    assert found is not None
    assert found.objects is not None
    assert found.objects.image.uri == f"s3://{BUCKET}/{key}"
    session.execute(sa.text("DELETE FROM xcom"))
    _add(session, "generate", -1, [forged], None)
    only = listing.record_for_key(session, DAG, RUN, "generate", -1, key)
    assert only is not None
    assert only.objects is None
    assert only.refused


def test_the_configured_buckets_replace_the_task_bucket(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    key = f"{PREFIX}/generate/000.png"
    _add(session, "generate", -1, [_landed(key), _landed(key, bucket="gallery-shared")], {"s3_bucket": BUCKET})
    monkeypatch.setenv("AIRFLOW__OPENAI_IMAGES__GALLERY_BUCKETS", "gallery-shared, gallery-archive")
    own, shared = listing.find_records(session, DAG, RUN)
    assert "is not one of [openai_images] gallery_buckets" in str(own.refused)
    assert shared.objects is not None


def _summary(manifest_key: str, bucket: str = BUCKET, items: int = 2) -> dict[str, Any]:
    return {"manifest_uri": f"s3://{bucket}/{manifest_key}", "bucket": bucket, "key": manifest_key,
            "items": items, "records": items, "images_landed": items}  # fmt: skip


@pytest.fixture
def manifests(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The manifests "in S3" (URI -> text) the listing may read; every read is recorded under ``"read"``."""
    from airflow_provider_openai_images.ui import objects

    stored: dict[str, str] = {}
    reads: list[str] = []

    def read_manifest(location: Any) -> str:
        reads.append(location.uri)
        return stored[location.uri]

    monkeypatch.setattr(objects, "read_manifest", read_manifest)
    stored["read"] = reads  # type: ignore[assignment]
    return stored


def _lines(*records: tuple[int, dict[str, Any]]) -> str:
    return "\n".join(json.dumps({"item": item, **record}) for item, record in records) + "\n"


def test_a_manifest_summary_is_listed_from_its_own_manifest_each_record_checked(
    session: Session, manifests: dict[str, Any]
) -> None:
    own = f"{PREFIX}/generate"
    manifests[f"s3://{BUCKET}/{own}/manifest.jsonl"] = _lines(
        (0, _landed(f"{own}/item-00000/000.png")),
        (1, _landed("salaries.csv", bucket="hr-payroll")),  # a forged line: refused like a forged XCom record
        (1, {"status": "rejected", "s3_uri": None, "model": "m", "code": "moderation_blocked"}),
    )
    _add(session, "generate", -1, _summary(f"{own}/manifest.jsonl"), {"s3_bucket": BUCKET, "s3_key_prefix": None})
    served, salaries, rejected = listing.find_records(session, DAG, RUN)
    assert (served.item, salaries.item, rejected.item) == (0, 1, 1)
    assert served.objects is not None
    assert served.objects.image.key == f"{own}/item-00000/000.png"
    assert "'hr-payroll' is not this task's own bucket" in str(salaries.refused)
    assert rejected.record["status"] == "rejected"
    assert manifests["read"] == [f"s3://{BUCKET}/{own}/manifest.jsonl"]


@pytest.mark.parametrize(
    ("manifest_uri", "why"),
    [
        (f"s3://{BUCKET}/{PREFIX}/other/manifest.jsonl", "is not this task instance's"),
        (f"s3://hr-payroll/{PREFIX}/generate/manifest.jsonl", "is not one this task instance may use"),
        (f"s3://{BUCKET}/{PREFIX}/generate/item-00000/000.json", "is not this task instance's"),
        (f"s3://{BUCKET}/{PREFIX}/generate/../other/manifest.jsonl", "is not this task instance's"),
        ("https://example.com/manifest.jsonl", "is not an s3://bucket/key URI"),
    ],
)
def test_a_summary_pointing_anywhere_but_its_own_manifest_is_never_read(
    session: Session, manifests: dict[str, Any], manifest_uri: str, why: str
) -> None:
    summary = _summary("x") | {"manifest_uri": manifest_uri}
    _add(session, "generate", -1, summary, {"s3_bucket": BUCKET, "s3_key_prefix": None})
    (unread,) = listing.find_records(session, DAG, RUN)
    assert unread.record["status"] == "failed"
    assert why in unread.record["message"]
    assert "were not read" in unread.record["message"]
    assert manifests["read"] == []


def test_a_manifest_that_is_not_json_is_said_not_read(session: Session, manifests: dict[str, Any]) -> None:
    own = f"{PREFIX}/generate"
    manifests[f"s3://{BUCKET}/{own}/manifest.jsonl"] = "{not json\n"
    _add(session, "generate", -1, _summary(f"{own}/manifest.jsonl", items=10**12), {"s3_bucket": BUCKET})
    (unread,) = listing.find_records(session, DAG, RUN)
    assert "a line is not JSON" in unread.record["message"]
