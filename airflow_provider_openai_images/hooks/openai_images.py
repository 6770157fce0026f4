"""``OpenAIImagesHook``: an ``openai_images`` connection turned into an :class:`ImagesClient`."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_openai_images import CONN_TYPE, DEFAULT_CONN_ID
from airflow_provider_openai_images.core.catalogue import ModelCatalogue
from airflow_provider_openai_images.core.lifecycle import ModelListing, checks_lifecycle, verdict
from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, ImageRequest, VariationRequest
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.core.settings import ClientSettings
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesError,
    OpenAIImagesModelNotFoundError,
    OpenAIImagesNotFoundError,
)
from airflow_provider_openai_images.hooks.connection import ConnectionValues, client_settings, price_table
from airflow_provider_openai_images.media.preparation import InputPreparation
from airflow_provider_openai_images.media.sources import ImageInput, resolve_images, resolve_one

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.async_client import AsyncImagesClient
    from airflow_provider_openai_images.core.batch_client import AsyncBatchClient
    from airflow_provider_openai_images.core.client import ImagesClient
    from airflow_provider_openai_images.core.pacing import RequestPacer
    from airflow_provider_openai_images.core.responses import GeneratedImage, ImagesResponse
    from airflow_provider_openai_images.media.preparation import Box, SquarePolicy


#: What the Models API said of each (base URL, model) in this process: asked once, then remembered.
_listings: dict[tuple[str, str], ModelListing] = {}
_listings_lock = threading.Lock()
#: The lookup is a courtesy: it must never hold a task up for long.
LIFECYCLE_LOOKUP_TIMEOUT = 10.0


def forget_model_listings() -> None:
    """Forget what the Models API said (tests; a long-lived process that wants a fresh look)."""
    with _listings_lock:
        _listings.clear()


class OpenAIImagesHook(BaseHook):
    """Talk to the OpenAI Images API (or Azure OpenAI, or a compatible server) through a connection.

    The ``openai_images`` connection holds the base URL in ``host``, the API key in ``password``, and
    in its extra: ``organization``, ``project``, ``timeout`` (seconds), ``connect_timeout``,
    ``max_retries``, ``retry_initial_delay``, ``max_retry_after`` (seconds), ``allow_http_image_urls``,
    ``default_model``, ``models`` (catalogue entries: models, rules and prices this release does not know),
    ``prices``, ``model_lifecycle`` (``auto``/``openai``/``off``: see :meth:`check_model_lifecycle`),
    and for Azure OpenAI ``api_type="azure"``, ``api_version``, ``azure_deployment``.
    Arguments given to the constructor override the connection's values.

    :param conn_id: the ``openai_images`` connection to use.
    :param retry_policy: full control over retries; ``max_retries`` alone overrides its count.
    :param transport: an httpx transport for API calls and image downloads, e.g.
        ``ImagesAPIEmulator().transport()`` in tests (default: plain HTTP); one that is also an
        ``httpx.AsyncBaseTransport`` serves :meth:`get_async_conn` too.
    """

    conn_name_attr = "conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "OpenAI Images"

    def __init__(
        self,
        conn_id: str = DEFAULT_CONN_ID,
        *,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        api_type: str | None = None,
        api_version: str | None = None,
        azure_deployment: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        retry_possibly_billed: bool | None = None,
        retry_policy: RetryPolicy | None = None,
        transport: Any = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self._overrides: dict[str, Any] = {
            "base_url": base_url,
            "organization": organization,
            "project": project,
            "api_type": api_type,
            "api_version": api_version,
            "azure_deployment": azure_deployment,
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "max_retries": max_retries,
            "retry_possibly_billed": retry_possibly_billed,
        }
        self._retry_policy = retry_policy
        self._transport = transport

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- connection -> settings -> client ----------------------------------------------------------

    @cached_property
    def connection_values(self) -> ConnectionValues:
        """The connection's host, key and extras, constructor overrides on top (the key is masked in logs)."""
        return self._values_of(self.get_connection(self.conn_id))

    async def aload_connection(self) -> None:
        """Read the connection without blocking the event loop (in triggers); then ``settings``, ``prices``
        and :meth:`get_async_conn` use it."""
        if "connection_values" not in self.__dict__:
            self.__dict__["connection_values"] = self._values_of(await self.aget_connection(self.conn_id))

    def _values_of(self, conn: Any) -> ConnectionValues:
        from airflow.sdk.log import mask_secret

        if conn.password:
            mask_secret(conn.password)
        return ConnectionValues(conn.host, conn.password or "", conn.extra_dejson, self._overrides)

    @cached_property
    def settings(self) -> ClientSettings:
        """The client settings: connection values, then constructor overrides on top."""
        return client_settings(self.connection_values, self._retry_policy)

    @property
    def catalogue(self) -> ModelCatalogue:
        """The models' rules and prices: the packaged catalogue with the connection's ``models`` extra on top."""
        return self.settings.catalogue

    @cached_property
    def prices(self) -> PriceTable:
        """The catalogue's prices with the connection's ``prices`` extra on top."""
        return price_table(self.connection_values, self.catalogue)

    @property
    def spill_path(self) -> str | None:
        """The connection's ``spill_path`` extra: where paid images wait when S3 refuses them."""
        value = self.connection_values.pick("spill_path")
        return str(value) if value else None

    def get_conn(self) -> ImagesClient:
        """The :class:`ImagesClient` for this connection (created once per hook)."""
        return self._client

    @cached_property
    def _client(self) -> ImagesClient:
        from airflow_provider_openai_images.core.client import ImagesClient

        return ImagesClient(self.settings, transport=self._transport, logger=self.log)

    def get_async_conn(self, *, pacer: RequestPacer | None = None) -> AsyncImagesClient:
        """A new :class:`AsyncImagesClient` for this connection (close it with ``aclose()``); in a trigger,
        ``await aload_connection()`` first."""
        import httpx

        from airflow_provider_openai_images.core.async_client import AsyncImagesClient

        transport = self._transport if isinstance(self._transport, httpx.AsyncBaseTransport) else None
        return AsyncImagesClient(self.settings, transport=transport, pacer=pacer, logger=self.log)

    def get_async_batch_client(self) -> AsyncBatchClient:
        """A new :class:`AsyncBatchClient` (Files and Batch APIs, and the Images API) for this connection."""
        import httpx

        from airflow_provider_openai_images.core.batch_client import AsyncBatchClient

        transport = self._transport if isinstance(self._transport, httpx.AsyncBaseTransport) else None
        return AsyncBatchClient(self.settings, transport=transport, logger=self.log)

    def close(self) -> None:
        """Close the HTTP connection pool, if one was opened."""
        if "_client" in self.__dict__:
            self._client.close()
            del self.__dict__["_client"]

    # -- Images API --------------------------------------------------------------------------------

    def send(self, request: ImageRequest, *, timeout: float | None = None) -> ImagesResponse:
        """Send a prepared request object: validated first, its model's lifecycle checked (see
        :meth:`check_model_lifecycle`), retried as the policy says."""
        request.validate(self.catalogue)
        self.check_model_lifecycle(request.model)
        return self.get_conn().send(request, timeout=timeout)

    def generate(self, prompt: str, *, timeout: float | None = None, **parameters: Any) -> ImagesResponse:
        """Create images from a prompt (``POST /images/generations``).

        ``parameters`` are the fields of :class:`~airflow_provider_openai_images.core.requests.GenerateRequest`
        (``model``, ``n``, ``size``, ``quality``, ``style``, ``background``, ``output_format``, ...); those
        left out are not sent, but ``model`` always is. ``extra_body`` passes parameters this release does
        not know yet. Returns an :class:`ImagesResponse` whose ``data[i]`` holds ``b64_json`` or ``url``
        and ``revised_prompt``.
        """
        values = self.with_default_model(GenerateRequest, {"prompt": prompt, **parameters})
        return self.send(GenerateRequest.from_values(values), timeout=timeout)

    def edit(
        self,
        image: ImageInput | Sequence[ImageInput],
        prompt: str,
        *,
        mask: ImageInput | None = None,
        markup: ImageInput | None = None,
        prepare: bool = True,
        square_policy: SquarePolicy = "crop",
        mask_box: Box | Sequence[Box] | None = None,
        timeout: float | None = None,
        **parameters: Any,
    ) -> ImagesResponse:
        """Edit one image (or up to 16 for GPT image models) guided by a prompt (``POST /images/edits``).

        ``image`` and ``mask`` are bytes, local paths, binary files or :class:`ImageFile` (see
        :func:`~airflow_provider_openai_images.media.sources.resolve_images`). With ``prepare`` (default) they
        are made acceptable first (see :class:`~airflow_provider_openai_images.media.preparation.InputPreparation`):
        the mask may then be an RGBA mask (transparent = edit), a black-and-white or greyscale painting
        (white = edit), or be drawn from ``mask_box=(left, top, right, bottom)`` or a list of boxes.
        ``parameters`` are the fields of :class:`~airflow_provider_openai_images.core.requests.EditRequest`.
        """
        files = {
            "images": tuple(resolve_images(image, parameter="image")),
            "mask": resolve_one(mask, parameter="mask") if mask is not None else None,
            "markup": resolve_one(markup, parameter="markup") if markup is not None else None,
        }
        request = EditRequest.from_values(
            self.with_default_model(EditRequest, {"prompt": prompt, **parameters}), **files
        )
        return self._send_prepared(request, InputPreparation(prepare, square_policy, mask_box, self.catalogue), timeout)

    def create_variation(
        self,
        image: ImageInput,
        *,
        prepare: bool = True,
        square_policy: SquarePolicy = "crop",
        timeout: float | None = None,
        **parameters: Any,
    ) -> ImagesResponse:
        """Create variations of an image (``POST /images/variations``; dall-e-2 only).

        With ``prepare`` (default) any PNG, JPEG or WEBP is made the square PNG under 4 MB the endpoint
        wants, squared by ``square_policy`` (``"crop"`` or ``"pad"``). ``parameters`` are the fields of
        :class:`~airflow_provider_openai_images.core.requests.VariationRequest`.
        """
        request = VariationRequest.from_values(parameters, image=resolve_one(image, parameter="image"))
        return self._send_prepared(request, InputPreparation(prepare, square_policy, catalogue=self.catalogue), timeout)

    def with_default_model(self, request_type: type[ImageRequest], values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with the connection's ``default_model`` when they name no model (generations, edits)."""
        default = self.settings.default_model
        if values.get("model") in (None, "") and request_type.uses_default_model and default:
            return {**values, "model": default}
        return dict(values)

    def check_model_lifecycle(self, model: str) -> None:
        """Before the first paid call for ``model`` in this process: ask the Models API (free) whether it is
        still served, on api.openai.com (or wherever the ``model_lifecycle`` extra says ``openai``).

        A model that is not served, or whose ``shutdown_date`` has passed, fails here, naming the date and what
        replaces it; a shutdown within 30 days is logged as a warning. A lookup that fails (network, 5xx, an
        unreadable answer) is logged and never blocks the request.

        :raises OpenAIImagesModelNotFoundError: when OpenAI no longer serves ``model``.
        """
        settings = self.settings
        if not model or not checks_lifecycle(settings.model_lifecycle, settings.base_url):
            return
        listing = self._model_listing(model)
        if listing is None:
            return
        rules = self.catalogue.rules_for(model)
        found = verdict(listing, rules, date.today())
        if found.refusal:
            raise OpenAIImagesModelNotFoundError(found.refusal, code="model_not_found", param="model")
        if found.warning:
            self.log.warning("%s", found.warning)

    def _model_listing(self, model: str) -> ModelListing | None:
        """What ``GET /models/{model}`` says, asked once per process; ``None`` when it could not be asked."""
        key = (self.settings.base_url, model)
        with _listings_lock:
            if key in _listings:
                return _listings[key]
        from airflow_provider_openai_images.core.client import ImagesClient

        quick = dataclasses.replace(
            self.settings,
            retry=dataclasses.replace(self.settings.retry, max_retries=0),
            timeout=min(self.settings.timeout, LIFECYCLE_LOOKUP_TIMEOUT),
        )
        try:
            with ImagesClient(quick, transport=self._transport, logger=self.log) as client:
                listing = client.retrieve_model(model)
        except OpenAIImagesNotFoundError:
            listing = ModelListing(model, served=False)
        except (OpenAIImagesError, ValueError) as error:
            self.log.warning("Could not ask the Models API about %r (%s); going ahead.", model, error)
            return None
        with _listings_lock:
            _listings[key] = listing
        return listing

    def image_bytes(self, image: GeneratedImage) -> bytes:
        """The bytes of one answered image: decoded, or downloaded at once without the API key."""
        from airflow_provider_openai_images.core.downloads import image_bytes

        return image_bytes(image, allow_http=self.settings.allow_http_image_urls, transport=self._transport)

    def _send_prepared(
        self, request: ImageRequest, preparation: InputPreparation, timeout: float | None
    ) -> ImagesResponse:
        request, report = preparation.apply(request)
        if report:
            self.log.info("Prepared inputs: %s", report)
        return self.send(request, timeout=timeout)

    def test_connection(self) -> tuple[bool, str]:
        """Check the key and URL with ``GET /models`` (free), for ``airflow connections test`` and the UI: the
        account's image models, each with its shutdown date when one is announced."""
        try:
            models = self.get_conn().list_models()
        except (OpenAIImagesError, ValueError) as error:
            return False, str(error)
        finally:
            self.close()
        image_models = sorted(
            (m for m in models if "image" in m.model or m.model.startswith("dall-e")), key=lambda m: m.model
        )
        shown = ", ".join(
            f"{m.model} (shuts down {m.shutdown_date.isoformat()})" if m.shutdown_date else m.model
            for m in image_models
        )
        return True, f"Connected to {self.settings.base_url}: {len(models)} models, image models: {shown or 'none'}"
