"""One call to the Images API over httpx, whatever the I/O style: what the sync and async clients share.

:class:`Call` prepares a request (checked first, then its URL, body and label); :class:`AttemptLog`
records each HTTP attempt and turns its outcome into a result or a typed error; :func:`retrying_options`
is tenacity's schedule for a :class:`RetryPolicy`. The clients only add their own I/O around these.
This module imports httpx at the top: nothing that a DAG file imports may import it at module level.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import quote

import httpx
import tenacity

from airflow_provider_openai_images import __version__
from airflow_provider_openai_images.core.attempts import Attempt, Outcome
from airflow_provider_openai_images.core.lifecycle import ModelListing, not_served_explanation, retirement_notice
from airflow_provider_openai_images.core.models import ModelRules
from airflow_provider_openai_images.core.requests import HTTPBody, ImageRequest
from airflow_provider_openai_images.core.responses import ImagesResponse
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.core.settings import (
    DEFAULT_AZURE_API_VERSION,
    DEFAULT_CONNECT_TIMEOUT,
    ClientSettings,
)
from airflow_provider_openai_images.core.transport_errors import refusal_for, request_id, transport_failure
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesConnectionError,
    OpenAIImagesError,
    OpenAIImagesModelNotFoundError,
    OpenAIImagesRateLimitError,
    OpenAIImagesResponseError,
)

T = TypeVar("T")
log = logging.getLogger("airflow_provider_openai_images.core.client")


class Logger(Protocol):
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


def http_client_options(settings: ClientSettings) -> dict[str, Any]:
    """What ``httpx.Client`` and ``httpx.AsyncClient`` are built with: the key as auth, identifying
    headers, a long read and short connect timeout, no redirects."""
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
    timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
    return {"auth": auth, "headers": headers, "timeout": timeout, "follow_redirects": False}


def endpoint_url(settings: ClientSettings, path: str, *, deployment: str | None) -> tuple[str, dict[str, str]]:
    """The URL and query of ``path``: OpenAI's ``{base}/{path}``, or Azure's deployment URL with ``api-version``."""
    base = settings.base_url.rstrip("/")
    if not settings.is_azure:
        return f"{base}/{path}", {}
    base = base.removesuffix("/openai")
    params = {"api-version": settings.api_version or DEFAULT_AZURE_API_VERSION}
    name = settings.azure_deployment or deployment
    if name is None:
        return f"{base}/openai/{path}", params
    return f"{base}/openai/deployments/{quote(name, safe='')}/{path}", params


@dataclass(frozen=True)
class Call:
    """One API call, ready to send (and to send again).

    :param images_asked: the ``n`` of an image request (1 when not sent); ``None`` for other calls.
    :param model: the model of an image request, to explain a ``404 model_not_found``.
    """

    method: str
    url: str
    label: str
    params: dict[str, str] = field(default_factory=dict)
    body: HTTPBody = field(default_factory=HTTPBody)
    images_asked: int | None = None
    model: str | None = None
    rules: ModelRules | None = field(default=None, repr=False)

    @classmethod
    def for_images(cls, settings: ClientSettings, request: ImageRequest, logger: Logger) -> Call:
        """Check ``request`` (no HTTP before that), warn about a model OpenAI shut down, build the call.

        :raises OpenAIImagesValidationError: for a request that cannot succeed.
        """
        rules = request.validate(settings.catalogue)
        if notice := retirement_notice(request.model, rules, base_url=settings.base_url, today=date.today()):
            logger.warning("%s", notice)
        url, params = endpoint_url(settings, f"images/{request.endpoint}", deployment=request.model)
        label = f"POST /images/{request.endpoint} model={request.model}"
        return cls("POST", url, label, params, request.to_http_body(), request.n or 1, request.model, rules)

    @classmethod
    def for_models(cls, settings: ClientSettings, model: str | None = None) -> Call:
        """``GET /models``, or ``GET /models/{model}``."""
        return cls.for_path(settings, "GET", "models" if model is None else f"models/{quote(model, safe='')}")

    @classmethod
    def for_path(
        cls,
        settings: ClientSettings,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: HTTPBody | None = None,
    ) -> Call:
        """A call to ``path`` outside a deployment (models, files, batches)."""
        url, params = endpoint_url(settings, path, deployment=None)
        return cls(method, url, f"{method} /{path}", {**params, **(query or {})}, body or HTTPBody())

    def send_options(self, timeout: float | None = None) -> dict[str, Any]:
        """Keyword arguments of ``client.request(method, url, ...)`` for this call."""
        per_call = (
            httpx.Timeout(timeout, connect=min(timeout, DEFAULT_CONNECT_TIMEOUT))
            if timeout
            else httpx.USE_CLIENT_DEFAULT
        )
        return {
            "params": self.params,
            "json": self.body.json,
            "data": self.body.data,
            "files": self.body.files,
            "timeout": per_call,
        }


class AttemptLog:
    """The attempts of one :class:`Call`: each is recorded, whatever becomes of it, and its outcome is
    turned into a result or a typed error saying whether it may have been billed."""

    def __init__(self, call: Call, logger: Logger) -> None:
        self.call = call
        self.attempts: list[Attempt] = []
        self._log = logger
        self._started_at = ""
        self._started = 0.0

    def start(self) -> None:
        self._started_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self._started = time.monotonic()

    def failed_to_send(self, error: httpx.TransportError) -> OpenAIImagesConnectionError:
        """The typed error for an attempt that got no answer (recorded)."""
        failure = transport_failure(self.call.label, error)
        self._record("failed", error=type(error).__name__, possibly_billed=failure.possibly_billed)
        return failure

    def answered(self, response: httpx.Response, parse: Callable[[httpx.Response], T]) -> T:
        """The parsed result of a 2xx, or the typed error of any other answer (recorded either way)."""
        self._log.info(
            "%s -> %s in %.1fs (request id %s)",
            self.call.label,
            response.status_code,
            time.monotonic() - self._started,
            request_id(response),
        )
        if not response.is_success:
            refusal = refusal_for(response)
            self._record("refused", response, error=type(refusal).__name__)
            raise refusal
        try:
            result = parse(response)
        except OpenAIImagesResponseError as error:
            error.possibly_billed = True  # the server answered 200: it may have generated the images
            self._record("failed", response, error=type(error).__name__, possibly_billed=True)
            raise
        answered = len(result.data) if isinstance(result, ImagesResponse) else None
        self._record("answered", response, images_answered=answered)
        if isinstance(result, ImagesResponse):
            return cast("T", dataclasses.replace(result, attempts=tuple(self.attempts)))
        return result

    def gave_up(self, error: OpenAIImagesError) -> None:
        """Attach the attempts to the error the client gives up with."""
        error.attempts = len(self.attempts)
        error.attempt_log = tuple(self.attempts)
        if isinstance(error, OpenAIImagesModelNotFoundError) and self.call.model:
            error.explain(not_served_explanation(self.call.model, self.call.rules, date.today()))

    def _record(self, outcome: Outcome, response: httpx.Response | None = None, **details: Any) -> None:
        self.attempts.append(
            Attempt(
                len(self.attempts) + 1,
                self._started_at,
                time.monotonic() - self._started,
                outcome,
                status=response.status_code if response is not None else None,
                request_id=request_id(response) if response is not None else None,
                images_asked=self.call.images_asked,
                **details,
            )
        )


def retrying_options(policy: RetryPolicy, label: str, logger: Logger) -> dict[str, Any]:
    """tenacity's schedule for ``policy``: what to retry, how long to wait, what to log.

    A 429 bills nothing, so its retries do not count against ``max_retries`` while this request's waits for
    429s add up to no more than ``max_retry_after``: a pool over the account's rate is held back by the server,
    not failed after two answers that say "in a moment".
    """
    rate_limited = {"retries": 0, "waited": 0.0, "last_free": False}

    def stop(state: tenacity.RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        delay = policy.delay_for(error, state.attempt_number) if error is not None else 0.0
        free = (
            isinstance(error, OpenAIImagesRateLimitError) and rate_limited["waited"] + delay <= policy.max_retry_after
        )
        rate_limited["last_free"] = free
        if free:
            rate_limited["retries"] += 1
            rate_limited["waited"] += delay
            return False
        return state.attempt_number - rate_limited["retries"] > policy.max_retries

    def log_retry(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        which = (
            f"rate limited ({rate_limited['waited']:.1f}s of max_retry_after={policy.max_retry_after:g}s waited)"
            if rate_limited["last_free"]
            else f"retry {state.attempt_number - rate_limited['retries']} of {policy.max_retries}"
        )
        logger.warning("%s failed (%s); %s, again in %.2fs", label, error, which, delay)

    return {
        "stop": stop,
        "retry": tenacity.retry_if_exception(policy.is_retryable),
        "wait": lambda state: (
            policy.delay_for(state.outcome.exception(), state.attempt_number) if state.outcome else 0.0
        ),
        "before_sleep": log_retry,
        "reraise": True,
    }


def parse_images(response: httpx.Response) -> ImagesResponse:
    return ImagesResponse.from_json(_json(response), request_id=request_id(response))


def parse_models(response: httpx.Response) -> list[ModelListing]:
    """The models of a ``GET /models`` answer, with their shutdown dates."""
    payload = _json(response)
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise OpenAIImagesResponseError("GET /models did not return a 'data' list")
    return [_listing(item) for item in items if isinstance(item, dict) and item.get("id")]


def parse_model(response: httpx.Response) -> ModelListing:
    """The model of a ``GET /models/{model}`` answer."""
    payload = _json(response)
    if not isinstance(payload, dict) or not payload.get("id"):
        raise OpenAIImagesResponseError("GET /models/{model} did not return a model")
    return _listing(payload)


def _listing(item: dict[str, Any]) -> ModelListing:
    shutdown = item.get("shutdown_date")
    try:
        day = date.fromisoformat(str(shutdown)[:10]) if shutdown else None
    except ValueError:
        day = None  # a date we cannot read is no reason to stop anyone
    return ModelListing(str(item["id"]), served=True, shutdown_date=day)


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
