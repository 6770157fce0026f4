"""Runs whenever images land: scheduled on the asset alias ``openai_images``, through which every
operator of the provider given ``asset_alias="openai_images"`` emits one asset event per landed image.

An image at ``s3://bucket/key`` is the asset ``Asset("s3://bucket/key")``; its event's extra holds the
image's ``model``, ``sha256``, ``width``, ``height`` and ``cost_usd``. Aliases resolve when the events
arrive, so this DAG needs no list of URIs: a run starts after a task's images land and receives every
event since its last run in ``triggering_asset_events``. ``collect_new_images`` logs each image and
returns them (its XCom), the place to start indexing, moderation or notifications from.
"""

from __future__ import annotations

import logging
from typing import Any

import pendulum
from airflow.sdk import DAG, AssetAlias, task
from typing_extensions import TypedDict

ALIAS = "openai_images"
log = logging.getLogger(__name__)


class NewImage(TypedDict):
    """One landed image, from its asset event."""

    uri: str
    model: str | None
    sha256: str | None
    width: int | None
    height: int | None
    cost_usd: float | None
    source: str
    """``dag_id/run_id/task_id`` (and ``[map_index]`` for a mapped task) of the task that landed it."""
    timestamp: str


with DAG(
    dag_id="openai_images_on_new_images",
    description="Runs when images land through the asset alias openai_images, and lists them",
    schedule=AssetAlias(ALIAS),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["openai-images", "example"],
) as dag:

    @task
    def collect_new_images(triggering_asset_events: Any = None) -> list[NewImage]:
        """Every image whose event triggered this run, with the figures of its event's extra."""
        images: list[NewImage] = []
        for event in (triggering_asset_events or {}).get(AssetAlias(ALIAS), []):
            extra = event.extra or {}
            where = f"{event.source_dag_id}/{event.source_run_id}/{event.source_task_id}"
            if event.source_map_index is not None and event.source_map_index >= 0:
                where += f"[{event.source_map_index}]"
            image: NewImage = {
                "uri": event.asset.uri,
                "model": extra.get("model"),
                "sha256": extra.get("sha256"),
                "width": extra.get("width"),
                "height": extra.get("height"),
                "cost_usd": extra.get("cost_usd"),
                "source": where,
                "timestamp": event.timestamp.isoformat(),
            }
            log.info("New image %s: %s, %sx%s, from %s", image["uri"], image["model"], image["width"],
                     image["height"], where)  # fmt: skip
            images.append(image)
        log.info("%d new image(s)", len(images))
        return images

    collect_new_images()
