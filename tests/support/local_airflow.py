"""A real Airflow on this machine, for integration tests and benchmarks.

:class:`LocalAirflow` runs ``airflow api-server``, ``scheduler`` (LocalExecutor), ``dag-processor`` and
``triggerer`` as subprocesses of a throwaway ``AIRFLOW_HOME`` with SQLite, configured as ``airflow
standalone`` configures itself (simple auth manager, one JWT secret, the execution API on the API
server's port), with short heartbeats and parsing intervals so that runs start quickly::

    with LocalAirflow("tests/integration/dags", env=connections, parallelism=8) as airflow:
        run_id = airflow.trigger("generate_deferred")
        assert airflow.wait("generate_deferred", run_id) == "success"
        records = airflow.xcom("generate_deferred", run_id, "generate")

Each component writes to ``{home}/component-logs/{name}.log``; a wait that fails prints them all.
Everything stops (process groups, then any survivor) on exit, even when the block raises.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

import psutil

from tests.support.ports import free_port

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
FINAL_RUN_STATES = frozenset({"success", "failed"})
#: how many times a write SQLite was too busy for is sent (see :meth:`LocalAirflow._request`)
DATABASE_BUSY_ATTEMPTS = 5
T = TypeVar("T")


class LocalAirflowError(RuntimeError):
    """A component did not start or died, or a condition was not met in time; the message says which."""


class LocalAirflow:
    """Airflow's components as subprocesses of a throwaway home (SQLite, LocalExecutor).

    :param dags_folder: the DAG files to serve.
    :param env: extra environment for every component (``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*``, settings).
    :param parallelism: executor slots, tasks running at once (``[core] parallelism``, also per DAG).
    :param startup_timeout: seconds to wait for the database, the components and the first parse.
    :param min_file_process_interval: seconds between two parses of a DAG file.
    :param home: the ``AIRFLOW_HOME`` to use, kept; default: a temporary directory, removed on exit.
    """

    def __init__(
        self,
        dags_folder: str | os.PathLike[str],
        *,
        env: Mapping[str, str] | None = None,
        parallelism: int = 8,
        startup_timeout: float = 120.0,
        min_file_process_interval: int = 30,
        home: str | os.PathLike[str] | None = None,
    ) -> None:
        self.dags_folder = Path(dags_folder).resolve()
        self.startup_timeout = startup_timeout
        self._own_home = home is None
        self.home = Path(home) if home is not None else Path(tempfile.mkdtemp(prefix="local-airflow-"))
        self.base_url = f"http://127.0.0.1:{free_port()}"
        # This process's environment less its Airflow settings, connections and variables, then the cluster's.
        inherited = {name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW_", "_AIRFLOW"))}
        self.env = {**inherited, **self._settings(parallelism, min_file_process_interval), **(env or {})}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._token: str | None = None

    def _settings(self, parallelism: int, parse_interval: int) -> dict[str, str]:
        """What every component must agree on, and the intervals that keep a test run short."""
        return {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(parallelism),
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager."
            "SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # GET /auth/token gives an admin's token
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",  # where tasks report
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": self.base_url.rsplit(":", 1)[1],
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),  # the scheduler signs, the API server checks
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",  # new DAG files are seen within seconds
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(parse_interval),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.25",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            # A dead triggerer's triggers go to a live one this many seconds after its last heartbeat.
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
            # The scheduler and triggerer serve logs on fixed ports by default: two local Airflows would collide.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        }

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> LocalAirflow:
        """Migrate the database, start every component, wait until all are healthy and the DAGs parsed."""
        atexit.register(self.stop)
        try:
            (self.home / "component-logs").mkdir(parents=True, exist_ok=True)
            migrate = [_airflow(), "db", "migrate"]
            done = subprocess.run(migrate, env=self.env, capture_output=True, timeout=self.startup_timeout, check=False)
            if done.returncode:
                raise LocalAirflowError(f"airflow db migrate: {(done.stdout + done.stderr)[-5000:].decode()}")
            for name in self.components():
                self.start_component(name)
            self.wait_healthy()
            self.wait_for_dags()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every component and its children; remove a temporary home. Safe to call twice.

        Components get 5 s to stop on SIGTERM before they are killed: some take 30 s to drain, and nothing is
        checked after a cluster's last test (tests of a graceful stop call :meth:`stop_component` themselves).
        """
        self.stop_component(*self.processes, timeout=5.0)
        atexit.unregister(self.stop)
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def components(self) -> tuple[str, ...]:
        """What :meth:`start` starts after migrating, in order (a subclass may add its own)."""
        return COMPONENTS

    def command(self, name: str) -> tuple[list[str], Mapping[str, str]]:
        """The command line and environment of the component ``name``: ``airflow {name}`` in :attr:`env`."""
        return [_airflow(), name], self.env

    def start_component(self, name: str) -> None:
        """Start the component's :meth:`command` in a process group of its own, its output appended to its log."""
        command, env = self.command(name)
        with (self.home / "component-logs" / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.home,
            )  # fmt: skip

    def stop_component(self, *names: str, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> None:
        """Send ``sig`` (``SIGKILL``: a crash) to the components' process groups, wait for every process of
        their trees, then kill what is left."""
        trees = self.all_processes(*names)
        stopping = [self.processes.pop(name) for name in names if name in self.processes]
        for process in stopping:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, sig)
        _, alive = psutil.wait_procs(trees, timeout=timeout)
        for process in stopping:  # also what started after ``trees`` was listed
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
        for survivor in alive:
            with contextlib.suppress(psutil.Error):
                survivor.kill()
        psutil.wait_procs(alive, timeout=10)
        for process in stopping:
            process.wait(timeout=10)

    def wait_healthy(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait until the API server answers and every component heartbeats; ``/monitor/health``'s answer."""

        def healthy() -> dict[str, Any] | None:
            try:
                health = self._request("GET", "/api/v2/monitor/health", None, {})
            except (OSError, LocalAirflowError):
                return None
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            return health if all((health.get(part) or {}).get("status") == "healthy" for part in parts) else None

        return self.poll(healthy, timeout or self.startup_timeout, "every component to be healthy")

    def wait_for_dags(self, timeout: float | None = None) -> list[str]:
        """Wait until every file of the DAGs folder that may hold DAGs is parsed (Airflow's heuristic: it
        mentions ``airflow`` and ``dag``); the DAG ids. Import errors fail at once."""
        files = self.dags_folder.rglob("*.py")
        expected = {str(path.relative_to(self.dags_folder)) for path in files if _may_hold_dags(path)}

        def parsed() -> list[str] | None:
            errors = self.api("GET", "/api/v2/importErrors")["import_errors"]
            if errors:
                raise LocalAirflowError(f"DAG import errors: {json.dumps(errors, indent=1)}")
            dags = self._all("/api/v2/dags", "dags")
            return [dag["dag_id"] for dag in dags] if expected <= {dag["relative_fileloc"] for dag in dags} else None

        return self.poll(parsed, timeout or self.startup_timeout, f"the DAG files {sorted(expected)} to be parsed")

    def poll(self, condition: Callable[[], T | None], timeout: float, what: str, every: float = 0.25) -> T:
        """``condition()``'s first truthy value within ``timeout`` seconds; otherwise, or at once if a component
        died, print every component's log and raise."""
        deadline = time.monotonic() + timeout
        while not (value := condition()):
            dead = {name: process.returncode for name, process in self.processes.items() if process.poll() is not None}
            if dead or time.monotonic() > deadline:
                self.print_logs()
                reason = f"components exited: {dead}" if dead else f"not within {timeout:.0f}s"
                raise LocalAirflowError(f"Waiting for {what}: {reason} (logs above; home {self.home})")
            time.sleep(every)
        return value

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Unpause ``dag_id`` and trigger a run with ``conf``; its run id."""
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": dict(conf or {})})
        return str(run["dag_run_id"])

    def wait(self, dag_id: str, run_id: str, timeout: float = 120.0) -> str:
        """Wait until the run is final; its state (``success`` or ``failed``)."""

        def final() -> str | None:
            state = str(self.api("GET", _run(dag_id, run_id))["state"])
            return state if state in FINAL_RUN_STATES else None

        return self.poll(final, timeout, f"run {run_id} of {dag_id} to finish", every=0.25)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances (``id``, ``state``, ``try_number``, ``start_date``, ``duration``, ...)."""
        path = f"{_run(dag_id, run_id)}/taskInstances"
        return sorted(self._all(path, "task_instances"), key=lambda ti: (ti["task_id"], ti["map_index"]))

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        """A task instance's XCom value."""
        path = f"{_run(dag_id, run_id)}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.api("GET", f"{path}?map_index={map_index}&deserialize=true")["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1) -> str:
        """What the worker logged for one try of a task instance (JSON lines; a resumed task appends)."""
        path = self._task_logs(dag_id, run_id, task_id, map_index) / f"attempt={try_number}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def trigger_logs(
        self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1
    ) -> list[str]:
        """What triggerers logged for the task instance's trigger (JSON lines), one text per triggerer job
        that ran it: none for a task that never deferred."""
        files = self._task_logs(dag_id, run_id, task_id, map_index).glob(f"attempt={try_number}.log.trigger.*")
        return [path.read_text(errors="replace") for path in sorted(files)]

    def _task_logs(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> Path:
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return folder / f"map_index={map_index}" if map_index >= 0 else folder

    def print_logs(self, file: IO[str] | None = None, tail: int = 20000) -> None:
        """Print the end of every component's log (to stderr by default): what a CI failure needs."""
        for path in sorted((self.home / "component-logs").glob("*.log")):
            print(f"\n===== {path} =====\n{path.read_text(errors='replace')[-tail:]}", file=file or sys.stderr)

    def all_processes(self, *names: str) -> list[psutil.Process]:
        """Every live process of the components ``names`` (default: all), their children included."""
        by_pid: dict[int, psutil.Process] = {}
        by_parent: dict[int, list[psutil.Process]] = {}
        for proc in psutil.process_iter(["ppid"]):
            by_pid[proc.pid] = proc
            by_parent.setdefault(proc.info["ppid"], []).append(proc)
        leaders = [self.processes[name].pid for name in names or self.processes if name in self.processes]
        found = [by_pid[pid] for pid in leaders if pid in by_pid]
        for proc in found:  # grows while it is walked: breadth first
            found += by_parent.get(proc.pid, [])
        return found

    def cpu_seconds(self) -> float:
        """User and system CPU seconds of every component's process tree so far, reaped children included."""
        total = 0.0
        for proc in self.all_processes():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        return total

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """A call to the REST API as an admin; the decoded JSON answer."""
        if self._token is None:
            self._token = self._request("GET", "/auth/token", None, {})["access_token"]
        return self._request(method, path, body, {"Authorization": f"Bearer {self._token}"})

    def _request(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        """One call to the REST API. SQLite takes one writer at a time: a write the API server could not make
        while the scheduler held the database answers 500 "Database error" (its transaction rolled back), and
        is sent again, up to :data:`DATABASE_BUSY_ATTEMPTS` times."""
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(1, DATABASE_BUSY_ATTEMPTS + 1):
            request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
            request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    return json.loads(answer.read() or b"null")
            except urllib.error.HTTPError as error:
                detail = error.read()[:2000]
                if error.code == 500 and b"Database error" in detail and attempt < DATABASE_BUSY_ATTEMPTS:
                    time.sleep(0.5 * attempt)
                    continue
                raise LocalAirflowError(f"{method} {path}: {error.code} {detail!r}") from None
        raise AssertionError("unreachable")

    def _all(self, path: str, field: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self.api("GET", f"{path}?limit=100&offset={len(items)}")
            items += page[field]
            if not page[field] or len(items) >= page["total_entries"]:
                return items


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _may_hold_dags(path: Path) -> bool:
    text = path.read_text(errors="replace").lower()
    return "airflow" in text and "dag" in text


def _run(dag_id: str, run_id: str) -> str:
    return f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
