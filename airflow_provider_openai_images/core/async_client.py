"""``AsyncImagesClient``: the Images API over ``httpx.AsyncClient`` for pools of concurrent requests
and for triggers.

The same checks, requests, parsing, errors, attempt log and retry policy as the synchronous
:class:`~airflow_provider_openai_images.core.client.ImagesClient` (shared in
:mod:`~airflow_provider_openai_images.core.exchange`); a shared
:class:`~airflow_provider_openai_images.core.pacing.RequestPacer` may pace every request of a pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import tenacity

from airflow_provider_openai_images.core.exchange import (
    AttemptLog,
    Call,
    Logger,
    http_client_options,
    log,
    parse_images,
    parse_model,
    parse_models,
    retrying_options,
)
from airflow_provider_openai_images.core.lifecycle import ModelListing
from airflow_provider_openai_images.core.pacing import RequestPacer
from airflow_provider_openai_images.core.requests import ImageRequest
from airflow_provider_openai_images.core.responses import ImagesResponse
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.core.settings import ClientSettings
from airflow_provider_openai_images.exceptions import OpenAIImagesError

T = TypeVar("T")


class AsyncImagesClient:
    """An asyncio client for ``/images/generations``, ``/images/edits``, ``/images/variations``.

    :param settings: where and how to connect.
    :param transport: an httpx async transport (tests, proxies); default is a plain HTTP transport.
    :param pacer: shared by the requests of a pool: each attempt waits its turn, and answers (429s,
        ``x-ratelimit-*``) pace the others.
    :param sleep: how to wait between retries.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        pacer: RequestPacer | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        logger: Logger | None = None,
    ) -> None:
        self.settings = settings
        self.pacer = pacer
        self._sleep = sleep
        self._log: Logger = logger or log
        self._http = httpx.AsyncClient(transport=transport, **http_client_options(settings))

    def __repr__(self) -> str:
        return f"AsyncImagesClient({self.settings!r})"

    async def __aenter__(self) -> AsyncImagesClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, request: ImageRequest, *, timeout: float | None = None) -> ImagesResponse:
        """Validate ``request``, send it with retries (paced, if a pacer is set) and return the answer.

        :raises OpenAIImagesValidationError: before any HTTP call, for a request that cannot succeed.
        :raises OpenAIImagesError: a typed API, connection or response error once retries are spent.
        """
        return await self._run(Call.for_images(self.settings, request, self._log), parse_images, timeout)

    async def list_models(self) -> list[ModelListing]:
        """The models the endpoint offers, with their shutdown dates (``GET /models``, free)."""
        return await self._run(Call.for_models(self.settings), parse_models)

    async def retrieve_model(self, model: str) -> ModelListing:
        """One model and its shutdown date (``GET /models/{model}``, free); a model the endpoint does not serve
        raises :class:`~airflow_provider_openai_images.exceptions.OpenAIImagesNotFoundError`."""
        return await self._run(Call.for_models(self.settings, model), parse_model)

    async def _run(
        self,
        call: Call,
        parse: Callable[[httpx.Response], T],
        timeout: float | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> T:
        attempts = AttemptLog(call, self._log)
        options = retrying_options(retry or self.settings.retry, call.label, self._log)
        retrying = tenacity.AsyncRetrying(sleep=self._sleep, **options)
        try:
            async for attempt in retrying:
                with attempt:
                    if self.pacer is not None:
                        await self.pacer.before_request(call.images_asked or 1)
                    attempts.start()
                    try:
                        response = await self._http.request(call.method, call.url, **call.send_options(timeout))
                    except httpx.TransportError as error:
                        raise attempts.failed_to_send(error) from error
                    if self.pacer is not None:
                        self.pacer.after_response(response.status_code, response.headers)
                    return attempts.answered(response, parse)
        except OpenAIImagesError as error:
            attempts.gave_up(error)
            raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")
