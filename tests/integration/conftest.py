"""Integration fixtures: the emulator over real sockets, moto's S3 server over real HTTP, a migrated
metadata database and the DAG bag."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_openai_images import s3 as s3_module
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from airflow_provider_openai_images.testing.pytest_plugin import fresh_moto_bucket
from tests.conftest import DAGS_FOLDER
from tests.support.s3_faults import S3FaultProxy

BUCKET = "openai-images-demo"


@pytest.fixture
def client_emulator(images_api_emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """Clients from ``make_client`` reach the emulator over HTTP."""
    return images_api_emulator


@pytest.fixture
def client_transport() -> None:
    return None


@pytest.fixture(scope="session")
def moto_server(moto_s3_server: MotoS3Server) -> MotoS3Server:
    """The pytest plugin's session moto server."""
    return moto_s3_server


@pytest.fixture
def s3(moto_server: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty bucket ``openai-images-demo`` on moto's server, reached through ``aws_default``."""
    return fresh_moto_bucket(moto_server, monkeypatch, BUCKET).client


@pytest.fixture
def dagbag(airflow_db: None) -> Any:
    """The example DAGs, parsed afresh for each test (dag.test(run_conf=...) updates a DAG's params)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS_FOLDER))


def bucket_objects(client: Any) -> dict[str, dict[str, Any]]:
    """Every object in the test bucket: key -> head_object answer plus ``Body`` bytes."""
    objects = {}
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        answer = client.get_object(Bucket=BUCKET, Key=item["Key"])
        answer["Body"] = answer["Body"].read()
        objects[item["Key"]] = answer
    return objects


def return_values(run: Any, task_id: str) -> list[Any]:
    """The XCom return values of a task in a finished run, ordered by map index."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        ).all()
        return [XComModel.deserialize_value(row) for row in sorted(rows, key=lambda row: row.map_index)]


# -- fault injection ---------------------------------------------------------------------------------

SECRET = "sk-proj-FAULTSUITE-SECRET-0123456789abcdef"


@pytest.fixture
def api(images_api_emulator: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch) -> ImagesAPIEmulator:
    """The emulator behind a connection with a recognisable key and fast, bounded retries."""
    monkeypatch.setattr(images_api_emulator, "api_key", SECRET)
    extra = {"max_retries": 3, "retry_initial_delay": 0.05, "timeout": 1.0, "max_retry_after": 5}
    for name, value in images_api_emulator.connection_env(**extra).items():
        monkeypatch.setenv(name, value)
    return images_api_emulator


@pytest.fixture
def s3_proxy(moto_server: MotoS3Server, s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3FaultProxy]:
    """A fault-injecting proxy in front of moto; botocore's own retries off so ours are what is tested."""
    connection = moto_server.connection()
    with S3FaultProxy(moto_server.endpoint_url) as proxy:
        connection["extra"] = {
            **connection["extra"],
            "endpoint_url": proxy.endpoint_url,
            "config_kwargs": {"retries": {"total_max_attempts": 1}},
        }
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
        monkeypatch.setattr(s3_module, "S3_WRITE_RETRY", RetryPolicy(max_retries=3, initial_delay=0.05, max_delay=0.2))
        yield proxy


@pytest.fixture
def everything(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Any:
    """Collects every place the key could leak to, for one test, with DEBUG logging on."""
    caplog.set_level(logging.DEBUG)

    def collect(run: Any, client: Any) -> str:
        from airflow.models.renderedtifields import RenderedTaskInstanceFields
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session
        from sqlalchemy import select

        captured = capfd.readouterr()
        texts = [captured.out, captured.err, caplog.text]
        with create_session() as session:
            for row in session.scalars(select(XComModel).where(XComModel.run_id == run.run_id)):
                texts.append(json.dumps(XComModel.deserialize_value(row), default=str))
            for row in session.scalars(
                select(RenderedTaskInstanceFields).where(RenderedTaskInstanceFields.run_id == run.run_id)
            ):
                texts.append(json.dumps(row.rendered_fields, default=str))
        for key, stored in bucket_objects(client).items():
            texts.append(json.dumps(stored["Metadata"]))
            if key.endswith(".json"):
                texts.append(stored["Body"].decode())
        return "\n".join(texts)

    return collect


def assert_no_key(haystack: str) -> None:
    """Not even part of the recognisable key is in ``haystack``."""
    assert haystack, "something was collected"
    assert SECRET not in haystack
    assert "FAULTSUITE-SECRET" not in haystack


def images_in(client: Any) -> dict[str, bytes]:
    """Key -> bytes of every image (not sidecars, manifests or thumbnails) in the test bucket."""
    objects = bucket_objects(client)
    return {
        key: stored["Body"] for key, stored in objects.items() if not key.endswith((".json", ".jsonl", ".thumb.webp"))
    }


def run_dag(dagbag: Any, dag_id: str, **conf: Any) -> Any:
    """``dag.test()`` with ``conf`` as the trigger form's values."""
    return dagbag.dags[dag_id].test(run_conf=conf or None)


def retry_on_another_worker(dag_id: str, task_id: str, run_id: str, tmp_path: Path) -> str:
    """:func:`tasks_test` with a temporary directory of its own: what a worker that never saw the first try
    finds (no local spill); returns its output."""
    other_worker_tmp = tmp_path / "other-worker-tmp"
    other_worker_tmp.mkdir()
    return tasks_test(dag_id, task_id, run_id, TMPDIR=str(other_worker_tmp))


def tasks_test(dag_id: str, task_id: str, run_id: str, **env: str) -> str:
    """Run one task again inside an existing DAG run, as a retry or a clear does, in a fresh process
    (with ``env`` on top of this one's); returns its output."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    result = subprocess.run(
        [airflow, "tasks", "test", dag_id, task_id, run_id],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr
