"""The review step and the asset alias in a real Airflow (:class:`LocalAirflow`: api-server, scheduler,
dag-processor, triggerer) against the emulator over HTTP and moto's S3 server.

``openai_images_review_pipeline`` waits for a person: the test reads the human-in-the-loop request
through the REST API as the UI would, answers it through the REST API with a subset of the images, and
checks that ``index.json`` lists exactly those. ``assets_bulk_generate`` lands images through the alias
``openai_images``: ``openai_images_on_new_images``, scheduled on the alias, runs and sees one asset event
per landed image with the image's figures.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_openai_images.compat import HITL_AWAITING_INPUT_SINCE, airflow_at_least
from airflow_provider_openai_images.review import NONE_OPTION
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from tests.conftest import EXAMPLE_DAGS_FOLDER, TEST_DAGS_FOLDER
from tests.support.local_airflow import LocalAirflow, LocalAirflowError

from .conftest import BUCKET

REVIEW_DAG = "openai_images_review_pipeline"
ON_NEW_IMAGES_DAG = "openai_images_on_new_images"
PRODUCER_DAG = "assets_bulk_generate"
DAG_FILES = (EXAMPLE_DAGS_FOLDER / "review_pipeline.py", EXAMPLE_DAGS_FOLDER / "on_new_images.py",
             TEST_DAGS_FOLDER / "assets.py")  # fmt: skip
#: the review task's state while it waits for a person
WAITING = "awaiting_input" if airflow_at_least(*HITL_AWAITING_INPUT_SINCE) else "deferred"
EXTRA_FIELDS = ("model", "sha256", "width", "height", "cost_usd")


@dataclass
class Cluster:
    airflow: LocalAirflow
    api: ImagesAPIEmulator
    s3: Any  # a boto3 client of the moto server

    def run_path(self, dag_id: str, run_id: str) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        """The task instance's state; a failed task instance of the run fails the test at once, with logs."""
        states = {ti["task_id"]: ti["state"] for ti in self.airflow.task_instances(dag_id, run_id)}
        broken = {task: state for task, state in states.items() if state in ("failed", "upstream_failed")}
        if broken:
            self.show_logs(dag_id, run_id)
            raise AssertionError(f"{dag_id} {run_id}: {broken}")
        return states.get(task_id)

    def show_logs(self, dag_id: str, run_id: str) -> None:
        self.airflow.print_logs()
        for ti in self.airflow.task_instances(dag_id, run_id):
            print(self.airflow.task_log(dag_id, run_id, ti["task_id"], max(ti["try_number"], 1)))

    def assert_success(self, dag_id: str, run_id: str, timeout: float = 60.0) -> None:
        state = self.airflow.wait(dag_id, run_id, timeout=timeout)
        if state != "success":
            self.show_logs(dag_id, run_id)
        assert state == "success", f"{dag_id} {run_id}: {state} (component and task logs above)"

    def read_json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One local Airflow for the module, serving only the DAG files these tests need (symlinked). Under
    xdist the lock of ``test_triggerer`` keeps two local Airflows from running at once."""
    dags = tmp_path_factory.mktemp("review-and-assets-dags")
    for path in DAG_FILES:
        (dags / path.name).symlink_to(path)
    shared = tmp_path_factory.getbasetemp().parent if "PYTEST_XDIST_WORKER" in os.environ else None
    with open(shared / "local-airflow.lock" if shared else os.devnull, "w") as lock:
        if shared:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with ImagesAPIEmulator(latency=0.05, blocked_prompt_words={"forbidden"}) as api, MotoS3Server() as moto:
            client = moto.client()
            client.create_bucket(Bucket=BUCKET)  # the default of the Variable openai_images_bucket
            env = {**api.connection_env(), **moto.connection_env()}
            with LocalAirflow(dags, env=env, parallelism=4) as airflow:
                yield Cluster(airflow, api, client)


def test_a_reviewer_s_choice_through_the_rest_api_is_exactly_what_gets_published(cluster: Cluster) -> None:
    airflow = cluster.airflow
    prompts = ["A lighthouse at dusk", "A forbidden poster", "A fox in fresh snow", "A tram in the rain"]
    run_id = airflow.trigger(REVIEW_DAG, {"prompts": prompts})
    airflow.poll(
        lambda: cluster.task_state(REVIEW_DAG, run_id, "review_images") == WAITING or None,
        60,
        "the review task to wait for a response",
    )
    # Airflow 3.3 race: an answer within a scheduler loop of the pause can re-queue the task before the
    # executor's report of the paused try arrives, and the scheduler then fails it ("finished with state
    # success, but the task instance's state attribute is queued"). A person never answers that fast.
    time.sleep(3)
    per_item = airflow.xcom(REVIEW_DAG, run_id, "generate_images")
    assert [[record["status"] for record in records] for records in per_item] == [
        ["landed"], ["rejected"], ["landed"], ["landed"]
    ]  # fmt: skip

    hitl_path = f"{cluster.run_path(REVIEW_DAG, run_id)}/taskInstances/review_images/-1/hitlDetails"
    detail = airflow.api("GET", hitl_path)
    labels = ["#1 · A lighthouse at dusk", "#2 · A fox in fresh snow", "#3 · A tram in the rain"]
    assert detail["options"] == [*labels, NONE_OPTION]
    assert detail["multiple"] is True
    assert detail["response_received"] is False
    assert detail["subject"] == "Review 3 new images (1 not landed)"
    body = detail["body"]
    shown, not_landed = body.split("**Not landed**")
    entries = shown.split("\n- ")[1:]  # one list entry per landed image: label, thumbnail, facts
    for entry, label, records in zip(entries, labels, (per_item[0], per_item[2], per_item[3]), strict=True):
        assert entry.startswith("**" + label.replace("#", "\\#") + "**")
        assert f"`{records[0]['s3_uri']}`" in entry
        assert "gpt-image-2.5-flare, 1024x1024" in entry
        assert "[gallery](" in entry
        thumbnail = f"/thumbnail?map_index=-1&key={records[0]['key']}&v={records[0]['sha256']}"
        assert thumbnail in entry, "the thumbnail inline, from the gallery"
    assert "A fox in fresh snow" in shown, "each item's prompt heads its images"
    assert "item 1 (A forbidden poster): rejected (moderation\\_blocked)" in not_landed

    chosen = [labels[0], labels[2]]
    answer = airflow.api("PATCH", hitl_path, {"chosen_options": chosen, "params_input": {}})
    assert answer["chosen_options"] == chosen
    with pytest.raises(LocalAirflowError, match="409"):
        airflow.api("PATCH", hitl_path, {"chosen_options": [NONE_OPTION], "params_input": {}})
    cluster.assert_success(REVIEW_DAG, run_id)

    published = airflow.xcom(REVIEW_DAG, run_id, "publish_index")
    index_key = published["index_uri"].removeprefix(f"s3://{BUCKET}/")
    assert index_key.startswith("review/")
    assert index_key.endswith("/index.json")
    index = cluster.read_json(index_key)
    uris = [image["s3_uri"] for image in index["images"]]
    assert uris == [per_item[0][0]["s3_uri"], per_item[3][0]["s3_uri"]], "exactly the chosen images"
    assert per_item[2][0]["s3_uri"] not in json.dumps(index), "the unchosen image is not published"
    assert index["images"][0] == per_item[0][0], "the records as the operator returned them"
    responded = airflow.api("GET", hitl_path)
    assert responded["chosen_options"] == chosen
    assert index["reviewed_by"] == responded["responded_by_user"]["name"]
    assert published["images"] == 2
    assert airflow.xcom(REVIEW_DAG, run_id, "review_images")["chosen_options"] == chosen


def test_images_landed_through_the_alias_run_the_dag_scheduled_on_it_with_each_image_s_figures(
    cluster: Cluster,
) -> None:
    airflow = cluster.airflow
    airflow.api("PATCH", f"/api/v2/dags/{ON_NEW_IMAGES_DAG}", {"is_paused": False})
    run_id = airflow.trigger(PRODUCER_DAG)
    cluster.assert_success(PRODUCER_DAG, run_id)
    records = [record for records in airflow.xcom(PRODUCER_DAG, run_id, "generate") for record in records]
    assert [record["status"] for record in records] == ["landed"] * 3
    by_uri = {record["s3_uri"]: record for record in records}

    def downstream_runs() -> list[dict[str, Any]] | None:
        runs = airflow.api("GET", f"/api/v2/dags/{ON_NEW_IMAGES_DAG}/dagRuns")["dag_runs"]
        return runs if runs and all(run["state"] == "success" for run in runs) else None

    runs = airflow.poll(downstream_runs, 60, f"{ON_NEW_IMAGES_DAG} to run after the images landed")
    assert {run["run_type"] for run in runs} == {"asset_triggered"}
    seen: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for run in runs:
        seen += airflow.xcom(ON_NEW_IMAGES_DAG, run["dag_run_id"], "collect_new_images")
        path = f"{cluster.run_path(ON_NEW_IMAGES_DAG, run['dag_run_id'])}/upstreamAssetEvents"
        events += airflow.api("GET", path)["asset_events"]
    assert sorted(image["uri"] for image in seen) == sorted(by_uri), "each landed image, once"
    for image in seen:
        record = by_uri[image["uri"]]
        assert {name: image[name] for name in EXTRA_FIELDS} == {name: record[name] for name in EXTRA_FIELDS}
        assert image["source"] == f"{PRODUCER_DAG}/{run_id}/generate"
    assert sorted(event["uri"] for event in events) == sorted(by_uri)
    for event in events:
        assert {name: event["extra"][name] for name in EXTRA_FIELDS} == {
            name: by_uri[event["uri"]][name] for name in EXTRA_FIELDS
        }
        assert event["source_run_id"] == run_id
