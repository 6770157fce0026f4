"""The package as Airflow sees it: entry point, provider info, CLI, connection form, import cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from airflow_provider_openai_images import get_provider_info
from airflow_provider_openai_images.testing import ImagesAPIEmulator

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def test_provider_info_is_valid_for_airflow_and_names_the_distribution() -> None:
    schema = json.loads(files("airflow").joinpath("provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == metadata.metadata("airflow-provider-openai-images")["Name"]


def test_entry_point_is_registered() -> None:
    entry_points = metadata.entry_points(group="apache_airflow_provider")
    ours = [ep for ep in entry_points if ep.dist and ep.dist.name == "airflow-provider-openai-images"]
    assert len(ours) == 1
    assert ours[0].load() is get_provider_info


def test_connection_form_is_declared_without_importing_the_hook() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    behaviours = manager.field_behaviours
    widgets = manager.connection_form_widgets
    assert behaviours["openai_images"]["relabeling"]["password"] == "API key"
    assert "login" in behaviours["openai_images"]["hidden_fields"]
    assert {
        "organization",
        "project",
        "timeout",
        "max_retries",
        "api_type",
        "api_version",
        "azure_deployment",
    } <= {name.removeprefix("extra__openai_images__") for name in widgets if name.startswith("extra__openai_images__")}


def _airflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AIRFLOW, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}, check=False
    )


def test_airflow_cli_lists_the_provider_and_its_hook() -> None:
    providers = _airflow("providers", "list", "--output", "json")
    assert providers.returncode == 0, providers.stderr
    assert any(p["package_name"] == "airflow-provider-openai-images" for p in json.loads(providers.stdout))
    hooks = _airflow("providers", "hooks", "--output", "json")
    assert hooks.returncode == 0, hooks.stderr
    ours = [h for h in json.loads(hooks.stdout) if h.get("connection_type") == "openai_images"]
    assert ours
    assert ours[0]["class"].endswith("OpenAIImagesHook")


def test_airflow_connections_test_against_the_emulator(images_api_emulator: ImagesAPIEmulator) -> None:
    env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", **images_api_emulator.connection_env("emu_cli")}
    result = _airflow("connections", "test", "emu_cli", env=env)
    assert "Connection success!" in result.stdout, result.stdout + result.stderr
    assert images_api_emulator.requests_to("models"), "the test called GET /models"
    assert images_api_emulator.api_key not in result.stdout + result.stderr


def test_importing_the_provider_adds_no_heavy_module() -> None:
    """DAG files import the provider at every parse: httpx, Pillow, boto3 and S3Hook stay lazy."""
    probe = (
        "import sys\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_openai_images, airflow_provider_openai_images.hooks\n"
        "import airflow_provider_openai_images.operators\n"
        "import airflow_provider_openai_images.exceptions\n"
        "added = set(sys.modules) - before\n"
        "heavy = ('httpx', 'PIL', 'boto3', 'botocore', 'airflow.providers.amazon', 'jsonschema',\n"
        "         'airflow_provider_openai_images.core.client', 'airflow_provider_openai_images.testing')\n"
        "print(sorted(m for m in added if m.split('.')[0] in heavy or m.startswith(heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "module",
    [
        "airflow_provider_openai_images.core.models",
        "airflow_provider_openai_images.core.requests",
        "airflow_provider_openai_images.core.retry",
        "airflow_provider_openai_images.exceptions",
    ],
)
def test_the_core_does_not_import_airflow(module: str) -> None:
    probe = f"import sys, {module}\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
