"""pytest fixtures around the Images API emulator, for this provider's tests and users' DAG tests.

Enable with ``pytest_plugins = ["airflow_provider_openai_images.testing.pytest_plugin"]`` in a
``conftest.py``.

- ``images_api_emulator``: the session's emulator, running over HTTP, freshly reset, with the
  ``openai_images_default`` connection pointing at it through ``AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT``.
  A test may change its ``api_key``, ``url_ttl``, ``latency`` or ``unavailable_models``: they are
  put back afterwards.
- ``images_api_emulator_in_process``: a fresh emulator that is never started, for tests that must
  not open sockets; reach it with ``transport=emulator.transport()``. ``openai_images_default``
  points at its in-process address, with its key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_openai_images.testing.emulator import ImagesAPIEmulator


@pytest.fixture(scope="session")
def images_api_emulator_server() -> Iterator[ImagesAPIEmulator]:
    """One emulator per test session (per xdist worker), started over HTTP."""
    with ImagesAPIEmulator() as emulator:
        yield emulator


@pytest.fixture
def images_api_emulator(
    images_api_emulator_server: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ImagesAPIEmulator]:
    """The session's emulator, reset, with ``openai_images_default`` pointing at it; the settings a
    test changes (``api_key``, ``url_ttl``, ``latency``, ``unavailable_models``) are restored after it."""
    emulator = images_api_emulator_server
    settings = {name: getattr(emulator, name) for name in ("api_key", "url_ttl", "latency")}
    settings["unavailable_models"] = set(emulator.unavailable_models)  # a copy: the set itself may change
    emulator.reset()
    for name, value in emulator.connection_env().items():
        monkeypatch.setenv(name, value)
    yield emulator
    emulator.reset()
    for name, value in settings.items():
        setattr(emulator, name, value)


@pytest.fixture
def images_api_emulator_in_process(monkeypatch: pytest.MonkeyPatch) -> ImagesAPIEmulator:
    """A fresh emulator, not started (no socket), with ``openai_images_default`` pointing at its
    in-process address; clients reach it with ``transport=emulator.transport()``."""
    emulator = ImagesAPIEmulator()
    for name, value in emulator.connection_env().items():
        monkeypatch.setenv(name, value)
    return emulator
