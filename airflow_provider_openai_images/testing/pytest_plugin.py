"""pytest fixtures around the Images API emulator, for this provider's tests and users' DAG tests.

Enable with ``pytest_plugins = ["airflow_provider_openai_images.testing.pytest_plugin"]`` in a
``conftest.py``.

- ``images_api_emulator``: the session's emulator, running over HTTP, freshly reset, with the
  ``openai_images_default`` connection pointing at it through ``AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT``.
  A test may change any of its settings (``api_key``, ``url_ttl``, ``latency``,
  ``unavailable_models``, ``batch_phase_seconds``, ``batch_seconds_per_line``,
  ``blocked_prompt_words``, ``incompressible_images``, ``compatible_server``, ``extra_models``,
  ``shutdown_dates``): they are put back afterwards, and its batches and files are forgotten.
- ``compatible_images_api_emulator``: a second session emulator, serving what Azure OpenAI and compatible
  servers still serve (``compatible_server=True``: DALL-E, variations, retired GPT image models), with the
  ``openai_images_compatible`` connection pointing at it (``model_lifecycle`` off: OpenAI's shutdown dates
  do not apply there). Its settings are restored after each test, like the first one's.
- ``images_api_emulator_in_process``: a fresh emulator that is never started, for tests that must
  not open sockets; reach it with ``transport=emulator.transport()``. ``openai_images_default``
  points at its in-process address, with its key. Its batches' threads are ended after the test.
- ``moto_s3_server``: moto's standalone S3 server (:class:`~.moto_s3.MotoS3Server`, real HTTP) for the
  session (per xdist worker), started by the first test that asks for it, never otherwise. Needs
  ``moto[server]``: ``pip install 'airflow-provider-openai-images[testing]'``.
- ``moto_s3_bucket``: an empty bucket (:data:`MOTO_S3_BUCKET`) on that server, every bucket of the tests
  before forgotten, with ``aws_default`` pointing at the server; an :class:`~.moto_s3.S3Bucket` (``name``,
  ``client``, ``keys(prefix)``, ``read(key)``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from airflow_provider_openai_images.testing.emulator import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server, S3Bucket

#: settings a test may change, put back after it
_SETTINGS = (
    "api_key", "url_ttl", "latency", "batch_phase_seconds", "batch_seconds_per_line", "incompressible_images",
    "compatible_server", "images_per_minute",
)  # fmt: skip
#: settings that are mutable sets: copied, so that a test changing the set itself changes nothing
_SET_SETTINGS = ("unavailable_models", "blocked_prompt_words")
#: settings that are mutable dicts: copied likewise
_DICT_SETTINGS = ("extra_models", "shutdown_dates")


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
    test changes are restored after it."""
    with _restored(images_api_emulator_server) as emulator:
        for name, value in emulator.connection_env().items():
            monkeypatch.setenv(name, value)
        yield emulator


#: the connection of :func:`compatible_images_api_emulator` (the example DAGs' DALL-E variations use it)
COMPATIBLE_CONN_ID = "openai_images_compatible"


@pytest.fixture(scope="session")
def compatible_images_api_emulator_server() -> Iterator[ImagesAPIEmulator]:
    """A second emulator per test session, started over HTTP, serving as compatible servers do."""
    with ImagesAPIEmulator(compatible_server=True) as emulator:
        yield emulator


@pytest.fixture
def compatible_images_api_emulator(
    compatible_images_api_emulator_server: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ImagesAPIEmulator]:
    """The compatible session emulator, reset, with ``openai_images_compatible`` pointing at it."""
    with _restored(compatible_images_api_emulator_server) as emulator:
        for name, value in emulator.connection_env(COMPATIBLE_CONN_ID, model_lifecycle="off").items():
            monkeypatch.setenv(name, value)
        yield emulator


@contextmanager
def _restored(emulator: ImagesAPIEmulator) -> Iterator[ImagesAPIEmulator]:
    """``emulator`` reset, and after the block reset again with the settings it had put back."""
    settings = {name: getattr(emulator, name) for name in _SETTINGS}
    settings.update({name: set(getattr(emulator, name)) for name in _SET_SETTINGS})
    settings.update({name: dict(getattr(emulator, name)) for name in _DICT_SETTINGS})
    emulator.reset()
    try:
        yield emulator
    finally:
        emulator.reset()
        for name, value in settings.items():
            setattr(emulator, name, value)


@pytest.fixture
def images_api_emulator_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImagesAPIEmulator]:
    """A fresh emulator, not started (no socket), with ``openai_images_default`` pointing at its
    in-process address; clients reach it with ``transport=emulator.transport()``. Reset after the
    test: its batches' threads end and its files leave the disk."""
    emulator = ImagesAPIEmulator()
    for name, value in emulator.connection_env().items():
        monkeypatch.setenv(name, value)
    yield emulator
    emulator.reset()


#: the bucket of :func:`moto_s3_bucket`
MOTO_S3_BUCKET = "openai-images-test"


@pytest.fixture(scope="session")
def moto_s3_server() -> Iterator[MotoS3Server]:
    """moto's S3 server for the session (per xdist worker), started when a test first asks for it."""
    with MotoS3Server() as server:
        yield server


@pytest.fixture
def moto_s3_bucket(moto_s3_server: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """An empty bucket on the session's moto server (everything the tests before stored is forgotten), with
    ``aws_default`` pointing at the server through ``AIRFLOW_CONN_AWS_DEFAULT``."""
    return fresh_moto_bucket(moto_s3_server, monkeypatch, MOTO_S3_BUCKET)


def fresh_moto_bucket(server: MotoS3Server, monkeypatch: pytest.MonkeyPatch, name: str) -> S3Bucket:
    """The bucket ``name``, empty, on ``server`` emptied of everything else, with ``aws_default`` pointing at
    the server for the rest of the test (what :func:`moto_s3_bucket` does, for a bucket of your own)."""
    server.reset()
    for variable, value in server.connection_env().items():
        monkeypatch.setenv(variable, value)
    return server.bucket(name)
