"""The ``cluster`` marker, and one Celery cluster for this folder's tests, with the emulator and moto."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from scripts.cluster_services import ServicesError, ensure_packages
from tests.support.cluster import CeleryCluster

CLUSTER_DAGS_FOLDER = Path(__file__).resolve().parent / "dags"
BUCKET = "openai-images-cluster"
#: seconds each image takes the emulator: tasks overlap, so both workers get some
LATENCY = 1.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster: on a real Celery cluster (Postgres, Redis, two workers)")


@pytest.fixture(scope="module")
def celery_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryCluster]:
    """One cluster per test module, with the module's ``CLUSTER_ENV`` (Airflow settings) if it has one.

    Under xdist it holds the lock the local Airflows of the integration tests hold, so that two never run at
    once (each costs seconds of CPU on a 2-core machine). Module-scoped as theirs are: a session-scoped holder
    would deadlock its own worker when it is given their tests next."""
    try:
        ensure_packages()
    except ServicesError as error:
        pytest.skip(str(error))
    shared = tmp_path_factory.getbasetemp().parent if "PYTEST_XDIST_WORKER" in os.environ else None
    with open(shared / "local-airflow.lock" if shared else os.devnull, "w") as lock:
        if shared:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with (
            ImagesAPIEmulator(latency=LATENCY) as api,
            MotoS3Server() as s3,
            CeleryCluster(
                CLUSTER_DAGS_FOLDER,
                env=getattr(request.module, "CLUSTER_ENV", {}),
                images_api=api,
                s3=s3,
                buckets=[BUCKET],
            ) as cluster,
        ):
            yield cluster
