"""Unit tests run in-process: any attempt to open a network socket fails the test."""

from __future__ import annotations

from collections.abc import Iterator

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
def client_emulator(emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """Clients from ``make_client`` reach the emulator in-process."""
    return emulator


@pytest.fixture
def client_transport(emulator: ImagesAPIEmulator) -> httpx.BaseTransport:
    return emulator.transport()
