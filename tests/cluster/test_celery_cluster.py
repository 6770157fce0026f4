"""The provider where users run it: mapped generate tasks under the CeleryExecutor (Postgres, Redis), spread
over two Celery workers, each landing its image in S3 (moto) from the worker that ran it."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.cluster import WORKERS, CeleryCluster

from .conftest import BUCKET

pytestmark = pytest.mark.cluster

DAG_ID = "cluster_fanout"
TASKS = 8


def test_mapped_generate_tasks_run_on_both_workers_and_land_in_s3(celery_cluster: CeleryCluster) -> None:
    cluster = celery_cluster
    run_id = cluster.trigger(DAG_ID)
    state = cluster.wait(DAG_ID, run_id, timeout=300)
    instances = cluster.task_instances(DAG_ID, run_id)
    if state != "success":
        cluster.print_logs()
        for ti in instances:
            print(cluster.task_log(DAG_ID, run_id, ti["task_id"], max(ti["try_number"], 1), ti["map_index"]))
    assert state == "success", f"{DAG_ID} {run_id}: {state} (logs above)"

    assert [(ti["map_index"], ti["state"]) for ti in instances] == [(index, "success") for index in range(TASKS)]
    hosts = cluster.hostnames(DAG_ID, run_id)
    assert set(hosts.values()) == set(WORKERS), f"both workers ran tasks: {hosts}"
    assert all(ti["executor"] in (None, "CeleryExecutor") and ti["queue"] == "default" for ti in instances)

    assert cluster.s3 is not None
    client = cluster.s3.client()
    for index in range(TASKS):
        (record,) = cluster.xcom(DAG_ID, run_id, "generate", map_index=index)
        assert record["status"] == "landed"
        body = client.get_object(Bucket=BUCKET, Key=record["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == record["sha256"]
    assert cluster.images_api is not None
    assert cluster.images_api.billed_images == TASKS
