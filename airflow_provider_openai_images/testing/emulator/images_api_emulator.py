"""``ImagesAPIEmulator``: the public face of the emulator, its lifecycle, addresses and test API.

It owns an :class:`EmulatorCore` and reaches it over HTTP once started (:meth:`start`) or in-process
through :meth:`transport`, started or not. Not started, its addresses are placeholders on the
reserved ``.invalid`` top-level domain: only the in-process transport answers them, and nothing can
reach a real host with them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.testing.emulator.batches.faults import BatchFault
from airflow_provider_openai_images.testing.emulator.batches.record import TERMINAL_BATCH_STATUSES, EmulatedBatch
from airflow_provider_openai_images.testing.emulator.core import EmulatorCore
from airflow_provider_openai_images.testing.emulator.faults import Fault
from airflow_provider_openai_images.testing.emulator.files import FileRecord
from airflow_provider_openai_images.testing.emulator.images.serving import check_serving_settings
from airflow_provider_openai_images.testing.emulator.images.validation import spec_validators
from airflow_provider_openai_images.testing.emulator.recordings import DownloadRecord, RecordedRequest
from airflow_provider_openai_images.testing.emulator.server.http_server import EmulatorHTTPServers

if TYPE_CHECKING:
    from airflow_provider_openai_images.testing.emulator.server.transport import InProcessTransport

DEFAULT_API_KEY = "sk-emulator-0000000000000000"
#: the API's root URL while not started: reachable only through :meth:`ImagesAPIEmulator.transport`
IN_PROCESS_API_URL = "http://images-api.emulator.invalid"
#: the image host's root URL while not started
IN_PROCESS_IMAGE_HOST_URL = "http://image-host.emulator.invalid"


class ImagesAPIEmulator:
    """A local, offline stand-in for the OpenAI Images API, for demos and tests.

    By default it is OpenAI's API as of 2026-12-05 (:data:`~.images.served_models.AS_OF`), with a model
    catalogue and rules of its own (:mod:`.images.served_models`), not the provider's: it serves the models
    OpenAI still serves (``gpt-image-2``, the ``gpt-image-2.5`` and ``gpt-image-2.6`` families and
    their snapshots) and answers any other name, the models OpenAI shut down included (DALL·E, the
    ``gpt-image-1`` models, ``chatgpt-image-latest``), ``404 model_not_found``, billing nothing.
    ``compatible_server=True`` serves them all, as Azure OpenAI and compatible servers do.

    It bills as the real API does: an image is paid for once generated, whatever becomes of the
    answer. A truncated body, an answer the client stopped waiting for (``Fault.slow``), a connection
    dropped after generation (``Fault.drop_connection(after_generation=True)``) and a corrupt image
    (``Fault.corrupt_image()``) are all billed; a request refused before generation (401, 404, a
    rejected parameter, a model in ``unavailable_models``, a ``status`` or ``non_json`` fault, a
    plain ``drop``) is not. Each :class:`RecordedRequest` says how many images it billed.

    It also serves the Files and Batch APIs (``/v1/files``, ``/v1/batches``) for image generations
    and edits: each batch is processed on a daemon thread of its own, its lines validated and
    answered as the synchronous endpoints would answer them, and billed at batch price
    (:attr:`batch_billed_images`, :attr:`batch_billed_usd`). File contents live in a temporary
    directory, not in memory. Batch fates are scriptable (:meth:`inject_batch`).

    The settings below are attributes too, read at every request (and at every step of a batch), so
    a test may change them.

    :param api_key: the key requests must carry (``Authorization: Bearer`` or Azure's ``api-key``).
    :param url_ttl: seconds a ``url`` answer stays downloadable (OpenAI: 3600).
    :param host: interface to listen on (loopback by default).
    :param port: API port; 0 picks a free one. The image host always takes a free port.
    :param latency: seconds added to every image request, to imitate generation time.
    :param unavailable_models: models the endpoint no longer serves (a shut-down model), on top of
        everything else: requests for them are answered ``404 model_not_found`` and billed nothing,
        and the Models API leaves them out. The attribute is a mutable ``set``.
    :param compatible_server: serve every model of the catalogue, DALL·E and retired GPT image models
        included, and names the catalogue does not know (``gpt-image*``/``chatgpt-image*`` names as GPT
        image models, others DALL·E-like), as Azure OpenAI and self-hosted compatible servers do.
        ``False``: OpenAI's API as of 2026-12-05.
    :param extra_models: new model name -> the catalogue model it behaves as exactly; served in either
        mode and listed by the Models API (a model released tomorrow). A mutable ``dict``.
    :param shutdown_dates: model name -> the ``shutdown_date`` (``YYYY-MM-DD`` or ``None``) the Models
        API reports for it, instead of OpenAI's date (default mode) or none (compatible mode, extra
        models). A mutable ``dict``.
    :param batch_phase_seconds: the least time a batch spends ``validating``, ``in_progress``,
        ``finalizing`` and ``cancelling``.
    :param batch_seconds_per_line: the time a batch spends on each line, besides generating it.
    :param blocked_prompt_words: words (any case) that get a prompt refused by the emulated safety
        system, synchronously or in a batch: 400 ``moderation_blocked`` (the GPT image models' error,
        as ``Fault.content_policy("gpt-image")``), nothing generated or billed. A mutable ``set``.
    :param incompressible_images: generate random noise instead of drawings, as big as real
        pictures (a 1024x1024 PNG is about 3 MB), for benchmarks.
    :param images_per_minute: the account's rate limit: an image request beyond it is answered 429 with
        ``Retry-After``, billed nothing (a token bucket of one second's worth, see
        :mod:`~airflow_provider_openai_images.testing.emulator.rate_limit`); ``None``: no limit.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        url_ttl: float = 3600.0,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        unavailable_models: Iterable[str] = (),
        batch_phase_seconds: float = 0.1,
        batch_seconds_per_line: float = 0.0,
        blocked_prompt_words: Iterable[str] = (),
        incompressible_images: bool = False,
        compatible_server: bool = False,
        extra_models: Mapping[str, str] | None = None,
        shutdown_dates: Mapping[str, str | None] | None = None,
        images_per_minute: float | None = None,
    ) -> None:
        check_serving_settings(extra_models or {}, shutdown_dates or {})
        self.api_key = api_key
        self.url_ttl = url_ttl
        self.latency = latency
        self.unavailable_models: set[str] = set(unavailable_models)
        self.batch_phase_seconds = batch_phase_seconds
        self.batch_seconds_per_line = batch_seconds_per_line
        self.blocked_prompt_words: set[str] = set(blocked_prompt_words)
        self.incompressible_images = incompressible_images
        self.compatible_server = compatible_server
        self.extra_models: dict[str, str] = dict(extra_models or {})
        self.shutdown_dates: dict[str, str | None] = dict(shutdown_dates or {})
        self.images_per_minute = images_per_minute
        self._host = host
        self._port = port
        self._servers: EmulatorHTTPServers | None = None
        self._core = EmulatorCore(settings=self)

    # lifecycle

    def start(self) -> ImagesAPIEmulator:
        """Serve the API and the image host over HTTP on ``host``."""
        self._servers = EmulatorHTTPServers(self._core, self._host, self._port)
        spec_validators()
        return self

    def stop(self) -> None:
        """Stop serving over HTTP, and end the threads of batches still being processed (they stay as
        they are)."""
        if self._servers is not None:
            self._servers.close()
        self._servers = None
        self._core.batches.stop()

    def __enter__(self) -> ImagesAPIEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def transport(self) -> InProcessTransport:
        """An httpx transport (sync and async) that reaches this emulator without any socket."""
        from airflow_provider_openai_images.testing.emulator.server.transport import InProcessTransport

        return InProcessTransport(self._core)

    # addresses

    @property
    def root_url(self) -> str:
        """The API's root: ``http://host:port`` once started, :data:`IN_PROCESS_API_URL` before."""
        return self._servers.api_url if self._servers is not None else IN_PROCESS_API_URL

    @property
    def base_url(self) -> str:
        """What an ``openai_images`` connection's host should be (``.../v1``)."""
        return f"{self.root_url}/v1"

    @property
    def image_host_url(self) -> str:
        """Where ``url`` answers point; :data:`IN_PROCESS_IMAGE_HOST_URL` while not started."""
        return self._servers.image_host_url if self._servers is not None else IN_PROCESS_IMAGE_HOST_URL

    def connection(self, **extra: Any) -> dict[str, Any]:
        """An Airflow connection (JSON form) pointing at this emulator; ``extra`` goes into its extra.

        Image URLs are plain http on loopback here, so the connection allows them.
        """
        return {
            "conn_type": "openai_images",
            "host": self.base_url,
            "password": self.api_key,
            "extra": {"allow_http_image_urls": True, **extra},
        }

    def connection_env(self, conn_id: str = "openai_images_default", **extra: Any) -> dict[str, str]:
        """``{"AIRFLOW_CONN_<ID>": json}``, to put into ``os.environ`` for DAG runs and hooks."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.connection(**extra))}

    # scripting and inspection

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each applies to its next ``times`` matching requests, in order."""
        self._core.faults.add(*faults)

    def reset(self) -> None:
        """Forget faults, recorded requests, downloads and served images; end every batch's thread and
        forget batches, batch faults and files (their contents removed from disk)."""
        self._core.reset()

    def expire_urls(self) -> None:
        """Make every URL handed out so far expire now."""
        self._core.expire_urls()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every API request received since the last :meth:`reset`, in order of arrival."""
        return self._core.requests

    @property
    def downloads(self) -> list[DownloadRecord]:
        """Every request to the image host since the last :meth:`reset`."""
        return self._core.downloads

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.endpoint == endpoint]

    @property
    def billed_images(self) -> int:
        """Images generated for synchronous requests, whether or not their answer reached the client:
        what a real account would pay for (the sum of ``billed_images`` over :attr:`requests`; batch
        lines are in :attr:`batch_billed_images`).

        Images are billed when generated, which is when the request is received: a request still
        being answered is counted already. A test asserting on billing after faults that abandon
        requests (``Fault.slow`` beyond the client's timeout, a truncated or dropped answer) should
        call :meth:`wait_until_idle` first, so that no request of its own is still in flight.
        """
        return sum(request.billed_images for request in self.requests)

    @property
    def rate_limited(self) -> int:
        """Image requests answered 429 for ``images_per_minute`` since the last :meth:`reset`."""
        return self._core.rate_limit.refused

    def peak_images_per(self, seconds: float, since: float | None = None) -> int:
        """The most image requests ``images_per_minute`` let through in any window of ``seconds`` since the
        last :meth:`reset`, or since ``since`` (a ``time.monotonic()`` reading); requests, not images: each
        asked for one or more."""
        return self._core.rate_limit.peak(seconds, since)

    @property
    def peak_in_flight(self) -> int:
        """The most requests it was answering at once since the last :meth:`reset`: what a test of a
        concurrency limit reads (``max_concurrency=8`` over 40 slow requests peaks at 8, never above)."""
        return self._core.peak_in_flight

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Block until no request is being processed: no HTTP server thread at work (one still
        sleeping a ``Fault.slow`` for a client that gave up included) and no in-process call.

        :raises TimeoutError: if requests are still in flight after ``timeout`` seconds.
        """
        self._core.wait_until_idle(timeout)

    # batches and files

    def inject_batch(self, *batch_faults: BatchFault) -> None:
        """Queue batch fates; each applies to its next ``times`` created batches, in order."""
        self._core.batches.faults.add(*batch_faults)

    @property
    def batches(self) -> list[EmulatedBatch]:
        """Every batch since the last :meth:`reset`, in order of creation (copies, taken now)."""
        return self._core.batches.records()

    @property
    def files(self) -> dict[str, FileRecord]:
        """Every file since the last :meth:`reset` by id, in order of creation: uploads and batch
        output files, deleted ones included (``deleted=True``)."""
        return self._core.files.records

    def add_file(
        self, content: bytes | Iterable[bytes], *, filename: str = "input.jsonl", purpose: str = "batch"
    ) -> FileRecord:
        """Store a file as ``POST /files`` would, without a request; ``content`` may be an iterable of
        chunks, written one at a time (a large file without holding it in memory)."""
        return self._core.files.add(content, filename=filename, purpose=purpose)

    @property
    def batch_billed_images(self) -> int:
        """Images generated for batch lines, paid for at batch price (not in :attr:`billed_images`)."""
        return sum(batch.billed_images for batch in self.batches)

    @property
    def batch_billed_usd(self) -> float:
        """What the batches' images cost, in USD at batch price (half the synchronous one)."""
        return sum(batch.billed_usd for batch in self.batches)

    def wait_for_batch(
        self, batch_id: str, statuses: str | Collection[str] = TERMINAL_BATCH_STATUSES, timeout: float = 10.0
    ) -> EmulatedBatch:
        """Block until the batch reaches one of ``statuses`` (a terminal one by default); its record then.

        :raises TimeoutError: if it has not after ``timeout`` seconds.
        """
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        return self._core.batches.wait(batch_id, wanted, timeout)
