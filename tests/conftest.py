"""What every test process needs before Airflow is imported: a throwaway Airflow home, removed at exit."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS_FOLDER = REPO_ROOT / "dags"
TEST_DAGS_FOLDER = Path(__file__).resolve().parent / "integration" / "dags"
SHARED_SPEC = REPO_ROOT.parent / "shared" / "openai-images-openapi.yaml"

# Airflow reads its configuration at import time: every test process (xdist worker) gets a
# throwaway home with its own SQLite database, and a DAGs folder linking the example DAGs and the
# fault-injection DAGs (dag.test() wants the DAG file inside the DAGs folder).
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"
DAGS_FOLDER.mkdir()
for _dag_file in [*EXAMPLE_DAGS_FOLDER.glob("*.py"), *TEST_DAGS_FOLDER.glob("*.py")]:
    (DAGS_FOLDER / _dag_file.name).symlink_to(_dag_file)
os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)

pytest_plugins = ["airflow_provider_openai_images.testing.pytest_plugin"]


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


class Sleeps(list[float]):
    """Records the delays the client asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
