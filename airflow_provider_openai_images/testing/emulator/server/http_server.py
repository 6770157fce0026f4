"""The emulator over real sockets: two stdlib ``ThreadingHTTPServer`` s on loopback, one for the API
and one for the image host, carrying out the core's replies.

The standard library's server on purpose: dropped connections and truncated bodies need byte-level
control of the socket that ASGI servers hide.

Each request counts as in flight (:meth:`EmulatorCore.in_flight`) from receipt until its handler
thread is done with it: delivered, hung up on, or found the client gone after sleeping its delay.
Billing is the core's, at generation; delivery changes nothing to it. A streamed body (a file's
content) is written chunk by chunk, never held whole.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from airflow_provider_openai_images.testing.emulator.core import EmulatorCore
from airflow_provider_openai_images.testing.emulator.server.parsing import parse_download, parse_request
from airflow_provider_openai_images.testing.emulator.server.replies import Reply


class _ReplyingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    core: ClassVar[EmulatorCore]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _deliver(self, reply: Reply) -> None:
        """Wait, then send the reply whole, or half of it, or nothing, as it says."""
        if reply.delay > 0:
            time.sleep(reply.delay)
        if reply.delivery == "drop":
            reply.close()
            self._hang_up()
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.head():
                self.send_header(name, value)
            self.end_headers()
            for chunk in reply.chunks():
                self.wfile.write(chunk)
            if reply.delivery == "truncate":
                self.wfile.flush()
                self._hang_up()
        except ConnectionError:
            # The client stopped waiting (a read timeout): the answer is lost, as it would be on a real server.
            self.close_connection = True
        finally:
            reply.close()

    def _hang_up(self) -> None:
        self.close_connection = True
        self.connection.close()


class _APIHandler(_ReplyingHandler):
    def do_GET(self) -> None:
        with self.core.in_flight():
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = self.headers.items()
            parsed = parse_request(self.command, self.path, headers, body, api_key=self.core.settings.api_key)
            self._deliver(self.core.answer(parsed))

    do_POST = do_DELETE = do_GET


class _ImageHostHandler(_ReplyingHandler):
    def do_GET(self) -> None:
        with self.core.in_flight():
            self._deliver(self.core.serve_file(*parse_download(self.path, self.headers.items())))


class EmulatorHTTPServers:
    """The API server and the image-host server for one :class:`EmulatorCore`, on daemon threads.

    :param port: the API's port; 0 picks a free one. The image host always takes a free port.
    """

    def __init__(self, core: EmulatorCore, host: str, port: int) -> None:
        api_handler = type("APIHandler", (_APIHandler,), {"core": core})
        image_host_handler = type("ImageHostHandler", (_ImageHostHandler,), {"core": core})
        self._api = ThreadingHTTPServer((host, port), api_handler)
        self._image_host = ThreadingHTTPServer((host, 0), image_host_handler)
        for server in (self._api, self._image_host):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name="images-emulator", daemon=True).start()

    @property
    def api_url(self) -> str:
        return _root_url(self._api)

    @property
    def image_host_url(self) -> str:
        return _root_url(self._image_host)

    def close(self) -> None:
        for server in (self._api, self._image_host):
            server.shutdown()
            server.server_close()


def _root_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"
