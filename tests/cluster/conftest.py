"""The ``cluster`` marker, and one Celery cluster for this folder's tests, with the emulator and moto; an S3 fault
proxy in front of moto (the connection ``aws_faulty``); ``chaos_report`` for the chaos scenarios' figures."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from scripts.cluster_services import ServicesError, ensure_packages
from tests.support.cluster import CeleryCluster
from tests.support.s3_faults import S3FaultProxy

from .chaos import BUCKET, CHAOS_PROPERTY, Figures

CLUSTER_DAGS_FOLDER = Path(__file__).resolve().parent / "dags"
#: seconds each image takes the emulator: tasks overlap, so both workers get some
LATENCY = 1.0
#: an AWS connection of every cluster through :func:`s3_proxy`: what a DAG whose S3 must fail uses
FAULTY_AWS_CONN_ID = "aws_faulty"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster: on a real Celery cluster (Postgres, Redis, two workers)")


@pytest.fixture(scope="module")
def cluster_moto() -> Iterator[MotoS3Server]:
    """The module's cluster's S3."""
    with MotoS3Server() as s3:
        yield s3


@pytest.fixture(scope="module")
def s3_proxy(cluster_moto: MotoS3Server) -> Iterator[S3FaultProxy]:
    """A fault-injecting proxy in front of the cluster's moto, which the connection ``aws_faulty`` points at.
    Started before the cluster: the connection is in its components' environment."""
    with S3FaultProxy(cluster_moto.endpoint_url) as proxy:
        yield proxy


def faulty_connection_env(s3: MotoS3Server, proxy: S3FaultProxy) -> dict[str, str]:
    """``aws_faulty``: moto's connection through ``proxy``, botocore's own retries off (ours are what counts)."""
    connection = s3.connection()
    connection["extra"] = {
        **connection["extra"],
        "endpoint_url": proxy.endpoint_url,
        "config_kwargs": {"retries": {"total_max_attempts": 1}},
    }
    return {f"AIRFLOW_CONN_{FAULTY_AWS_CONN_ID.upper()}": json.dumps(connection)}


@pytest.fixture(scope="module")
def celery_cluster(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    cluster_moto: MotoS3Server,
    s3_proxy: S3FaultProxy,
) -> Iterator[CeleryCluster]:
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
        env = {**faulty_connection_env(cluster_moto, s3_proxy), **getattr(request.module, "CLUSTER_ENV", {})}
        with (
            ImagesAPIEmulator(latency=LATENCY) as api,
            CeleryCluster(CLUSTER_DAGS_FOLDER, env=env, images_api=api, s3=cluster_moto, buckets=[BUCKET]) as cluster,
        ):
            yield cluster


@pytest.fixture
def chaos_report(record_property: Callable[[str, object], None]) -> Callable[[Figures], None]:
    """Records a chaos scenario's figures in its test's report, whose ``user_properties`` travel from xdist's
    workers to the controller; ``tests/conftest.py`` prints them in the terminal summary, passed or failed.
    Call it before asserting, so that a failing scenario shows its figures too."""

    def report(figures: Figures) -> None:
        record_property(CHAOS_PROPERTY, figures.as_dict())

    return report
