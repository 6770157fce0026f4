"""Deferred operators in a real Airflow: api-server, scheduler (LocalExecutor), dag-processor and a
triggerer process (:class:`LocalAirflow`), against the emulator over HTTP and moto's S3 server.

Proof of deferral, for each deferred task instance: the worker's log says it paused as DEFERRED, the
triggerer wrote a log for this task instance (``attempt=1.log.trigger.<triggerer job id>.log``) in which
the trigger started, sent every Images API request and fired its event, and the task instance was
scheduled again (resumed) after it started, in its first and only try.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from airflow_provider_openai_images.compat import TRIGGER_ON_KILL_SINCE, needs_airflow, triggerer_calls_on_kill
from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from tests.conftest import TEST_DAGS_FOLDER
from tests.support.local_airflow import LocalAirflow

from .conftest import BUCKET

LATENCY = 0.3


@dataclass
class Cluster:
    airflow: LocalAirflow
    api: ImagesAPIEmulator
    s3: Any  # a boto3 client of the moto server

    def run(self, dag_id: str, conf: dict[str, Any] | None = None, timeout: float = 120.0) -> str:
        """Trigger ``dag_id``, wait until it is final, assert it succeeded; its run id."""
        run_id = self.airflow.trigger(dag_id, conf)
        state = self.airflow.wait(dag_id, run_id, timeout=timeout)
        if state != "success":
            self.airflow.print_logs()
            for ti in self.airflow.task_instances(dag_id, run_id):
                print(self.airflow.task_log(dag_id, run_id, ti["task_id"], ti["try_number"]))
        assert state == "success", f"{dag_id} {run_id}: {state} (component and task logs above)"
        return run_id

    def objects(self, prefix: str) -> dict[str, bytes]:
        """Key -> bytes of every object under ``prefix``."""
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return {item["Key"]: self.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One local Airflow for the module. Under xdist, a lock keeps two workers from running two at once
    (each costs seconds of CPU on a 2-core machine); the second waits for the first to finish its tests."""
    shared = tmp_path_factory.getbasetemp().parent if "PYTEST_XDIST_WORKER" in os.environ else None
    with open(shared / "local-airflow.lock" if shared else os.devnull, "w") as lock:
        if shared:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with ImagesAPIEmulator(latency=LATENCY) as api, MotoS3Server() as moto:
            client = moto.client()
            client.create_bucket(Bucket=BUCKET)
            env = {**api.connection_env(), **moto.connection_env()}
            with LocalAirflow(TEST_DAGS_FOLDER, env=env, parallelism=4) as airflow:
                yield Cluster(airflow, api, client)


@pytest.fixture
def local(cluster: Cluster) -> Iterator[Cluster]:
    """The module's cluster, with the emulator's requests forgotten and its latency restored after the test."""
    cluster.api.reset()
    yield cluster
    cluster.api.latency = LATENCY


def run_prefix(dag_id: str, run_id: str) -> str:
    return f"openai-images/{dag_id}/{key_segment(run_id)}/generate"


def assert_deferred(airflow: LocalAirflow, dag_id: str, run_id: str, requests: int) -> list[str]:
    """The ``generate`` task instance deferred, its trigger sent ``requests`` requests in the triggerer,
    and it resumed in the same try. Returns the triggerer's logs of it (one per triggerer that ran it)."""
    (ti,) = [ti for ti in airflow.task_instances(dag_id, run_id) if ti["task_id"] == "generate"]
    assert ti["state"] == "success"
    assert ti["try_number"] == 1, "resumed in the same try, not retried"
    started, scheduled = (datetime.fromisoformat(ti[field]) for field in ("start_date", "scheduled_when"))
    assert scheduled > started, "scheduled again after it started: resumed from deferral"
    worker = airflow.task_log(dag_id, run_id, "generate")
    assert "Pausing task as DEFERRED" in worker
    assert "request(s) to the triggerer" in worker
    assert worker.count("::group::Pre Execute") == 2, "ran in a worker twice: before deferring, after resuming"
    assert "POST /images/generations" not in worker, "no request from the worker"
    triggered = airflow.trigger_logs(dag_id, run_id, "generate")
    assert triggered, f"no triggerer log for {dag_id} {run_id}: it never reached the triggerer"
    lines = [json.loads(line) for log in triggered for line in log.splitlines() if line.startswith("{")]
    assert {line.get("ti_id") for line in lines} - {None} == {ti["id"]}, "the triggerer logged for this task instance"
    events = [line["event"] for line in lines]
    assert any(event.endswith("starting") and event.startswith(f"trigger {dag_id}/") for event in events)
    assert "Trigger fired event" in events
    assert sum(event.startswith("POST /images/generations") for event in events) >= requests
    return triggered


