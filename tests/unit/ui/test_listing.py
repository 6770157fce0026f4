"""What the listing and the object endpoints get from ``ui/listing.py``: every record that names an object
checked against its task instance's scope, read from the rendered template fields once per request, and a
refused record listed with its reason and without URLs.

The metadata database is an in-memory SQLite holding Airflow's own XCom and rendered-fields tables (without
their foreign keys), so the queries are the ones the API server runs.
"""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture
def session() -> Iterator[Session]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel

    engine = sa.create_engine("sqlite://")
    metadata = sa.MetaData()
    for model in (XComModel, RenderedTaskInstanceFields):
        columns = [sa.Column(c.name, c.type, primary_key=c.primary_key) for c in model.__table__.columns]
        sa.Table(model.__tablename__, metadata, *columns)
    metadata.create_all(engine)
    with Session(engine, info={"tables": metadata.tables}) as session:
        yield session


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
