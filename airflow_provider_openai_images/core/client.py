"""``ImagesClient``: the Images API over httpx, with validation, retries and typed errors.

No Airflow here: :class:`~airflow_provider_openai_images.hooks.OpenAIImagesHook` turns a connection
into :class:`ClientSettings` and hands them to this client. This module imports httpx at the top,
so nothing that a DAG file imports may import it at module level.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Generator
from datetime import date, datetime, timezone
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import quote

import httpx
import tenacity

from airflow_provider_openai_images import __version__
from airflow_provider_openai_images.core.attempts import Attempt, Outcome
from airflow_provider_openai_images.core.failures import refusal_for, request_id, transport_failure
from airflow_provider_openai_images.core.models import retirement_notice, rules_for
from airflow_provider_openai_images.core.requests import ImageRequest
from airflow_provider_openai_images.core.responses import ImagesResponse
from airflow_provider_openai_images.core.settings import (
    DEFAULT_AZURE_API_VERSION,
    DEFAULT_CONNECT_TIMEOUT,
    ClientSettings,
)
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesError,
    OpenAIImagesModelNotFoundError,
    OpenAIImagesResponseError,
)

T = TypeVar("T")
log = logging.getLogger(__name__)


class _Logger(Protocol):
    def info(self, msg: Any, /, *args: Any) -> Any: ...
    def warning(self, msg: Any, /, *args: Any) -> Any: ...


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
        if notice := retirement_notice(request.model, base_url=self.settings.base_url, today=date.today()):
            self._log.warning("%s", notice)
        body = request.to_http_body()
        url, params = self._url(f"images/{request.endpoint}", deployment=request.model)
        label = f"POST /images/{request.endpoint} model={request.model}"

        def parse(response: httpx.Response) -> ImagesResponse:
            return ImagesResponse.from_json(self._json(response), request_id=request_id(response))

        try:
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
                images_asked=request.n or 1,
            )
        except OpenAIImagesModelNotFoundError as error:
            rules = rules_for(request.model)
            error.explain(request.model, rules.replacement if rules else None)
            raise

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
                request_id=request_id(response),
            ) from None

    def _attempt(
        self,
        label: str,
        send: Callable[[], httpx.Response],
        parse: Callable[[httpx.Response], T],
        log: list[Attempt],
        images_asked: int | None,
    ) -> T:
        """One HTTP attempt, appended to ``log`` whatever becomes of it."""
        number, started_at, started = len(log) + 1, _utc_now(), time.monotonic()

        def record(outcome: Outcome, response: httpx.Response | None = None, **details: Any) -> None:
            log.append(
                Attempt(
                    number,
                    started_at,
                    time.monotonic() - started,
                    outcome,
                    status=response.status_code if response is not None else None,
                    request_id=request_id(response) if response is not None else None,
                    images_asked=images_asked,
                    **details,
                )
            )

        try:
            response = send()
        except httpx.TransportError as error:
            failure = transport_failure(label, error)
            record("failed", error=type(error).__name__, possibly_billed=failure.possibly_billed)
            raise failure from error
        self._log.info(
            "%s -> %s in %.1fs (request id %s)",
            label,
            response.status_code,
            time.monotonic() - started,
            request_id(response),
        )
        if response.is_success:
            try:
                result = parse(response)
            except OpenAIImagesResponseError as error:
                error.possibly_billed = True  # the server answered 200: it may have generated the images
                record("failed", response, error=type(error).__name__, possibly_billed=True)
                raise
            answered = len(result.data) if isinstance(result, ImagesResponse) else None
            record("answered", response, images_answered=answered)
            return result
        refusal = refusal_for(response)
        record("refused", response, error=type(refusal).__name__)
        raise refusal

    def _with_retries(
        self,
        label: str,
        send: Callable[[], httpx.Response],
        parse: Callable[[httpx.Response], T],
        images_asked: int | None = None,
    ) -> T:
        policy = self.settings.retry
        log: list[Attempt] = []

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
                    result = self._attempt(label, send, parse, log, images_asked)
                    if isinstance(result, ImagesResponse):
                        return cast("T", dataclasses.replace(result, attempts=tuple(log)))
                    return result
        except OpenAIImagesError as error:
            error.attempts = len(log)
            error.attempt_log = tuple(log)
            raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _timeout(seconds: float | None) -> httpx.Timeout | httpx._client.UseClientDefault:
    return (
        httpx.Timeout(seconds, connect=min(seconds, DEFAULT_CONNECT_TIMEOUT)) if seconds else httpx.USE_CLIENT_DEFAULT
    )