def landed(objects: dict[str, bytes], records: list[dict[str, Any]]) -> None:
    """Every record's image is in the bucket with its sidecar, bytes as the record says."""
    for record in records:
        assert record["status"] == "landed"
        body = objects[record["key"]]
        assert hashlib.sha256(body).hexdigest() == record["sha256"]
        assert len(body) == record["size_bytes"]
        assert record["metadata_uri"].removeprefix(f"s3://{BUCKET}/") in objects


def test_a_deferred_generate_task_requests_and_lands_in_the_triggerer(local: Cluster) -> None:
    run_id = local.run("generate_deferred")
    assert_deferred(local.airflow, "generate_deferred", run_id, requests=1)
    records = local.airflow.xcom("generate_deferred", run_id, "generate")
    prefix = run_prefix("generate_deferred", run_id)
    assert [record["key"] for record in records] == [f"{prefix}/000.png", f"{prefix}/001.png"]
    objects = local.objects(prefix)
    landed(objects, records)
    assert sorted(objects) == [
        f"{prefix}/{index:03d}.{kind}" for index in (0, 1) for kind in ("json", "png", "thumb.webp")
    ]
    (request,) = local.api.requests_to("generations")
    assert (request.json or {})["n"] == 2
    assert (request.json or {})["prompt"] == "A lighthouse at dusk"


def test_a_deferred_bulk_task_requests_and_lands_every_item_in_the_triggerer(local: Cluster) -> None:
    run_id = local.run("bulk_generate_deferred", {"count": 5, "max_concurrency": 4})
    assert_deferred(local.airflow, "bulk_generate_deferred", run_id, requests=5)
    per_item = local.airflow.xcom("bulk_generate_deferred", run_id, "generate")
    assert [len(records) for records in per_item] == [1, 1, 1, 2, 1]
    prefix = run_prefix("bulk_generate_deferred", run_id)
    objects = local.objects(prefix)
    for number, records in enumerate(per_item):
        assert all(record["key"].startswith(f"{prefix}/item-{number:05d}/") for record in records)
        landed(objects, records)
    assert len([key for key in objects if key.endswith(".png")]) == 6
    manifest = [json.loads(line) for line in objects[f"{prefix}/manifest.jsonl"].decode().splitlines()]
    assert [(line["item"], line["index"]) for line in manifest] == [(0, 0), (1, 0), (2, 0), (3, 0), (3, 1), (4, 0)]
    requests = local.api.requests_to("generations")
    assert len(requests) == 5
    assert sorted((r.json or {})["prompt"] for r in requests) == sorted(
        [f"A watercolour postcard, number {n}" for n in (0, 1, 2, 4)] + ["A wide banner, number 3"]
    )


def test_a_triggerer_killed_mid_job_is_replaced_and_pays_again_only_for_what_was_in_flight(local: Cluster) -> None:
    local.api.latency = 1.0
    dag_id, wanted = "bulk_generate_deferred", [1, 1, 1, 2, 1, 1]
    prompts = [f"A watercolour postcard, number {n}" for n in range(6)]
    prompts[3] = "A wide banner, number 3"  # two images in one request
    run_id = local.airflow.trigger(dag_id, {"count": 6, "max_concurrency": 1})
    prefix = run_prefix(dag_id, run_id)

    def missing() -> list[int]:
        """How many images of each item are not complete in S3 (image and sidecar)."""
        keys = {key.removeprefix(f"{prefix}/") for key in local.objects(prefix)}
        complete = [
            sum(f"item-{n:05d}/{i:03d}.png" in keys and f"item-{n:05d}/{i:03d}.json" in keys for i in range(count))
            for n, count in enumerate(wanted)
        ]
        return [count - done for count, done in zip(wanted, complete, strict=True)]

    local.airflow.poll(lambda: 0 in missing(), 90, "the first item to land")
    local.airflow.stop_component("triggerer", sig=signal.SIGKILL)
    at_kill = missing()
    before = [n for n, count in enumerate(at_kill) if count == 0]
    assert len(before) < 6, "the job was still running when the triggerer was killed"
    killed = time.monotonic()
    local.airflow.start_component("triggerer")

    state = local.airflow.wait(dag_id, run_id, timeout=150)
    assert state == "success", f"the run ended {state} after the triggerer restart"
    per_item = local.airflow.xcom(dag_id, run_id, "generate")
    assert [len(records) for records in per_item] == wanted
    objects = local.objects(prefix)
    for records in per_item:
        landed(objects, records)
    triggered = assert_deferred(local.airflow, dag_id, run_id, requests=6 - len(before))
    assert len(triggered) == 2, "the trigger ran in the killed triggerer, then in the new one"

    sent: dict[int, list[int]] = {n: [] for n in range(6)}  # item -> the n of each request for it, in order
    for request in local.api.requests_to("generations"):
        if request.json:  # not a request cut short by the kill before its body arrived (never billed)
            sent[prompts.index(request.json["prompt"])].append(request.json["n"])
    for number in before:
        assert sent[number] == [wanted[number]], f"item {number} had landed before the kill, yet was requested again"
    again = [n for n in range(6) if len(sent[n]) > 1]
    # max_concurrency=1: one request in flight, and the answer before it possibly still being written to S3.
    assert len(again) <= 2, f"only what was in flight when the triggerer died may be requested twice: {sent}"
    for number in again:
        assert sent[number] == [wanted[number], at_kill[number]], (
            f"item {number}, in flight when the triggerer died, is requested (and billed) twice, the second "
            f"time only for its {at_kill[number]} image(s) not landed: {sent[number]}"
        )
    assert local.api.billed_images == sum(wanted) + sum(at_kill[n] for n in again), (
        "every image billed once, and again only the images in flight when the triggerer died"
    )
    print(f"killed after items {before} landed, {again} requested again; done {time.monotonic() - killed:.1f}s later")


