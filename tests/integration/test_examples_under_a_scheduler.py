"""Every example DAG as users trigger it in Airflow 3: through the REST API with ``"logical_date": null`` (as the
CLI and asset events do too), under a real scheduler, dag-processor, triggerer and api-server
(:class:`LocalAirflow`), against the emulator (OpenAI as of today) and moto's S3 server. ``{{ ds }}`` is
undefined in such runs; the DAGs must not need it.

``openai_images_review_pipeline`` and ``openai_images_on_new_images`` are run the same way in
``test_review_and_assets.py`` (a person's answer and asset events are what they need).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from airflow_provider_openai_images.testing.pytest_plugin import COMPATIBLE_CONN_ID
from tests.conftest import EXAMPLE_DAGS_FOLDER
from tests.support.local_airflow import LocalAirflow

from .conftest import BUCKET

TRIGGERED = {
    "openai_images_content_pipeline": None,
    "openai_images_nightly_batch": None,
    "openai_images_edit_pipeline": None,
    "openai_images_variations_ab_test": None,
    "openai_images_on_demand": {"prompt": "A kite over the sea", "n": 2},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalAirflow, Any, dict[str, tuple[str, str]]]]:
    """Each DAG of :data:`TRIGGERED` triggered at once without a logical date; dag id -> (run id, final state)."""
    shared = tmp_path_factory.getbasetemp().parent if "PYTEST_XDIST_WORKER" in os.environ else None
    with open(shared / "local-airflow.lock" if shared else os.devnull, "w") as lock:
        if shared:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with (
            # A batch that ends within a second of its task deferring can resume the task before the scheduler
            # has read the executor's report of the deferral: the scheduler then fails the try ("finished with
            # state success, but the task instance's state attribute is queued"), an Airflow race that a real
            # batch, minutes long, never meets. A phase of a second keeps the emulated batch out of it.
            ImagesAPIEmulator(batch_phase_seconds=1.0) as api,
            ImagesAPIEmulator(compatible_server=True) as compatible,
            MotoS3Server() as moto,
        ):
            client = moto.client()
            client.create_bucket(Bucket=BUCKET)
            env = {
                **api.connection_env(),
                **compatible.connection_env(COMPATIBLE_CONN_ID, model_lifecycle="off"),
                **moto.connection_env(),
                "AIRFLOW_VAR_OPENAI_IMAGES_BATCH_POLL_SECONDS": "0.5",
            }
            with LocalAirflow(EXAMPLE_DAGS_FOLDER, env=env, parallelism=8) as airflow:
                started = {dag_id: airflow.trigger(dag_id, conf) for dag_id, conf in TRIGGERED.items()}
                finished = {
                    dag_id: (run_id, airflow.wait(dag_id, run_id, timeout=240)) for dag_id, run_id in started.items()
                }
                if any(state != "success" for _, state in finished.values()):
                    airflow.print_logs()
                yield airflow, client, finished


@pytest.mark.parametrize("dag_id", sorted(TRIGGERED))
def test_an_example_dag_triggered_without_a_logical_date_succeeds(
    runs: tuple[LocalAirflow, Any, dict[str, tuple[str, str]]], dag_id: str
) -> None:
    airflow, _, finished = runs
    run_id, state = finished[dag_id]
    if state != "success":
        for ti in airflow.task_instances(dag_id, run_id):
            print(airflow.task_log(dag_id, run_id, ti["task_id"], max(ti["try_number"], 1)))
    assert state == "success", f"{dag_id} {run_id}: {state} (logs above)"
    run = airflow.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
    assert run["logical_date"] is None, "triggered as the REST API and the CLI do in Airflow 3"


def test_the_dated_pipelines_use_the_day_the_run_was_due(
    runs: tuple[LocalAirflow, Any, dict[str, tuple[str, str]]],
) -> None:
    airflow, client, finished = runs
    for dag_id, folder in (("openai_images_content_pipeline", "content"), ("openai_images_nightly_batch", "nightly")):
        run_id, _ = finished[dag_id]
        day = airflow.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["run_after"][:10]
        index = json.loads(client.get_object(Bucket=BUCKET, Key=f"{folder}/{day}/index.json")["Body"].read())
        assert index["date"] == day
        assert len(index["images"]) == 50 if folder == "content" else index["images"] == 50
