"""A paid image survives the loss of its worker: a non-deferred bulk task (four requests at a time, 1 s each) whose
Celery worker is killed with ``kill -9``. Airflow notices the missing heartbeat, and the retry runs on the other
worker.

- Killed while requests are in flight (60 prompts): the retry lists what the first try landed and pays only for
  the rest. What may be paid twice is only what was in flight at the kill (sent, or answered and not yet in S3): at
  most ``max_concurrency`` requests.
- Killed after S3 refused every image, which waits in an ``s3://`` spill bucket (12 prompts): the retry lands them
  all from the spill and pays for nothing.

In both, nothing landed is paid again, and every prompt lands exactly once.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from airflow_provider_openai_images.testing.moto_s3 import S3Bucket
from tests.support.cluster import WORKERS, CeleryCluster
from tests.support.s3_faults import S3Fault, S3FaultProxy

from .chaos import BUCKET, ChaosRun, Figures

pytestmark = pytest.mark.cluster

#: a task whose worker vanished is failed (and retried) after 15 s without a heartbeat, not Airflow's 300 s
CLUSTER_ENV = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
}
SPILL_BUCKET = "openai-images-cluster-spill"  # dags/cluster_spill.py's spill_path: s3://{SPILL_BUCKET}/spill


def other_worker(worker: str) -> str:
    return next(each for each in WORKERS if each != worker)


def test_a_worker_killed_mid_bulk_task_loses_no_image_and_the_retry_on_the_other_pays_only_for_what_was_in_flight(
    celery_cluster: CeleryCluster, chaos_report: Callable[[Figures], None]
) -> None:
    cluster = celery_cluster
    run = ChaosRun.trigger(cluster, "cluster_bulk", prompts=60)
    first_worker = cluster.poll(run.running_on, 120, "the bulk task to run on a worker")
    cluster.poll(lambda: run.billed() >= run.prompts // 3 or None, 120, "a third of the prompts to be paid")
    cluster.kill(first_worker, signal.SIGKILL)
    billed_at_kill, landed_at_kill = run.billed(), len(run.safely_landed())
    ti = run.finish()

    in_flight = billed_at_kill - landed_at_kill  # paid, and not yet in S3 with its sidecar
    note = f"{billed_at_kill} billed, {in_flight} in flight at the kill of {first_worker}; try {ti['try_number']} on "
    note += str(ti["hostname"])
    figures = run.figures("worker killed mid bulk task", note)
    chaos_report(figures)
    assert (ti["try_number"], ti["hostname"]) == (2, other_worker(first_worker)), "the retry ran on the other worker"
    run.assert_every_prompt_landed_once()
    assert 0 <= figures.paid_twice <= in_flight, "only what was in flight at the kill (paid, not landed) is paid again"

    cluster.restart(first_worker)


def spilled_images(spill: S3Bucket) -> list[str]:
    """The images waiting in the spill bucket: each with its provenance beside it, as a retry takes them."""
    keys = set(spill.keys())
    return sorted(key for key in keys if key.endswith(".bin") and f"{key[:-4]}.json" in keys)


def test_a_worker_killed_after_s3_refused_its_images_leaves_them_in_the_s3_spill_and_the_retry_lands_them_unpaid(
    celery_cluster: CeleryCluster, s3_proxy: S3FaultProxy, chaos_report: Callable[[Figures], None]
) -> None:
    """``cluster_spill`` lands through ``aws_faulty``, whose landing bucket refuses every write (writes to the spill
    bucket pass): each paid image goes to ``s3://{SPILL_BUCKET}/spill``. Once every prompt was billed and waits
    there, and while the task still runs (its manifest refused too), its worker is killed and S3 recovers. The
    retry on the other worker finds the images in the spill and lands each exactly once without paying again."""
    cluster = celery_cluster
    assert cluster.s3 is not None
    spill = cluster.s3.bucket(SPILL_BUCKET)
    s3_proxy.inject(S3Fault.slow_down(times=1_000_000, bucket=BUCKET))
    try:
        run = ChaosRun.trigger(cluster, "cluster_spill", prompts=12)

        def all_spilled_on() -> str | None:
            """The worker still running the task once every prompt was paid for and waits in the spill."""
            if run.billed() < run.prompts or len(spilled_images(spill)) < run.prompts:
                return None
            return run.running_on()

        first_worker = cluster.poll(all_spilled_on, 180, "every paid image to wait in the spill bucket")
        cluster.kill(first_worker, signal.SIGKILL)
        landed_at_kill = len(run.landed())
    finally:
        s3_proxy.reset()
    ti = run.finish()

    note = f"{landed_at_kill} landed, {run.prompts} in the spill at the kill of {first_worker}; try {ti['try_number']}"
    figures = run.figures("worker killed, images in the S3 spill", f"{note} on {ti['hostname']}")
    chaos_report(figures)
    assert landed_at_kill == 0, "S3 refused every image before the kill"
    first_try = cluster.task_log(run.dag_id, run.run_id, "generate", 1)
    assert "Task failed with exception" not in first_try, "the first try was killed, not failed on its own"
    assert (ti["try_number"], ti["hostname"]) == (2, other_worker(first_worker)), "the retry ran on the other worker"
    run.assert_every_prompt_landed_once()
    assert figures.paid_twice == 0, "the retry landed the spilled images without paying for them again"
    assert spilled_images(spill) == [], "the spill is emptied once its images landed"

    cluster.restart(first_worker)
