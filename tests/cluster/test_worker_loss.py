"""A paid image survives the loss of its worker: a non-deferred 60-prompt bulk task (four requests at a time, 1 s
each) whose Celery worker is killed with ``kill -9`` while requests are in flight. Airflow notices the missing
heartbeat, and the retry runs on the other worker: it lists what the first try landed and pays only for the rest.

What may be paid twice is only what was in flight at the kill (sent, or answered and not yet in S3): at most
``max_concurrency`` requests. Nothing landed is paid again, and every prompt lands exactly once.
"""

from __future__ import annotations

import re
import signal

import pytest

from tests.support.cluster import WORKERS, CeleryCluster

from .conftest import BUCKET

pytestmark = pytest.mark.cluster

DAG_ID = "cluster_bulk"
PROMPTS = 60
MAX_CONCURRENCY = 4
#: a task whose worker vanished is failed (and retried) after 15 s without a heartbeat, not Airflow's 300 s
CLUSTER_ENV = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
}
_ITEM_IMAGE = re.compile(r"/item-(\d{5})/(\d{3})\.png$")


def test_a_worker_killed_mid_bulk_task_loses_no_image_and_the_retry_on_the_other_pays_only_for_what_was_in_flight(
    celery_cluster: CeleryCluster,
) -> None:
    cluster = celery_cluster
    assert cluster.images_api is not None
    assert cluster.s3 is not None
    api = cluster.images_api
    run_id = cluster.trigger(DAG_ID)

    def running_on() -> str | None:
        (ti,) = cluster.task_instances(DAG_ID, run_id)
        return ti["hostname"] if ti["state"] == "running" and ti["hostname"] in WORKERS else None

    first_worker = cluster.poll(running_on, 120, "the bulk task to run on a worker")
    cluster.poll(lambda: api.billed_images >= PROMPTS // 3 or None, 120, "a third of the prompts to be paid")
    cluster.kill(first_worker, signal.SIGKILL)
    billed_at_kill = api.billed_images
    state = cluster.wait(DAG_ID, run_id, timeout=300)

    (ti,) = cluster.task_instances(DAG_ID, run_id)
    if state != "success":
        cluster.print_logs()
        print(cluster.task_log(DAG_ID, run_id, "generate", max(ti["try_number"], 1)))
    assert state == "success", f"{DAG_ID} {run_id}: {state} (logs above)"
    other_worker = next(worker for worker in WORKERS if worker != first_worker)
    assert (ti["try_number"], ti["hostname"]) == (2, other_worker), "the retry ran on the other worker"

    client = cluster.s3.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"openai-images/{DAG_ID}/")
    images = [
        match.groups()
        for page in pages
        for item in page.get("Contents", [])
        if (match := _ITEM_IMAGE.search(item["Key"]))
    ]
    landed_items = sorted(int(item) for item, _ in images)
    billed = api.billed_images
    paid_twice = billed - PROMPTS
    print(
        f"\nworker killed mid-task: {PROMPTS} prompts, {len(images)} images landed, {billed} images billed "
        f"({billed_at_kill} before the kill), {paid_twice} paid twice; killed {first_worker}, retried on {other_worker}"
    )
    assert landed_items == list(range(PROMPTS)), "every prompt landed exactly once"
    assert all(index == "000" for _, index in images)
    assert 0 <= paid_twice <= MAX_CONCURRENCY, "only what was in flight at the kill may be paid again"
    records = cluster.xcom(DAG_ID, run_id, "generate")
    assert [len(item) for item in records] == [1] * PROMPTS
    assert all(record["status"] == "landed" for item in records for record in item)

    cluster.restart(first_worker)
