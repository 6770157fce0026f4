"""The emulated Images API and its image host, with no transport: parsed requests in, replies out.

:class:`EmulatorCore` holds one emulator's state (scripted faults, the requests received and the
downloads made, the images it serves, request ids, the requests in flight), reads its settings (the
expected key, URL lifetime, latency, models served, image host address) from its owner at each
request, and answers each request with a :class:`Reply` that says what to send, after how long and
how. Which models are served (OpenAI's today, or every one as a compatible server, plus extra ones)
is read at each request too (:mod:`.images.serving`): the image endpoints and the Models API (``GET
/models``, ``GET /models/{model}``, never billed) follow it. It never sleeps and never touches a
socket: the HTTP server and the in-process httpx transport carry replies out, each in its own way.

Billing is the real API's: a request's images are paid for the moment :meth:`EmulatorCore.answer`
generates them (``RecordedRequest.billed_images``), whatever then becomes of the reply: delivered
whole, truncated, delayed past the client's read timeout, dropped after generation, or corrupt.
Requests refused before generation bill nothing: 401, 404 (unknown path, model not served),
spec and model-rule rejections, ``status`` and ``non_json`` faults, and a ``drop`` that strikes
before generation.

The Files API (:mod:`.files`) and the Batch API (:mod:`.batches.api`) answer from the core's
:class:`FileStore` and :class:`BatchStore`; a batch's lines go through :meth:`EmulatorCore.generate`, the synchronous
endpoints' own validation, moderation and generation, and are billed by the batch, not here.

The adapters bracket each request with :meth:`EmulatorCore.in_flight`, from receipt until they are
done with it (delivered, dropped, or the client gone), so :meth:`EmulatorCore.wait_until_idle` can
tell when no request is being processed any more.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from typing import Any, NamedTuple, Protocol

from airflow_provider_openai_images.testing.emulator.batches.api import BATCH_ENDPOINTS, BatchAPI
from airflow_provider_openai_images.testing.emulator.batches.store import BatchStore
from airflow_provider_openai_images.testing.emulator.fault_script import FaultScript
from airflow_provider_openai_images.testing.emulator.faults import Fault
from airflow_provider_openai_images.testing.emulator.files import FILE_ENDPOINTS, FilesAPI, FileStore
from airflow_provider_openai_images.testing.emulator.images.generation import images_response
from airflow_provider_openai_images.testing.emulator.images.serving import ServingSettings, model_object, models_list
from airflow_provider_openai_images.testing.emulator.images.validation import (
    ValidatedRequest,
    check_prompt,
    validate_image_request,
)
from airflow_provider_openai_images.testing.emulator.rate_limit import RATE_LIMITED, ImageRateLimit
from airflow_provider_openai_images.testing.emulator.recordings import DownloadRecord, RecordedRequest
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected
from airflow_provider_openai_images.testing.emulator.server.parsing import ENDPOINT_METHODS, ParsedRequest, model_id
from airflow_provider_openai_images.testing.emulator.server.replies import Delivery, Reply, json_reply

__all__ = ["CoreSettings", "Delivery", "EmulatorCore", "Reply"]


class _StoredImage(NamedTuple):
    content: bytes
    content_type: str
    expires: float


_EXPIRED = b"<Error><Code>AuthenticationFailed</Code><Message>Signed expiry time has passed.</Message></Error>"
_NOT_FOUND = b"<Error><Code>BlobNotFound</Code></Error>"


class CoreSettings(ServingSettings, Protocol):
    """What the core reads from its owner at every request, so that changes apply at once (which models are
    served: :class:`~.images.serving.ServingSettings`)."""

    #: the key requests must carry
    api_key: str
    #: seconds a ``url`` answer stays downloadable
    url_ttl: float
    #: seconds added to every successful image request
    latency: float
    #: seconds a batch stays at least in each of its phases
    batch_phase_seconds: float
    #: seconds a batch spends on each line
    batch_seconds_per_line: float
    #: generate random noise, as big as real pictures, instead of drawings
    incompressible_images: bool
    #: the account's images per minute (:mod:`.rate_limit`); ``None``: no limit
    images_per_minute: float | None

    @property
    def blocked_prompt_words(self) -> Collection[str]:
        """Words whose presence in a prompt (any case) gets it refused as the safety system refuses it."""

    @property
    def image_host_url(self) -> str:
        """Where ``url`` answers point (the image host's root URL)."""


class EmulatorCore:
    """The Images API's behaviour: validation, faults, generation, billing and the image host; and the
    Files and Batch APIs.

    :param settings: the key, URL lifetime, latency, models served, blocked words, batch timings and
        image host address, read at each request (the :class:`ImagesAPIEmulator` that owns this core).
    """

    def __init__(self, settings: CoreSettings) -> None:
        self.settings = settings
        self.faults: FaultScript[Fault] = FaultScript()
        self.rate_limit = ImageRateLimit()
        self.requests: list[RecordedRequest] = []
        self.downloads: list[DownloadRecord] = []
        self._images: dict[str, _StoredImage] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        #: the most requests in flight at once since the last :meth:`reset`
        self.peak_in_flight = 0
        self._ids = itertools.count(1)
        self.files = FileStore()
        self.batches = BatchStore(settings, self.files, self.generate)
        self._files_api = FilesAPI(self.files)
        self._batch_api = BatchAPI(self.batches, self.files)

    def reset(self) -> None:
        """Forget faults, recorded requests, downloads, served images, batches (their threads ended)
        and files (removed from disk)."""
        self.faults.clear()
        self.rate_limit.reset()
        self.batches.reset()
        self.files.clear()
        with self._lock:
            self.requests.clear()
            self.downloads.clear()
            self._images.clear()
            self.peak_in_flight = self._in_flight

    def expire_urls(self) -> None:
        """Make every URL handed out so far expire now."""
        with self._lock:
            self._images = {token: stored._replace(expires=0.0) for token, stored in self._images.items()}

    # -- requests in flight ----------------------------------------------------------------------

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Bracket one request, from receipt until its adapter is done with it (delivered, dropped,
        or the client gone); :meth:`wait_until_idle` waits for every bracket to close."""
        with self._idle:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Block until no request is in flight; :class:`TimeoutError` if that takes over ``timeout`` s."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"{self._in_flight} emulator request(s) still in flight after {timeout:g} s")

    # -- the API --------------------------------------------------------------------------------

    def answer(self, parsed: ParsedRequest) -> Reply:
        """Record a parsed API request and decide the reply (status, body, delay, delivery); bill the
        images the moment they are generated, whatever the reply's delivery."""
        record = parsed.record
        request_id = f"req_emulator_{next(self._ids):06d}"
        with self._lock:
            self.requests.append(record)
        refusal = parsed.rejection or self._refusal(record)
        if refusal is not None:
            return self._error(refusal, record, request_id)
        if record.path.startswith("/openai/") and not record.query.get("api-version"):
            record.status = 404
            azure_not_found = {"error": {"code": "404", "message": "Resource not found"}}
            return json_reply(404, azure_not_found, request_id)
        fault = self.faults.take(lambda fault: fault.endpoint in (None, record.endpoint))
        if fault is not None:
            record.fault = fault.kind
            if fault.kind in ("non_json", "status") or (fault.kind == "drop" and not fault.after_generation):
                return self._fault(fault, record, request_id)
        kind = fault.kind if fault is not None else None
        delay = fault.seconds if fault is not None and kind == "delay" else 0.0
        try:
            if record.endpoint == "models":
                reply = json_reply(200, models_list(self.settings), request_id)
            elif record.endpoint == "model":
                reply = json_reply(200, model_object(model_id(record.path), self.settings), request_id)
            elif record.endpoint in FILE_ENDPOINTS:
                reply = self._files_api.answer(record, request_id)
            elif record.endpoint in BATCH_ENDPOINTS:
                reply = self._batch_api.answer(record, request_id)
            elif (limited := self._rate_limited(record, request_id)) is not None:
                return limited
            else:
                delta = fault.images_delta if fault is not None and kind == "miscount" else 0
                _, payload = self.generate(record, corrupt=kind == "corrupt", images_delta=delta)
                with self._lock:
                    record.billed_images = len(payload["data"])
                delay += self.settings.latency
                reply = json_reply(200, payload, request_id)
        except RequestRejected as rejection:
            return self._error(rejection, record, request_id, delay=delay)
        if kind == "drop":
            reply.close()
            return Reply(0, delay=delay, delivery="drop")
        record.status = reply.status
        reply.delay = delay
        if kind == "truncate":
            reply.delivery = "truncate"
        return reply

    def generate(
        self, record: RecordedRequest, *, corrupt: bool = False, images_delta: int = 0
    ) -> tuple[ValidatedRequest, dict[str, Any]]:
        """Validate, moderate and answer one image request (an ``ImagesResponse``), billing nothing:
        the synchronous endpoints bill their requests, a batch its lines (raises :class:`RequestRejected`)."""
        validated = validate_image_request(record, self.settings, self.files.read)
        check_prompt(validated.params.get("prompt"), self.settings.blocked_prompt_words)
        payload = images_response(
            validated,
            self._store,
            corrupt=corrupt,
            incompressible=self.settings.incompressible_images,
            images_delta=images_delta,
        )
        return validated, payload

    def _rate_limited(self, record: RecordedRequest, request_id: str) -> Reply | None:
        """The 429 of an image request over the account's images per minute; ``None`` when within it."""
        per_minute = self.settings.images_per_minute
        if not per_minute:
            return None
        asked = str((record.json or {}).get("n") or (record.form.get("n") or ["1"])[0])
        wait = self.rate_limit.take(max(int(asked), 1) if asked.isdigit() else 1, per_minute)
        if wait is None:
            return None
        record.status = 429
        return json_reply(429, {"error": RATE_LIMITED}, request_id, self.rate_limit.headers(per_minute, wait))

    @staticmethod
    def _refusal(record: RecordedRequest) -> RequestRejected | None:
        if record.endpoint is None or record.method not in ENDPOINT_METHODS[record.endpoint]:
            return RequestRejected(404, f"Unknown path {record.method} {record.path}")
        if record.auth_scheme is None:
            return RequestRejected(401, "Incorrect API key provided.", code="invalid_api_key")
        return None

    def _fault(self, fault: Fault, record: RecordedRequest, request_id: str) -> Reply:
        if fault.kind == "drop":
            return Reply(0, delivery="drop")
        if fault.kind == "non_json":
            record.status = 200
            html = b"<html><body>502 Bad Gateway</body></html>"
            return Reply(200, html, "text/html", {"x-request-id": request_id})
        record.status = fault.status
        headers = dict(fault.headers)
        if fault.retry_after_date is not None:
            headers["Retry-After"] = formatdate(time.time() + fault.retry_after_date, usegmt=True)
        return json_reply(fault.status, {"error": fault.error or {}}, request_id, headers)

    def _error(self, rejection: RequestRejected, record: RecordedRequest, request_id: str, delay: float = 0.0) -> Reply:
        record.status = rejection.status
        reply = json_reply(rejection.status, rejection.body, request_id)
        reply.delay = delay
        return reply

    # -- the image host -------------------------------------------------------------------------

    def _store(self, content: bytes, content_type: str, extension: str) -> str:
        token = secrets.token_urlsafe(12)
        expires = time.time() + self.settings.url_ttl
        with self._lock:
            self._images[token] = _StoredImage(content, content_type, expires)
        return f"{self.settings.image_host_url}/files/{token}.{extension}?se={int(expires)}&sig={secrets.token_hex(8)}"

    def serve_file(self, path: str, headers: dict[str, str]) -> Reply:
        """Answer a ``GET`` to the image host: the image, 403 once expired, 404 if unknown."""
        token = path.removeprefix("/files/").rsplit(".", 1)[0]
        with self._lock:
            stored = self._images.get(token) if path.startswith("/files/") else None
        if stored is None:
            reply = Reply(404, _NOT_FOUND, "application/xml")
        elif stored.expires < time.time():
            reply = Reply(403, _EXPIRED, "application/xml")
        else:
            reply = Reply(200, stored.content, stored.content_type)
        with self._lock:
            self.downloads.append(DownloadRecord(path=path, headers=headers, status=reply.status))
        return reply
