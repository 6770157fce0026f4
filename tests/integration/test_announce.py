"""A task with ``asset_alias`` emits one asset event per landed image, with the record's figures, and
every landed image has its thumbnail in the bucket (a DAG run through ``dag.test()``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.imagefactory import decode

from .conftest import BUCKET, bucket_objects, return_values, run_dag


def test_each_landed_image_is_an_asset_event_through_the_alias_with_its_thumbnail_beside_it(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    run = run_dag(dagbag, "announce_generate")
    assert run.state == "success"
    (records,) = return_values(run, "generate")
    assert len(records) == 2
    with create_session() as session:
        events = session.execute(
            select(AssetModel.uri, AssetEvent.extra)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == run.run_id)
        ).all()
    by_uri = {uri: extra for uri, extra in events}
    assert set(by_uri) == {record["s3_uri"] for record in records}
    for record in records:
        extra = by_uri[record["s3_uri"]]
        assert {name: extra[name] for name in ("model", "sha256", "width", "height", "cost_usd")} == {
            name: record[name]
            for name in ("model", "sha256", "width", "height", "cost_usd")  # type: ignore[literal-required]
        }
    objects = bucket_objects(s3)
    for record in records:
        thumb = objects[record["thumbnail_uri"].removeprefix(f"s3://{BUCKET}/")]
        assert thumb["ContentType"] == "image/webp"
        assert max(decode(thumb["Body"]).size) == 256
