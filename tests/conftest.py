from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Airflow reads its home at import time: give every test session a throwaway one.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from airflow_provider_openai_images.core.client import ClientSettings, ImagesClient
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.testing import ImagesAPIEmulator

pytest_plugins = ["airflow_provider_openai_images.testing.pytest_plugin"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_SPEC = REPO_ROOT.parent / "shared" / "openai-images-openapi.yaml"


class Sleeps(list[float]):
    """Records the delays the client asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(images_api_emulator: ImagesAPIEmulator, sleeps: Sleeps) -> Iterator[Callable[..., ImagesClient]]:
    """Build clients against the emulator; ``sleep`` is recorded, not slept."""
    clients: list[ImagesClient] = []

    def build(*, max_retries: int = 2, max_retry_after: float = 60.0, **settings: object) -> ImagesClient:
        values: dict[str, object] = {"api_key": images_api_emulator.api_key, "base_url": images_api_emulator.base_url}
        values.update(settings)
        values["retry"] = RetryPolicy(max_retries=max_retries, max_retry_after=max_retry_after)
        client = ImagesClient(ClientSettings(**values), sleep=sleeps)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
