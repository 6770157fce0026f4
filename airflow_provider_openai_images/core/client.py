"""``ImagesClient``: the Images API over httpx, with validation, retries and typed errors.

No Airflow here: :class:`~airflow_provider_openai_images.hooks.OpenAIImagesHook` turns a connection
into :class:`ClientSettings` and hands them to this client. This module imports httpx at the top,
so nothing that a DAG file imports may import it at module level.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import quote

import httpx
import tenacity

from airflow_provider_openai_images import __version__
from airflow_provider_openai_images.core.requests import ImageRequest
from airflow_provider_openai_images.core.responses import ImagesResponse
from airflow_provider_openai_images.core.retry import RetryPolicy, parse_retry_after, should_retry_status
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesConnectionError,
    OpenAIImagesError,
    OpenAIImagesResponseError,
    OpenAIImagesTimeoutError,
    OpenAIImagesValidationError,
    error_for_status,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"
#: Generation of a high quality image can take minutes; connecting should not.
DEFAULT_TIMEOUT = 600.0
DEFAULT_CONNECT_TIMEOUT = 10.0

T = TypeVar("T")
log = logging.getLogger(__name__)


class _Logger(Protocol):
    def info(self, msg: Any, /, *args: Any) -> Any: ...
    def warning(self, msg: Any, /, *args: Any) -> Any: ...


@dataclass(frozen=True)
class ClientSettings:
    """Everything the client needs to reach one Images API endpoint.

    :param api_key: the secret; excluded from ``repr`` and never logged.
    :param base_url: ``https://api.openai.com/v1``, a compatible server's ``.../v1``, or for Azure the
        resource endpoint (``https://NAME.openai.azure.com``).
    :param api_type: ``"openai"`` (Bearer token) or ``"azure"`` (``api-key`` header, deployment URLs).
    :param azure_deployment: Azure deployment name; defaults to each request's ``model``.
    :param timeout: read/write/pool timeout in seconds.
    :param connect_timeout: TCP/TLS connect timeout in seconds.
    :param allow_http_image_urls: accept plain ``http`` image URLs in answers (https only by default;
        the emulator serves http on loopback).
    """

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    organization: str | None = None
    project: str | None = None
    api_type: Literal["openai", "azure"] = "openai"
    api_version: str | None = None
    azure_deployment: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    allow_http_image_urls: bool = False

    def __post_init__(self) -> None:
        if self.api_type not in ("openai", "azure"):
            raise OpenAIImagesValidationError("api_type", self.api_type, "'openai' or 'azure'")
        if not self.api_key:
            raise OpenAIImagesValidationError("api_key", "<empty>", "a non-empty key (the connection's password field)")
        if not self.base_url.startswith(("https://", "http://")):
            raise OpenAIImagesValidationError("base_url", self.base_url, "an http(s):// URL")
        for name in ("timeout", "connect_timeout"):
            if not getattr(self, name) > 0:
                raise OpenAIImagesValidationError(name, getattr(self, name), "a positive number of seconds")

    @property
    def is_azure(self) -> bool:
        return self.api_type == "azure"


class _APIKeyAuth(httpx.Auth):
    """Adds the key to each API request; lives only on the API client, never on image downloads."""

    def __init__(self, header: str, value: str) -> None:
        self._header = header
        self._value = value

    def __repr__(self) -> str:
        return f"_APIKeyAuth(header={self._header!r}, value=<redacted>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._value
        yield request


class ImagesClient:
    """A synchronous client for ``/images/generations``, ``/images/edits``, ``/images/variations``.

    :param settings: where and how to connect.
    :param transport: an httpx transport (tests, proxies); default is a plain HTTP transport.
    :param sleep: how to wait between retries (injectable so tests need not sleep).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        logger: _Logger | None = None,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._log: _Logger = logger or log
        headers = {"User-Agent": f"airflow-provider-openai-images/{__version__}"}
        if settings.organization and not settings.is_azure:
            headers["OpenAI-Organization"] = settings.organization
        if settings.project and not settings.is_azure:
            headers["OpenAI-Project"] = settings.project
        auth = (
            _APIKeyAuth("api-key", settings.api_key)
            if settings.is_azure
            else _APIKeyAuth("Authorization", f"Bearer {settings.api_key}")
        )
        self._http = httpx.Client(
            auth=auth,
            headers=headers,
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"ImagesClient({self.settings!r})"

    def __enter__(self) -> ImagesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- public API -----------------------------------------------------------------------------

    def send(self, request: ImageRequest, *, timeout: float | None = None) -> ImagesResponse:
        """Validate ``request``, send it with retries and return the parsed response.

        :raises OpenAIImagesValidationError: before any HTTP call, for a request that cannot succeed.
        :raises OpenAIImagesError: a typed API, connection or response error once retries are spent.
        """
        request.validate()
        body = request.to_http_body()
        url, params = self._url(f"images/{request.endpoint}", deployment=request.model)
        label = f"POST /images/{request.endpoint} model={request.model}"

        def parse(response: httpx.Response) -> ImagesResponse:
            return ImagesResponse.from_json(self._json(response), request_id=_request_id(response))

        return self._with_retries(
            label,
            lambda: self._http.post(
                url,
                params=params,
                json=body.json,
                data=body.data,
                files=body.files,
                timeout=_timeout(timeout),
            ),
            parse,
        )

    def list_models(self) -> list[str]:
        """The model ids the endpoint offers (``GET /models``); used by connection tests."""
        url, params = self._url("models", deployment=None)

        def parse(response: httpx.Response) -> list[str]:
            payload = self._json(response)
            items = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(items, list):
                raise OpenAIImagesResponseError("GET /models did not return a 'data' list")
            return [str(item.get("id")) for item in items if isinstance(item, dict)]

        return self._with_retries("GET /models", lambda: self._http.get(url, params=params), parse)

    # -- plumbing -------------------------------------------------------------------------------

    def _url(self, path: str, *, deployment: str | None) -> tuple[str, dict[str, str]]:
        base = self.settings.base_url.rstrip("/")
        if not self.settings.is_azure:
            return f"{base}/{path}", {}
        base = base.removesuffix("/openai")
        params = {"api-version": self.settings.api_version or DEFAULT_AZURE_API_VERSION}
        name = self.settings.azure_deployment or deployment
        if name is None:
            return f"{base}/openai/{path}", params
        return f"{base}/openai/deployments/{quote(name, safe='')}/{path}", params

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise OpenAIImagesResponseError(
                f"Expected JSON, got {response.headers.get('content-type', 'no content type')} "
                f"({len(response.content)} bytes)",
                status_code=response.status_code,
                request_id=_request_id(response),
            ) from None

    def _attempt(self, label: str, send: Callable[[], httpx.Response], parse: Callable[[httpx.Response], T]) -> T:
        started = time.monotonic()
        try:
            response = send()
        except httpx.TimeoutException as error:
            raise OpenAIImagesTimeoutError(f"{label}: {type(error).__name__} (no answer in time)") from error
        except httpx.TransportError as error:
            raise OpenAIImagesConnectionError(f"{label}: {type(error).__name__}: {error}") from error
        self._log.info(
            "%s -> %s in %.1fs (request id %s)",
            label,
            response.status_code,
            time.monotonic() - started,
            _request_id(response),
        )
        if response.is_success:
            return parse(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        raise error_for_status(
            response.status_code,
            body,
            request_id=_request_id(response),
            retry_after=parse_retry_after(response.headers),
            should_retry=should_retry_status(response.status_code, response.headers),
            fallback_text=response.text[:200],
        )

    def _with_retries(self, label: str, send: Callable[[], httpx.Response], parse: Callable[[httpx.Response], T]) -> T:
        policy = self.settings.retry

        def log_retry(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            self._log.warning(
                "%s failed (%s); retry %d of %d in %.2fs",
                label,
                error,
                state.attempt_number,
                policy.max_retries,
                delay,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.max_retries + 1),
            retry=tenacity.retry_if_exception(policy.is_retryable),
            wait=lambda state: (
                policy.delay_for(state.outcome.exception(), state.attempt_number) if state.outcome else 0.0
            ),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(label, send, parse)
        except OpenAIImagesError as error:
            error.attempts = retrying.statistics.get("attempt_number")
            raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")


def _request_id(response: httpx.Response) -> str | None:
    return response.headers.get("x-request-id") or response.headers.get("apim-request-id")


def _timeout(seconds: float | None) -> httpx.Timeout | httpx._client.UseClientDefault:
    return (
        httpx.Timeout(seconds, connect=min(seconds, DEFAULT_CONNECT_TIMEOUT)) if seconds else httpx.USE_CLIENT_DEFAULT
    )
