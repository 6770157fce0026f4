"""Integration fixtures: the emulator over real sockets, moto's S3 server over real HTTP, a migrated
metadata database and the DAG bag."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from tests.conftest import AIRFLOW_HOME, DAGS_FOLDER

BUCKET = "openai-images-demo"


@pytest.fixture
def client_emulator(images_api_emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """Clients from ``make_client`` reach the emulator over HTTP."""
    return images_api_emulator


@pytest.fixture
def client_transport() -> None:
    return None


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoS3Server]:
    with MotoS3Server() as server:
        yield server


@pytest.fixture
def s3(moto_server: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty bucket ``openai-images-demo`` on moto's server, reached through ``aws_default``."""
    moto_server.reset()
    for name, value in moto_server.connection_env().items():
        monkeypatch.setenv(name, value)
    client = moto_server.client()
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> None:
    """This process's SQLite metadata database, migrated (dag.test() needs it).

    Under xdist the first worker migrates and the others copy its database: ``airflow db migrate``
    takes seconds of CPU that every worker would otherwise spend at once.
    """
    database = AIRFLOW_HOME / "airflow.db"
    if "PYTEST_XDIST_WORKER" not in os.environ:
        _migrate()
        return
    run_directory = tmp_path_factory.getbasetemp().parent  # shared by this run's workers, new for each run
    template = run_directory / "airflow-migrated.db"
    with open(run_directory / "airflow-db.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.exists():
            shutil.copyfile(template, database)
        else:
            _migrate()
            shutil.copyfile(database, template)


def _migrate() -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, timeout=300)


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
