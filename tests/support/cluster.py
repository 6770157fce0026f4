"""Airflow as users run it, on this machine: the CeleryExecutor on Postgres and Redis, two Celery workers
standing in for two machines.

:class:`CeleryCluster` is a :class:`~tests.support.local_airflow.LocalAirflow` whose components are also a
private Postgres (metadata database and Celery's result backend) and a private Redis (Celery's broker),
both from Debian's packages (``scripts/cluster_services.py``), and two ``airflow celery worker`` processes,
``worker-a`` and ``worker-b``, each with its own ``TMPDIR``, log server port and host name (a task
instance's ``hostname`` is its worker's name). It also runs the Images API emulator and moto's S3 server,
unless given its own::

    with CeleryCluster("tests/cluster/dags", buckets=["openai-images-demo"]) as cluster:
        run_id = cluster.trigger("my_dag")
        assert cluster.wait("my_dag", run_id) == "success"
        assert set(cluster.hostnames("my_dag", run_id).values()) <= {"worker-a", "worker-b"}
        cluster.kill("worker-a")  # kill -9 of its process group: a machine lost
        cluster.restart("worker-a")

Every component writes to ``{home}/component-logs/{name}.log``. On exit, or when the start fails, every
process is stopped (Airflow's, then Postgres, then Redis) and every temporary directory removed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts import cluster_services as services
from tests.support.local_airflow import COMPONENTS, LocalAirflow, LocalAirflowError
from tests.support.ports import free_port

if TYPE_CHECKING:
    from airflow_provider_openai_images.testing import ImagesAPIEmulator
    from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
WORKERS = ("worker-a", "worker-b")
SERVICES = ("postgres", "redis")
ADMIN = "admin"
#: a worker's name, read by :func:`worker_hostname` in the worker and its tasks
HOSTNAME_VARIABLE = "CELERY_CLUSTER_HOSTNAME"
#: how each server stops gracefully: Postgres's SIGTERM waits for every client to leave, SIGINT does not
STOP_SIGNALS = {"postgres": signal.SIGINT}
#: the components whose heartbeats the health endpoint reports, and under which name
HEARTBEATS = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the cluster's workers: the worker's name, as if it were a machine of its
    own (what a task instance's ``hostname`` records); elsewhere the machine's name."""
    return os.environ.get(HOSTNAME_VARIABLE) or socket.getfqdn()


