"""``ImagesClient``: the Images API over httpx, with validation, retries and typed errors.

No Airflow here: :class:`~airflow_provider_openai_images.hooks.OpenAIImagesHook` turns a connection
into :class:`ClientSettings` and hands them to this client. What it shares with
:class:`~airflow_provider_openai_images.core.async_client.AsyncImagesClient` is in
:mod:`~airflow_provider_openai_images.core.exchange`. This module imports httpx at the top, so
nothing that a DAG file imports may import it at module level.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
from airflow_provider_openai_images.core.requests import ImageRequest
from airflow_provider_openai_images.core.responses import ImagesResponse
from airflow_provider_openai_images.core.settings import ClientSettings
from airflow_provider_openai_images.exceptions import OpenAIImagesError

T = TypeVar("T")

__all__ = ["ClientSettings", "ImagesClient"]


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
        logger: Logger | None = None,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._log: Logger = logger or log
        self._http = httpx.Client(transport=transport, **http_client_options(settings))

    def __repr__(self) -> str:
        return f"ImagesClient({self.settings!r})"

    def __enter__(self) -> ImagesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, request: ImageRequest, *, timeout: float | None = None) -> ImagesResponse:
        """Validate ``request``, send it with retries and return the parsed response.

        :raises OpenAIImagesValidationError: before any HTTP call, for a request that cannot succeed.
        :raises OpenAIImagesError: a typed API, connection or response error once retries are spent.
        """
        return self._run(Call.for_images(self.settings, request, self._log), parse_images, timeout)

    def list_models(self) -> list[ModelListing]:
        """The models the endpoint offers, with their shutdown dates (``GET /models``, free)."""
        return self._run(Call.for_models(self.settings), parse_models)

    def retrieve_model(self, model: str) -> ModelListing:
        """One model and its shutdown date (``GET /models/{model}``, free); a model the endpoint does not serve
        raises :class:`~airflow_provider_openai_images.exceptions.OpenAIImagesNotFoundError`."""
        return self._run(Call.for_models(self.settings, model), parse_model)

    def _run(self, call: Call, parse: Callable[[httpx.Response], T], timeout: float | None = None) -> T:
        attempts = AttemptLog(call, self._log)
        retrying = tenacity.Retrying(sleep=self._sleep, **retrying_options(self.settings.retry, call.label, self._log))
        try:
            for attempt in retrying:
                with attempt:
                    attempts.start()
                    try:
                        response = self._http.request(call.method, call.url, **call.send_options(timeout))
                    except httpx.TransportError as error:
                        raise attempts.failed_to_send(error) from error
                    return attempts.answered(response, parse)
        except OpenAIImagesError as error:
            attempts.gave_up(error)
            raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")
