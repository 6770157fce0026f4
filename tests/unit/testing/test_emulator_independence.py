"""The emulator is no mirror of the provider: nothing under ``testing/emulator/`` imports the provider's
code under test (``core``, ``exceptions``, ``hooks``... anything outside ``airflow_provider_openai_images
.testing``), neither in its source nor once it has answered requests."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import airflow_provider_openai_images.testing.emulator as emulator_package

EMULATOR_DIRECTORY = Path(emulator_package.__file__).parent
PACKAGE = emulator_package.__name__
PROVIDER, ALLOWED = "airflow_provider_openai_images", "airflow_provider_openai_images.testing"


def provider_imports(source: str, package: str = PACKAGE) -> list[str]:
    """The provider modules (or names) outside ``ALLOWED`` that ``source`` imports: ``import x``,
    ``from x import y`` (relative ones resolved against ``package``) and ``importlib.import_module``/
    ``__import__`` of a constant."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found += [f"{module}.{alias.name}" for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(node.args[0].value)
    return [
        name
        for name in found
        if (name == PROVIDER or name.startswith(f"{PROVIDER}.")) and not name.startswith(f"{ALLOWED}.")
    ]


def test_the_checker_finds_every_form_of_a_provider_import() -> None:
    offending = {
        "import airflow_provider_openai_images.core.models": "airflow_provider_openai_images.core.models",
        "from airflow_provider_openai_images.core.pricing import PriceTable": (
            "airflow_provider_openai_images.core.pricing.PriceTable"
        ),
        "from airflow_provider_openai_images import exceptions": "airflow_provider_openai_images.exceptions",
        "from ...core import models": "airflow_provider_openai_images.core.models",
        "from ... import records": "airflow_provider_openai_images.records",
        "def f():\n    import airflow_provider_openai_images.hooks": "airflow_provider_openai_images.hooks",
        "importlib.import_module('airflow_provider_openai_images.core.responses')": (
            "airflow_provider_openai_images.core.responses"
        ),
    }
    for source, module in offending.items():
        assert provider_imports(source) == [module], source
    allowed = (
        "from airflow_provider_openai_images.testing.emulator.fault_script import FaultScript\n"
        "from airflow_provider_openai_images.testing.emulator.faults import Fault\n"
        "from .served_models import CATALOGUE\n"
        "from . import fault_script\n"
        "import PIL, yaml\n"
    )
    assert provider_imports(allowed) == []


@pytest.mark.parametrize(
    "module", sorted(str(path.relative_to(EMULATOR_DIRECTORY)) for path in EMULATOR_DIRECTORY.rglob("*.py"))
)
def test_no_emulator_module_imports_the_provider(module: str) -> None:
    path = EMULATOR_DIRECTORY / module
    # relative imports resolve against the module's own package (a subpackage's modules are one level down)
    parts = path.relative_to(EMULATOR_DIRECTORY).parent.parts
    package = ".".join([PACKAGE, *parts])
    assert provider_imports(path.read_text("utf-8"), package) == [], f"{module} imports the provider's code under test"


def test_answering_requests_loads_no_provider_module() -> None:
    """In a fresh interpreter: the emulator answers generations (every format), an edit, the Models API
    and a batch; of the provider, only the package root (a parent of ``testing``) may be loaded."""
    script = textwrap.dedent(
        """
        import base64, io, json, sys
        import httpx
        from PIL import Image
        from airflow_provider_openai_images.testing import ImagesAPIEmulator

        emulator = ImagesAPIEmulator(compatible_server=True, batch_phase_seconds=0)
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        with httpx.Client(transport=emulator.transport(), base_url=emulator.base_url, headers=headers) as http:
            for body in ({"output_format": "gif", "frame_count": 2}, {"output_format": "svg"}, {}):
                body = {"prompt": "an otter", "model": "gpt-image-2", "size": "256x256", **body}
                assert http.post("/images/generations", json=body).status_code == 200
            buffer = io.BytesIO()
            Image.new("RGB", (64, 64)).save(buffer, format="PNG")
            files = {"image": ("a.png", buffer.getvalue(), "image/png")}
            assert http.post("/images/edits", data={"prompt": "x", "model": "dall-e-2"}, files=files).status_code == 200
            assert http.get("/models/gpt-image-2").status_code == 200
            line = {"custom_id": "a", "method": "POST", "url": "/v1/images/generations",
                    "body": {"prompt": "x", "model": "gpt-image-1", "quality": "low"}}
            stored = emulator.add_file(json.dumps(line).encode() + b"\\n")
            batch = http.post("/batches", json={"input_file_id": stored.id, "endpoint": line["url"],
                                                "completion_window": "24h"}).json()
            assert emulator.wait_for_batch(batch["id"]).status == "completed"
            assert emulator.batch_billed_usd > 0
        emulator.reset()
        print(json.dumps(sorted(name for name in sys.modules if name.startswith("airflow_provider_openai_images"))))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout.splitlines()[-1])
    assert [name for name in loaded if not name.startswith(f"{ALLOWED}.") and name != ALLOWED] == [PROVIDER]