class CeleryCluster(LocalAirflow):
    """Airflow with the CeleryExecutor on a private Postgres and Redis, and two Celery workers.

    :param dags_folder: the DAG files to serve.
    :param env: extra environment for every component (``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*``, settings); it
        wins over the connections of the emulator and moto.
    :param images_api: a started emulator to point ``openai_images_default`` at; default: one of the cluster's.
    :param s3: a started moto server to point ``aws_default`` at; default: one of the cluster's.
    :param buckets: buckets to create on moto's server.
    :param worker_concurrency: task slots of each worker (``--concurrency``).
    :param parallelism: tasks running at once in the whole cluster (``[core] parallelism``, also per DAG).
    :param startup_timeout: seconds to wait for each step of the start.
    :param min_file_process_interval: seconds between two parses of a DAG file.
    :param admin_password: the password of the UI's ``admin``; default: a random one (:attr:`login`).
    :param port: the API server's (and UI's) port on 127.0.0.1; default: a free one.
    :param home: the ``AIRFLOW_HOME`` to use, kept; default: a temporary directory, removed on exit.
    """

    def __init__(
        self,
        dags_folder: str | os.PathLike[str],
        *,
        env: Mapping[str, str] | None = None,
        images_api: ImagesAPIEmulator | None = None,
        s3: MotoS3Server | None = None,
        buckets: Iterable[str] = (),
        worker_concurrency: int = 2,
        parallelism: int = 8,
        startup_timeout: float = 180.0,
        min_file_process_interval: int = 30,
        admin_password: str | None = None,
        port: int | None = None,
        home: str | os.PathLike[str] | None = None,
    ) -> None:
        self.port = port
        self.postgres_port, self.redis_port = free_port(), free_port()
        self.database_url = f"postgresql+psycopg2://{services.POSTGRES_USER}@127.0.0.1:{self.postgres_port}/"
        self.database_url += services.DATABASE
        self.broker_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.worker_concurrency = worker_concurrency
        self.login = (ADMIN, admin_password or secrets.token_urlsafe(9))
        self.images_api, self.s3 = images_api, s3
        self.buckets = list(buckets)
        self._own_servers: list[Any] = []
        self._caller_env = dict(env or {})
        self._postgres_data: Path | None = None
        self.timings: dict[str, float] = {}
        own_home = home is None  # named for this cluster, so that `ls /tmp` tells what is left of which harness
        super().__init__(
            dags_folder, env=env, parallelism=parallelism, startup_timeout=startup_timeout,
            min_file_process_interval=min_file_process_interval,
            home=tempfile.mkdtemp(prefix="celery-cluster-home-") if own_home else home,
        )  # fmt: skip
        self._own_home = own_home

    def _settings(self, parallelism: int, parse_interval: int) -> dict[str, str]:
        """LocalAirflow's settings, on Postgres and Celery, with a user who signs in."""
        if self.port:
            self.base_url = f"http://127.0.0.1:{self.port}"
        return {
            **super()._settings(parallelism, parse_interval),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.database_url}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            # Sending a task to the broker may take longer than the default second on a busy 2-core machine.
            "AIRFLOW__CELERY__OPERATION_TIMEOUT": "15",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        }

    # -- the components ---------------------------------------------------------------------------

    def components(self) -> tuple[str, ...]:
        return (*COMPONENTS, *WORKERS)

    def command(self, name: str) -> tuple[list[str], Mapping[str, str]]:
        if name == "postgres":
            assert self._postgres_data is not None
            return services.postgres_command(self._postgres_data, self.postgres_port), self.env
        if name == "redis":
            (self.home / "redis").mkdir(exist_ok=True)
            return services.redis_command(self.home / "redis", self.redis_port), self.env
        if name not in WORKERS:
            return super().command(name)
        tmp = self.home / "tmp" / name
        tmp.mkdir(parents=True, exist_ok=True)
        worker = [*super().command("celery")[0], "worker", "--celery-hostname", f"{name}@%h"]
        return [*worker, "--concurrency", str(self.worker_concurrency)], {
            **self.env,
            "TMPDIR": str(tmp),
            HOSTNAME_VARIABLE: name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), self.env.get("PYTHONPATH")])),
            # Each worker serves its task logs on a port of its own, as on a machine of its own.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        }

    def __enter__(self) -> CeleryCluster:
        return self.start()

    def start(self) -> CeleryCluster:
        """Postgres, Redis, the emulator and moto; then LocalAirflow's start (migration, components, the
        DAGs parsed); then wait until both workers answer Celery's ping."""
        started = time.monotonic()
        try:
            services.ensure_packages()
            self._start_servers()
            (self.home / "component-logs").mkdir(parents=True, exist_ok=True)
            self._postgres_data = Path(tempfile.mkdtemp(prefix="celery-cluster-postgres-"))
            services.init_postgres(self._postgres_data)
            for name in SERVICES:
                self.start_component(name)
                self.wait_ready(name)
            self.timings["services"] = time.monotonic() - started
            password_file = self.home / "simple_auth_manager_passwords.json.generated"
            password_file.write_text(f'{{"{ADMIN}": "{self.login[1]}"}}\n')  # kept by the API server
        except BaseException:
            self.stop()
            raise
        super().start()
        try:
            self.wait_ready(*WORKERS)
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - started
        return self

    def _start_servers(self) -> None:
        """The emulator and moto's server unless given; their connections in :attr:`env` under the caller's."""
        from airflow_provider_openai_images.testing import ImagesAPIEmulator
        from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server

        if self.images_api is None:
            self.images_api = ImagesAPIEmulator()
            self._own_servers.append(self.images_api.start())
        if self.s3 is None:
            self.s3 = MotoS3Server()
            self._own_servers.append(self.s3.start())
        for bucket in self.buckets:
            self.s3.bucket(bucket)
        self.env.update({**self.images_api.connection_env(), **self.s3.connection_env(), **self._caller_env})

    def stop(self) -> None:
        """Stop Airflow's components, then Postgres and Redis, then the emulator and moto if the cluster's;
        remove the temporary directories. Safe to call twice."""
        self.stop_component(*[name for name in self.processes if name not in SERVICES], timeout=5.0)
        for name in SERVICES:
            self.stop_component(name, sig=STOP_SIGNALS.get(name, signal.SIGTERM), timeout=10.0)
        super().stop()
        while self._own_servers:
            self._own_servers.pop().stop()
        if self._postgres_data is not None:
            shutil.rmtree(self._postgres_data, ignore_errors=True)
            self._postgres_data = None

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send ``sig`` to the component's process group (``SIGKILL``: the machine or process is lost) and wait
        until every process of it is gone. ``name``: ``worker-a``, ``worker-b``, ``scheduler``, ``triggerer``,
        ``dag-processor``, ``api-server``, ``postgres`` or ``redis``."""
        if name not in self.processes:
            raise LocalAirflowError(f"no running component {name!r}: {sorted(self.processes)}")
        self.stop_component(name, sig=sig)

    def restart(self, *names: str, sig: signal.Signals | None = None) -> None:
        """Stop the components (``sig``: default each one's graceful stop; one not running or that exited:
        nothing), start them again and wait until all are ready (:meth:`wait_ready`). After Postgres was
        lost: ``cluster.restart(*cluster.exited())``."""
        for name in names:
            if name in self.processes:
                self.kill(name, sig or STOP_SIGNALS.get(name, signal.SIGTERM))
        since = datetime.now(timezone.utc)
        for name in names:
            self.start_component(name)
        self.wait_ready(*names, since=since)

    def wait_ready(self, *names: str, timeout: float | None = None, since: datetime | None = None) -> None:
        """Wait until the components answer: the servers their clients, workers Celery's ping, the API server
        its health endpoint, on which the scheduler, triggerer and dag-processor must heartbeat (after
        ``since``, if given: a restarted one, not its predecessor)."""
        timeout = timeout or self.startup_timeout
        try:
            if "postgres" in names:
                services.wait_postgres(self.postgres_port, timeout, alive=lambda: self._running("postgres"))
            if "redis" in names:
                services.wait_redis(self.redis_port, timeout, alive=lambda: self._running("redis"))
        except services.ServicesError:
            self.print_logs()  # before a temporary home and its logs are removed
            raise
        # After Redis comes back, the running workers reconnect within seconds: wait for them too.
        workers = [name for name in WORKERS if name in names or ("redis" in names and self._running(name))]
        if workers:
            self.poll(lambda: set(workers) <= self.live_workers(), timeout, f"Celery workers {workers} to answer")
        beating = [name for name in names if name in HEARTBEATS]
        if beating or "api-server" in names:
            self.poll(lambda: self._heartbeats(beating, since), timeout, f"{[*beating] or 'the API server'} to answer")

    def _heartbeats(self, names: list[str], since: datetime | None) -> bool:
        """Whether the health endpoint answers and says the components ``names`` heartbeat (after ``since``)."""
        try:
            health = self._request("GET", "/api/v2/monitor/health", None, {})
        except (OSError, LocalAirflowError):
            return False
        for name in names:
            part = health.get(HEARTBEATS[name]) or {}
            beat = part.get(f"latest_{HEARTBEATS[name]}_heartbeat")
            if part.get("status") != "healthy" or (since and not (beat and datetime.fromisoformat(beat) > since)):
                return False
        return True

    def exited(self) -> dict[str, int]:
        """The components that exited on their own (a dag-processor does when Postgres goes away): exit codes."""
        return {name: code for name, process in self.processes.items() if (code := process.poll()) is not None}

    def _running(self, name: str) -> bool:
        return name in self.processes and self.processes[name].poll() is None

    def live_workers(self) -> set[str]:
        """The workers (``worker-a``, ...) that answer Celery's ping now."""
        from celery import Celery

        app = Celery(broker=self.broker_url)
        try:
            answers = app.control.ping(timeout=1.0)
        except Exception:  # the broker is down or restarting
            return set()
        finally:
            app.close()
        return {node.split("@", 1)[0] for answer in answers for node in answer}

    # -- runs ---------------------------------------------------------------------------------------

    def hostnames(self, dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
        """(task id, map index) -> the host that ran the task instance's last try (a worker's name)."""
        return {(ti["task_id"], ti["map_index"]): ti["hostname"] for ti in self.task_instances(dag_id, run_id)}

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """A call to the REST API as :attr:`login`'s admin, who signs in with the password."""
        if self._token is None:
            credentials = {"username": self.login[0], "password": self.login[1]}
            self._token = str(self._request("POST", "/auth/token", credentials, {})["access_token"])
        return self._request(method, path, body, {"Authorization": f"Bearer {self._token}"})