def _generate_state(local: Cluster, dag_id: str, run_id: str) -> Any:
    (ti,) = [ti for ti in local.airflow.task_instances(dag_id, run_id) if ti["task_id"] == "generate"]
    return ti["state"]


def test_a_batch_task_waits_in_the_triggerer_through_a_restart_and_lands_its_batch_once(local: Cluster) -> None:
    dag_id = "batch_generate"
    local.api.batch_seconds_per_line = 1.5  # five lines: several seconds in progress
    try:
        run_id = local.airflow.trigger(dag_id, {"count": 5, "blocked": -1, "batch_timeout": 600})
        local.airflow.poll(lambda: _generate_state(local, dag_id, run_id) == "deferred" or None, 90, "deferral")
        polling = lambda: any("in_progress" in log for log in local.airflow.trigger_logs(dag_id, run_id, "generate"))  # noqa: E731
        local.airflow.poll(lambda: polling() or None, 60, "the trigger polling the batch in the triggerer")
        local.airflow.stop_component("triggerer", sig=signal.SIGKILL)
        assert local.api.batches[0].status == "in_progress", "killed while the batch was still running"
        local.airflow.start_component("triggerer")
        state = local.airflow.wait(dag_id, run_id, timeout=120)
    finally:
        local.api.batch_seconds_per_line = 0.0
    assert state == "success"
    (ti,) = [ti for ti in local.airflow.task_instances(dag_id, run_id) if ti["task_id"] == "generate"]
    assert ti["try_number"] == 1, "resumed in the same try"
    worker = local.airflow.task_log(dag_id, run_id, "generate")
    assert "Deferring to batch" in worker
    assert "Pausing task as DEFERRED" in worker
    assert "at Batch API prices" in worker, "the spend line, logged when the task resumed"
    triggered = local.airflow.trigger_logs(dag_id, run_id, "generate")
    assert len(triggered) == 2, "the trigger ran in the killed triggerer, then in the new one"
    assert any("completed, 5 of 5 requests done" in log for log in triggered)
    per_item = local.airflow.xcom(dag_id, run_id, "generate")
    objects = local.objects(run_prefix(dag_id, run_id))
    for records in per_item:
        landed(objects, records)
    assert len(local.api.batches) == 1, "one batch, waited for by both triggerers"
    assert local.api.batch_billed_images == 5
    assert local.api.requests_to("generations") == [], "nothing synchronous"


@pytest.mark.skipif(
    not triggerer_calls_on_kill(), reason=needs_airflow(TRIGGER_ON_KILL_SINCE, "the triggerer calling on_kill")
)
def test_a_batch_task_marked_failed_while_deferred_cancels_its_batch(local: Cluster) -> None:
    from airflow_provider_openai_images.testing import BatchFault

    dag_id = "batch_generate"
    local.api.inject_batch(BatchFault.stall_after(1))  # in progress until somebody cancels it
    run_id = local.airflow.trigger(dag_id, {"count": 3, "blocked": -1, "batch_timeout": 600})
    local.airflow.poll(lambda: _generate_state(local, dag_id, run_id) == "deferred" or None, 90, "deferral")
    polling = lambda: any("in_progress" in log for log in local.airflow.trigger_logs(dag_id, run_id, "generate"))  # noqa: E731
    local.airflow.poll(lambda: polling() or None, 60, "the trigger polling the batch in the triggerer")
    path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances/generate"
    local.airflow.api("PATCH", path, {"new_state": "failed"})
    batch_id = local.api.batches[0].id
    batch = local.api.wait_for_batch(batch_id, timeout=60)
    assert batch.status == "cancelled", "the triggerer's on_kill cancelled the batch"
    assert batch.cancel_requested
    triggered = "\n".join(local.airflow.trigger_logs(dag_id, run_id, "generate"))
    assert f"Task killed: batch {batch_id}" in triggered
