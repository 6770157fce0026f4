"""What every test process needs before Airflow is imported: a throwaway Airflow home, removed at exit; its
metadata database, migrated once per process (``airflow_db``), whichever tests use it first."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> None:
    """This process's SQLite metadata database, migrated (dag.test() needs it).

    Under xdist the first worker migrates and the others copy its database: ``airflow db migrate``
    takes seconds of CPU that every worker would otherwise spend at once.
    """
    database = AIRFLOW_HOME / "airflow.db"
    if "PYTEST_XDIST_WORKER" not in os.environ:
        _migrate()
        return
    run_directory = tmp_path_factory.getbasetemp().parent  # shared by this run's workers, new for each run
    template = run_directory / "airflow-migrated.db"
    with open(run_directory / "airflow-db.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.exists():
            shutil.copyfile(template, database)
        else:
            _migrate()
            shutil.copyfile(database, template)


def _migrate() -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, timeout=300)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One aligned line per chaos scenario on the Celery cluster, from the figures ``chaos_report``
    (``tests/cluster/conftest.py``) recorded in its test's ``user_properties``: xdist's workers send them
    to the controller, which prints this summary even for passing tests, whose output it does not show."""
    rows = [
        (report.nodeid, report.outcome, dict(value))
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "chaos"  # tests/cluster/chaos.py's CHAOS_PROPERTY
    ]
    if not rows:
        return
    terminalreporter.section("chaos on the Celery cluster")
    width = max(len(figures["scenario"]) for _, _, figures in rows)
    for _, outcome, figures in sorted(rows, key=lambda row: row[0]):  # by test id: each module's together
        terminalreporter.write_line(
            f"{figures['scenario']:<{width}}  {figures['prompts']:>3} prompts  {figures['landed']:>3} landed  "
            f"{figures['billed']:>3} billed  {figures['paid_twice']:>2} paid twice  {outcome:<6}  {figures['note']}"
        )


@pytest.fixture(autouse=True)
def _fresh_model_listings() -> Iterator[None]:
    """What the Models API said is remembered per process: each test starts without it."""
    from airflow_provider_openai_images.hooks.openai_images import forget_model_listings

    forget_model_listings()
    yield
    forget_model_listings()


class Sleeps(list[float]):
    """Records the delays the client asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(client_emulator: Any, client_transport: Any, sleeps: Sleeps) -> Iterator[Callable[..., Any]]:
    """Build ``ImagesClient`` s against ``client_emulator`` (over ``client_transport``); ``sleep`` is
    recorded, not slept. The unit and integration conftests say which emulator and transport."""
    from airflow_provider_openai_images.core.client import ClientSettings, ImagesClient
    from airflow_provider_openai_images.core.retry import RetryPolicy

    clients: list[ImagesClient] = []

    def build(
        *, max_retries: int = 2, max_retry_after: float = 60.0, retry_possibly_billed: bool = True, **settings: Any
    ) -> ImagesClient:
        values: dict[str, Any] = {"api_key": client_emulator.api_key, "base_url": client_emulator.base_url}
        values.update(settings)
        values["retry"] = RetryPolicy(
            max_retries=max_retries, max_retry_after=max_retry_after, retry_possibly_billed=retry_possibly_billed
        )
        client = ImagesClient(ClientSettings(**values), transport=client_transport, sleep=sleeps)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


# Hypothesis: a few hundred examples per property under a fixed seed in the usual runs; `make fuzz`
# (HYPOTHESIS_PROFILE=fuzz) runs them at depth with fresh randomness.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default", max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=20_000, derandomize=False, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
