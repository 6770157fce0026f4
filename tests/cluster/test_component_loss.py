"""A paid image survives the loss of any other component of the Celery cluster: the triggerer (killed with
``kill -9`` mid deferred bulk task, and mid batch), the scheduler (``kill -9`` while a task runs on a worker), the
API server (restarted during a task) and Postgres (stopped mid-run, then started again). Each scenario is one DAG
run of a bulk task whose prompts ask for one image each; every prompt lands exactly once (S3 listed), and what is
paid twice is bounded by what was in flight when the component went away.

What Airflow 3.3 did, as observed on this cluster (the scenarios' docstrings say more):

- triggerer killed: its trigger stays assigned to it until its heartbeat is older than
  ``[triggerer] triggerer_health_check_threshold`` (10 s here); the restarted triggerer then runs it again from
  its serialized start, in the same try of the task instance.
- scheduler killed: the task runs on in its worker and reports to the API server, not to the scheduler; the
  restarted scheduler marks the run successful once the task says it succeeded. No retry.
- API server restarted (down 17 to 22 s on a busy 2-core machine): the task's supervisor retries its calls
  (heartbeats, XCom, state) with backoff (``[workers] execution_api_retries``), and the task finished in its first
  try. This module keeps Airflow's 300 s task heartbeat timeout: with the 15 s of ``test_worker_loss.py``, a 27 s
  outage got the task failed by the scheduler for missing heartbeats (after its job had landed everything), and
  its retry failed to start while the API server was still down, which failed the run.
- Postgres stopped: within 2 to 5 s the dag-processor, the scheduler and the triggerer exit (code 1,
  ``OperationalError``); the API server and the Celery workers stay up, the API server answering the task's
  heartbeats with errors its supervisor retries (one heartbeat given up on: ``failed_heartbeats=1``). The task
  needs no database (its connections are in the environment): it keeps generating and landing, and reports its
  success once Postgres is back. The Celery result backend (Postgres too) retries storing the result.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest

from tests.support.cluster import CeleryCluster

from .chaos import ChaosRun, Figures, until

pytestmark = pytest.mark.cluster

MAX_CONCURRENCY = 4  # of every task in dags/cluster_chaos.py
Report = Callable[[Figures], None]


def first_images_landed(run: ChaosRun) -> int | None:
    """How many images of the run are in S3 with their sidecars, once at least a round of requests landed."""
    return landed if (landed := len(run.safely_landed())) >= MAX_CONCURRENCY else None


def test_a_triggerer_killed_mid_deferred_bulk_task_is_replaced_and_pays_again_only_for_what_was_in_flight(
    celery_cluster: CeleryCluster, chaos_report: Report
) -> None:
    """A deferred bulk job runs in the triggerer; ``kill -9`` after its first images landed. The restarted
    triggerer takes the trigger over and runs the job again: it lists what landed and pays only for the rest, so
    only what was in flight at the kill (billed, not in S3) may be paid twice."""
    cluster = celery_cluster
    run = ChaosRun.trigger(cluster, "cluster_chaos_deferred", prompts=20)
    cluster.poll(lambda: first_images_landed(run), 120, "the trigger's first images to land")
    cluster.kill("triggerer")
    landed_at_kill, billed_at_kill = len(run.safely_landed()), run.billed()
    cluster.restart("triggerer")
    ti = run.finish()

    in_flight = billed_at_kill - landed_at_kill  # paid, and not yet in S3 with its sidecar
    note = f"{landed_at_kill} landed, {in_flight} in flight at the kill"
    figures = run.figures("triggerer killed mid deferred bulk", note)
    chaos_report(figures)
    assert landed_at_kill < run.prompts, "the job was still running when the triggerer was killed"
    assert ti["try_number"] == 1, "resumed from deferral in the same try, not retried"
    triggered = cluster.trigger_logs(run.dag_id, run.run_id, "generate")
    assert len(triggered) == 2, "the trigger ran in the killed triggerer, then in the new one"
    run.assert_every_prompt_landed_once()
    assert 0 <= figures.paid_twice <= in_flight, "only what was in flight (paid, not landed) is paid again"


def test_a_triggerer_killed_while_a_batch_is_in_progress_waits_for_the_same_batch_and_lands_it_once(
    celery_cluster: CeleryCluster, chaos_report: Report
) -> None:
    """A bulk task through the Batch API defers while its batch runs; the triggerer polling it is killed while the
    batch is in progress. The restarted triggerer polls the same batch (recorded in S3 and in the trigger), and the
    task lands it in the same try: one batch, each image billed once at batch price, nothing billed in real time."""
    cluster = celery_cluster
    assert cluster.images_api is not None
    api = cluster.images_api
    batches_before = len(api.batches)
    api.batch_seconds_per_line = 1.5  # the batch stays in progress for several seconds
    try:
        run = ChaosRun.trigger(cluster, "cluster_chaos_batch", prompts=5)
        polling = lambda: any("in_progress" in log for log in cluster.trigger_logs(run.dag_id, run.run_id, "generate"))  # noqa: E731
        cluster.poll(lambda: polling() or None, 120, "the trigger polling the batch in the triggerer")
        cluster.kill("triggerer")
        status_at_kill = api.batches[-1].status
        cluster.restart("triggerer")
        ti = run.finish()
    finally:
        api.batch_seconds_per_line = 0.0

    batches = api.batches[batches_before:]
    figures = run.figures("triggerer killed mid batch", f"{len(batches)} batch, {status_at_kill} at the kill")
    chaos_report(figures)
    assert status_at_kill == "in_progress", "killed while the batch was still running"
    assert ti["try_number"] == 1, "resumed in the same try"
    assert len(cluster.trigger_logs(run.dag_id, run.run_id, "generate")) == 2, "polled by both triggerers"
    assert [batch.billed_images for batch in batches] == [run.prompts], "one batch, each image billed once"
    run.assert_every_prompt_landed_once()
    assert figures.paid_twice == 0


def test_a_scheduler_killed_while_a_task_runs_loses_nothing_and_the_task_is_not_run_again(
    celery_cluster: CeleryCluster, chaos_report: Report
) -> None:
    """``kill -9`` of the scheduler while a non-deferred bulk task runs on a worker, then a new scheduler. The task
    does not need the scheduler: it runs on, in its first try, and the run succeeds. Nothing is paid twice."""
    cluster = celery_cluster
    run = ChaosRun.trigger(cluster, "cluster_chaos_bulk", prompts=40)
    worker = cluster.poll(run.running_on, 120, "the bulk task to run on a worker")
    cluster.poll(lambda: first_images_landed(run), 120, "the first images to land")
    cluster.kill("scheduler")
    landed_at_kill = len(run.landed())
    cluster.restart("scheduler")
    state_when_back = run.task()["state"]
    ti = run.finish()

    note = f"{landed_at_kill} landed at the kill; the task {state_when_back} when the scheduler was back"
    figures = run.figures("scheduler killed mid task", note)
    chaos_report(figures)
    assert landed_at_kill < run.prompts, "the task was still running when the scheduler was killed"
    assert (ti["try_number"], ti["hostname"]) == (1, worker), "the task ran on in its worker, in its first try"
    run.assert_every_prompt_landed_once()
    assert figures.paid_twice == 0


def test_an_api_server_restarted_during_a_task_loses_nothing_and_pays_nothing_twice(
    celery_cluster: CeleryCluster, chaos_report: Report
) -> None:
    """The API server is restarted while a non-deferred bulk task runs. The task's supervisor retries its heartbeats
    and the task's calls until the new API server answers: the task finishes in its first try. Should the outage
    outlast those retries (a slow start on a busy machine), the call that gave up fails the try after its job
    finished: the retry finds every image in S3 and pays nothing. Either way nothing is paid twice."""
    cluster = celery_cluster
    run = ChaosRun.trigger(cluster, "cluster_chaos_bulk", prompts=40)
    cluster.poll(run.running_on, 120, "the bulk task to run on a worker")
    cluster.poll(lambda: first_images_landed(run), 120, "the first images to land")
    landed_at_stop = len(run.landed())
    stopped = time.monotonic()
    cluster.restart("api-server")
    outage = time.monotonic() - stopped
    ti = run.finish()

    first_try = cluster.task_log(run.dag_id, run.run_id, "generate", 1)
    job_done_in_first_try = f"items {run.prompts}/{run.prompts}" in first_try
    what = "same try" if ti["try_number"] == 1 else f"try {ti['try_number']}, done in try 1: {job_done_in_first_try}"
    figures = run.figures("API server restarted mid task", f"back after {outage:.0f}s; {what}")
    chaos_report(figures)
    assert landed_at_stop < run.prompts, "the task was still running when the API server stopped"
    run.assert_every_prompt_landed_once()
    in_flight_when_it_died = 0 if ti["try_number"] == 1 or job_done_in_first_try else MAX_CONCURRENCY
    assert 0 <= figures.paid_twice <= in_flight_when_it_died


def test_postgres_stopped_mid_task_stops_the_scheduler_side_but_not_the_task_and_nothing_is_paid_twice(
    celery_cluster: CeleryCluster, chaos_report: Report
) -> None:
    """Postgres is stopped (its fast shutdown: every client cut off) while a non-deferred bulk task runs, and
    started again once the task has landed every prompt without it. Observed: the dag-processor, the scheduler and
    the triggerer exit within seconds (code 1, ``OperationalError``) and are started again here; the API server and
    the workers stay up. The task keeps generating and landing, one heartbeat fails after its retries, and the task
    reports its success in its first try once Postgres is back: nothing lost, nothing paid twice."""
    cluster = celery_cluster
    run = ChaosRun.trigger(cluster, "cluster_chaos_bulk", prompts=40)
    worker = cluster.poll(run.running_on, 120, "the bulk task to run on a worker")
    cluster.poll(lambda: first_images_landed(run), 120, "the first images to land")
    cluster.kill("postgres", signal.SIGINT)
    landed_at_stop = len(run.landed())
    stopped = time.monotonic()
    until(lambda: len(run.landed()) == run.prompts, 120, "the task to land every prompt without a database")
    exited = cluster.exited()
    outage = time.monotonic() - stopped
    cluster.restart("postgres")
    cluster.restart(*cluster.exited())
    ti = run.finish()

    gone = ", ".join(f"{name} ({code})" for name, code in sorted(exited.items())) or "none"
    figures = run.figures("Postgres stopped mid task", f"down {outage:.0f}s; exited: {gone}; restarted them")
    chaos_report(figures)
    assert landed_at_stop < run.prompts, "the task was still running when Postgres stopped"
    assert worker not in exited, "the task's worker rode it out"
    assert "api-server" not in exited, "the API server rode it out"
    assert (ti["try_number"], ti["hostname"]) == (1, worker), "the task finished in its first try"
    run.assert_every_prompt_landed_once()
    assert figures.paid_twice == 0
