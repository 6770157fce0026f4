"""Unit tests run in-process: any attempt to open a network socket fails the test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import pytest_socket

from airflow_provider_openai_images.testing import ImagesAPIEmulator


@pytest.fixture(autouse=True)
def _no_network_sockets() -> Iterator[None]:
    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()


@pytest.fixture
def emulator(images_api_emulator_in_process: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """The Images API emulator answering in-process through ``emulator.transport()``, no server started;
    ``openai_images_default`` points at its in-process address."""
    return images_api_emulator_in_process


@pytest.fixture
def compatible_server(emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """The emulator serving DALL-E and retired models as Azure OpenAI and compatible servers do."""
    emulator.compatible_server = True
    return emulator


@pytest.fixture
def client_emulator(emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """Clients from ``make_client`` reach the emulator in-process."""
    return emulator


@pytest.fixture
def client_transport(emulator: ImagesAPIEmulator) -> httpx.BaseTransport:
    return emulator.transport()


#: the bucket of the ``s3_hook`` fixture
JOBS_BUCKET = "jobs"
#: the task instance of the jobs and batches these tests run
TASK = {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "try_number": 1}


@pytest.fixture
def api(emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """The in-process emulator with quick batches, refusing prompts that say "forbidden"."""
    emulator.batch_phase_seconds = 0.01
    emulator.blocked_prompt_words.add("forbidden")
    return emulator


@pytest.fixture
def s3_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An ``S3Hook`` on moto's in-memory S3 (no socket), with an empty bucket :data:`JOBS_BUCKET`."""
    from moto import mock_aws

    connection = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": {"region_name": "us-east-1"}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    with mock_aws():
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id="aws_default")
        hook.get_conn().create_bucket(Bucket=JOBS_BUCKET)
        yield hook
