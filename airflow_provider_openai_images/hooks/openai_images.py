"""``OpenAIImagesHook``: an ``openai_images`` connection turned into an :class:`ImagesClient`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_openai_images import CONN_TYPE, DEFAULT_CONN_ID
from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, ImageRequest, VariationRequest
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.core.settings import ClientSettings
from airflow_provider_openai_images.exceptions import OpenAIImagesError
from airflow_provider_openai_images.hooks.connection import ConnectionValues, client_settings, price_table
from airflow_provider_openai_images.inputs import ImageInput, resolve_images, resolve_one
from airflow_provider_openai_images.preparation import InputPreparation

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.async_client import AsyncImagesClient
    from airflow_provider_openai_images.core.batch_client import AsyncBatchClient
    from airflow_provider_openai_images.core.client import ImagesClient
    from airflow_provider_openai_images.core.pacing import RequestPacer
    from airflow_provider_openai_images.core.responses import GeneratedImage, ImagesResponse
    from airflow_provider_openai_images.preparation import Box, SquarePolicy


class OpenAIImagesHook(BaseHook):
    """Talk to the OpenAI Images API (or Azure OpenAI, or a compatible server) through a connection.

    The ``openai_images`` connection holds the base URL in ``host``, the API key in ``password``, and
    in its extra: ``organization``, ``project``, ``timeout`` (seconds), ``connect_timeout``,
    ``max_retries``, ``retry_initial_delay``, ``max_retry_after`` (seconds), ``allow_http_image_urls``,
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

    @cached_property
    def prices(self) -> PriceTable:
        """The published prices with the connection's ``prices`` extra on top."""
        return price_table(self.connection_values)

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
        """Send a prepared request object (validated first, retried as the policy says)."""
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
        prepare: bool = True,
        square_policy: SquarePolicy = "crop",
        mask_box: Box | Sequence[Box] | None = None,
        timeout: float | None = None,
        **parameters: Any,
    ) -> ImagesResponse:
        """Edit one image (or up to 16 for GPT image models) guided by a prompt (``POST /images/edits``).

        ``image`` and ``mask`` are bytes, local paths, binary files or :class:`ImageFile` (see
        :func:`~airflow_provider_openai_images.inputs.resolve_images`). With ``prepare`` (default) they
        are made acceptable first (see :class:`~airflow_provider_openai_images.preparation.InputPreparation`):
        the mask may then be an RGBA mask (transparent = edit), a black-and-white or greyscale painting
        (white = edit), or be drawn from ``mask_box=(left, top, right, bottom)`` or a list of boxes.
        ``parameters`` are the fields of :class:`~airflow_provider_openai_images.core.requests.EditRequest`.
        """
        files = {
            "images": tuple(resolve_images(image, parameter="image")),
            "mask": resolve_one(mask, parameter="mask") if mask is not None else None,
        }
        request = EditRequest.from_values(
            self.with_default_model(EditRequest, {"prompt": prompt, **parameters}), **files
        )
        return self._send_prepared(request, InputPreparation(prepare, square_policy, mask_box), timeout)

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
        return self._send_prepared(request, InputPreparation(prepare, square_policy), timeout)

    def with_default_model(self, request_type: type[ImageRequest], values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with the connection's ``default_model`` when they name no model (generations, edits)."""
        default = self.settings.default_model
        if values.get("model") in (None, "") and request_type.uses_default_model and default:
            return {**values, "model": default}
        return dict(values)

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
        """Check the key and URL with ``GET /models`` (free), for ``airflow connections test`` and the UI."""
        try:
            models = self.get_conn().list_models()
        except (OpenAIImagesError, ValueError) as error:
            return False, str(error)
        finally:
            self.close()
        image_models = sorted(m for m in models if "image" in m or m.startswith("dall-e"))
        shown = ", ".join(image_models) if image_models else "none"
        return True, f"Connected to {self.settings.base_url}: {len(models)} models, image models: {shown}"
