"""moto's standalone S3 server in a subprocess, over real HTTP: for the demo and DAG tests.

Needs ``moto[server]``: ``pip install 'airflow-provider-openai-images[testing]'``. Reach it through an AWS
connection whose extra has ``endpoint_url`` (:meth:`MotoS3Server.connection_env`); the pytest plugin's
``moto_s3_server`` and ``moto_s3_bucket`` fixtures do that for a test.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

#: what ``python -m moto.server`` needs: moto, and the web framework its ``server`` extra installs
_MOTO_SERVER_MODULES = ("moto", "flask")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class S3Bucket:
    """A bucket on a :class:`MotoS3Server`, with a boto3 client for it (:meth:`MotoS3Server.bucket`)."""

    name: str
    client: Any

    @property
    def uri(self) -> str:
        """``s3://name``."""
        return f"s3://{self.name}"

    def keys(self, prefix: str = "") -> list[str]:
        """The keys of every object under ``prefix``, sorted."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        """The content of the object at ``key``."""
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())


class MotoS3Server:
    """Start with ``with MotoS3Server() as s3:``; ``s3.endpoint_url`` is where boto3 should go."""

    region = "us-east-1"

    def __init__(self, port: int = 0) -> None:
        self.port = port or _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoS3Server:
        missing = [name for name in _MOTO_SERVER_MODULES if importlib.util.find_spec(name) is None]
        if missing:
            raise RuntimeError(
                f"moto's S3 server needs moto[server] ({', '.join(missing)} not installed): "
                "pip install 'airflow-provider-openai-images[testing]'"
            )
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}; is moto[server] installed?")
            try:
                urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.endpoint_url} within {timeout}s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None

    def __enter__(self) -> MotoS3Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every bucket and object."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def connection(self) -> dict[str, Any]:
        return {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": self.endpoint_url, "region_name": self.region},
        }

    def connection_env(self, conn_id: str = "aws_default") -> dict[str, str]:
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.connection())}

    def client(self) -> Any:
        """A boto3 S3 client for this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def bucket(self, name: str) -> S3Bucket:
        """Create the bucket ``name`` (if it does not exist yet) and return it."""
        client = self.client()
        if name not in {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=name)
        return S3Bucket(name, client)
