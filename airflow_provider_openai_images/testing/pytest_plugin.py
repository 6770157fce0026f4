"""pytest fixtures around the Images API emulator, for this provider's tests and users' DAG tests.

Enable with ``pytest_plugins = ["airflow_provider_openai_images.testing.pytest_plugin"]`` in a
``conftest.py``. ``images_api_emulator`` gives a running, freshly reset emulator and points the
``openai_images_default`` connection at it through ``AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_openai_images.testing.emulator import ImagesAPIEmulator


@pytest.fixture(scope="session")
def images_api_emulator_server() -> Iterator[ImagesAPIEmulator]:
    """One emulator per test session (per xdist worker)."""
    with ImagesAPIEmulator() as emulator:
        yield emulator


@pytest.fixture
def images_api_emulator(
    images_api_emulator_server: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ImagesAPIEmulator]:
    """The session's emulator, reset, with ``openai_images_default`` pointing at it."""
    emulator = images_api_emulator_server
    emulator.reset()
    for name, value in emulator.connection_env().items():
        monkeypatch.setenv(name, value)
    yield emulator
    emulator.reset()
