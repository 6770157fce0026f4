"""A fault-injecting HTTP proxy in front of an S3 endpoint (moto's server in tests): a test double.

Point an AWS connection's ``endpoint_url`` at :attr:`S3FaultProxy.endpoint_url` and script faults:
``proxy.inject(S3Fault.slow_down(times=3))`` answers the next three matching requests with
``503 SlowDown`` instead of forwarding them; ``S3Fault.drop_connection()`` closes the socket.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from airflow_provider_openai_images.testing.emulator.fault_script import FaultScript

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}


@dataclass(frozen=True)
class S3Fault:
    """A scripted S3 failure for ``times`` requests with ``method`` (``None``: any method).

    :param after: let this many matching requests through first (e.g. land image 0, then fail).
    :param bucket: only requests to this bucket (path-style addressing, as boto3 uses for a loopback
        endpoint); ``None``: any bucket.
    """

    kind: Literal["status", "drop"]
    method: str | None = "PUT"
    status: int = 503
    code: str = "SlowDown"
    message: str = "Please reduce your request rate."
    times: int = 1
    after: int = 0
    bucket: str | None = None

    @classmethod
    def slow_down(
        cls, *, times: int = 1, after: int = 0, method: str | None = "PUT", bucket: str | None = None
    ) -> S3Fault:
        return cls("status", method=method, times=times, after=after, bucket=bucket)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with ``method`` to ``path`` is one this fault answers."""
        if self.method not in (None, method):
            return False
        return self.bucket is None or urlsplit(path).path.split("/")[1:2] == [self.bucket]

    @classmethod
    def service_unavailable(cls, *, times: int = 1, after: int = 0, method: str | None = "PUT") -> S3Fault:
        return cls(
            "status", method=method, code="ServiceUnavailable", message="Service unavailable", times=times, after=after
        )

    @classmethod
    def drop_connection(cls, *, times: int = 1, after: int = 0, method: str | None = "PUT") -> S3Fault:
        return cls("drop", method=method, times=times, after=after)


@dataclass
class ProxiedRequest:
    method: str
    path: str
    status: int | None
    fault: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class S3FaultProxy:
    """Forwards every request to ``upstream`` unless a scripted fault answers it first."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.requests: list[ProxiedRequest] = []
        self._faults: FaultScript[S3Fault] = FaultScript()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> S3FaultProxy:
        handler = type("S3ProxyHandler", (_ProxyHandler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="s3-fault-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> S3FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "start() the proxy first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def inject(self, *faults: S3Fault) -> None:
        self._faults.add(*faults)

    def reset(self) -> None:
        self._faults.clear()
        with self._lock:
            self.requests.clear()

    def faults_left(self) -> int:
        return self._faults.remaining()

    def _take(self, method: str, path: str) -> S3Fault | None:
        return self._faults.take(lambda fault: fault.matches(method, path))

    def _record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: ClassVar[S3FaultProxy]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._body()
        headers = {key: value for key, value in self.headers.items() if key.lower() not in _HOP_BY_HOP}
        record = ProxiedRequest(self.command, self.path, None, headers={k.lower(): v for k, v in headers.items()})
        fault = self.proxy._take(self.command, self.path)
        if fault is not None:
            record.fault = fault.kind
            self.proxy._record(record)
            if fault.kind == "drop":
                self.close_connection = True
                self.connection.close()
                return
            record.status = fault.status
            error = f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message></Error>".encode()
            self._respond(fault.status, [("Content-Type", "application/xml")], error)
            return
        upstream = http.client.HTTPConnection(
            self.proxy.upstream.hostname or "127.0.0.1", self.proxy.upstream.port, timeout=30
        )
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            content = answer.read()
            record.status = answer.status
            self.proxy._record(record)
            kept = [(key, value) for key, value in answer.getheaders() if key.lower() not in _HOP_BY_HOP]
            length = answer.getheader("Content-Length") if self.command == "HEAD" else None
            self._respond(answer.status, kept, content, length)
        finally:
            upstream.close()

    def _respond(self, status: int, headers: list[tuple[str, str]], body: bytes, length: str | None = None) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", length or str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
