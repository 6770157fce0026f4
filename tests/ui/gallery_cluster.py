"""A local Airflow for the gallery's tests (over HTTP in ``tests/integration/test_gallery.py``, in a browser
here): the emulator, moto's S3 server, users who sign in with passwords (``op`` may edit XComs through the
REST API, as the simple auth manager's ``op`` role may), and
:class:`~tests.integration.gallery_auth.GalleryAuthManager`, which refuses one of them all DAGs but one.

One cluster at a time on this machine: under xdist the cluster holds the lock that ``test_triggerer.py``'s
cluster holds, so two never run at once (each costs seconds of CPU on a 2-core machine).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from tests.conftest import TEST_DAGS_FOLDER
from tests.integration import gallery_auth
from tests.support.local_airflow import LocalAirflow

BUCKET = "openai-images-demo"
#: user -> role of the simple auth manager (passwords are generated at the API server's start)
USERS = {"admin": "admin", "viewer": "viewer", "outsider": "viewer", "op": "op"}


@dataclass
class Answer:
    """An HTTP answer, errors included."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class GalleryAirflow(LocalAirflow):
    """:class:`LocalAirflow` with real users: no all-admins token, so its own API calls sign in as admin."""

    def password(self, user: str) -> str:
        """The password the simple auth manager generated for ``user``."""
        passwords = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())
        return str(passwords[user])

    def token(self, user: str) -> str:
        """A JWT for ``user``, from ``POST /auth/token`` with the user's password."""
        body = {"username": user, "password": self.password(user)}
        return str(self._request("POST", "/auth/token", body, {})["access_token"])

    def api(self, method: str, path: str, body: Any = None) -> Any:
        if self._token is None:
            self._token = self.token("admin")
        return self._request(method, path, body, {"Authorization": f"Bearer {self._token}"})


@dataclass
class GalleryCluster:
    airflow: GalleryAirflow
    api: ImagesAPIEmulator
    s3: Any  # a boto3 client of the moto server
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, user: str) -> str:
        if user not in self.tokens:
            self.tokens[user] = self.airflow.token(user)
        return self.tokens[user]

    def run(self, dag_id: str, conf: Mapping[str, Any] | None = None, timeout: float = 120.0) -> str:
        """Trigger ``dag_id``, wait until it is final, assert it succeeded; its run id."""
        run_id = self.airflow.trigger(dag_id, conf)
        state = self.airflow.wait(dag_id, run_id, timeout=timeout)
        if state != "success":
            self.airflow.print_logs()
        assert state == "success", f"{dag_id} {run_id}: {state} (component logs above)"
        return run_id

    def get(self, path: str, *, user: str | None = None, cookie: str | None = None) -> Answer:
        """``GET path`` as ``user`` (a Bearer token), or with the UI's ``_token`` cookie, or anonymously."""
        return self.send("GET", path, user=user, cookie=cookie)

    def send(
        self, method: str, path: str, body: Any = None, *, user: str | None = None, cookie: str | None = None
    ) -> Answer:
        """``method path`` with ``body`` as JSON, as ``user``, or with the UI's cookie, or anonymously."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.airflow.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if user is not None:
            request.add_header("Authorization", f"Bearer {self.token(user)}")
        if cookie is not None:
            request.add_header("Cookie", f"_token={cookie}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return Answer(answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())

    def patch_return_value(self, dag_id: str, run_id: str, task_id: str, value: Any, *, user: str = "op") -> Answer:
        """Replace a task instance's XCom ``return_value`` through the REST API, as ``user`` may."""
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances/{task_id}"
            "/xcomEntries/return_value"
        )
        return self.send("PATCH", path, {"value": value, "map_index": -1}, user=user)

    def restart_api_server(self, env: Mapping[str, str | None]) -> None:
        """Restart the API server with ``env`` changed (``None``: removed), as a deployment that edits its
        configuration does; the other components keep running."""
        for name, value in env.items():
            if value is None:
                self.airflow.env.pop(name, None)
            else:
                self.airflow.env[name] = value
        self.airflow.stop_component("api-server")
        self.airflow.start_component("api-server")
        self.airflow.wait_healthy()


@contextlib.contextmanager
def gallery_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    dag_files: tuple[str | Path, ...] = ("bulk.py",),
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[GalleryCluster]:
    """The cluster, serving only ``dag_files``, test DAGs by name or any DAG file by path (fewer files: a
    quicker first parse), with ``extra_env`` added to every component's environment."""
    shared = tmp_path_factory.getbasetemp().parent if "PYTEST_XDIST_WORKER" in os.environ else None
    dags = tmp_path_factory.mktemp("gallery-dags")
    for name in dag_files:
        (dags / Path(name).name).symlink_to(TEST_DAGS_FOLDER / name)  # a path stays as it is
    python_path = tmp_path_factory.mktemp("gallery-auth")
    (python_path / "gallery_auth.py").symlink_to(gallery_auth.__file__)
    with open(shared / "local-airflow.lock" if shared else os.devnull, "w") as lock:
        if shared:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with ImagesAPIEmulator(latency=0.05) as api, MotoS3Server() as moto:
            client = moto.client()
            client.create_bucket(Bucket=BUCKET)
            env = {
                **api.connection_env(),
                **moto.connection_env(),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(python_path), os.environ.get("PYTHONPATH")])),
                "AIRFLOW__CORE__AUTH_MANAGER": "gallery_auth.GalleryAuthManager",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
                **(extra_env or {}),
            }
            with GalleryAirflow(dags, env=env, parallelism=4) as airflow:
                yield GalleryCluster(airflow, api, client)


def images_of(value: Any) -> list[tuple[int | None, int, dict[str, Any]]]:
    """``(item, position, record)`` of every record in an operator's return value (a bulk task's list of lists)."""
    if value and all(isinstance(entry, list) for entry in value):
        return [
            (item, position, record) for item, records in enumerate(value) for position, record in enumerate(records)
        ]
    return [(None, position, record) for position, record in enumerate(value)]
