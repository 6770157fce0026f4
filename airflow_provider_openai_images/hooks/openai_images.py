"""``OpenAIImagesHook``: an ``openai_images`` connection turned into an :class:`ImagesClient`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_openai_images import CONN_TYPE, DEFAULT_CONN_ID
from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, ImageRequest, VariationRequest
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import OpenAIImagesError, OpenAIImagesValidationError
from airflow_provider_openai_images.inputs import ImageInput, resolve_images, resolve_one
from airflow_provider_openai_images.preparation import InputPreparation

if TYPE_CHECKING:
    import httpx

    from airflow_provider_openai_images.core.client import ClientSettings, ImagesClient
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
        ``ImagesAPIEmulator().transport()`` in tests (default: plain HTTP).
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
        retry_policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
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
        }
        self._retry_policy = retry_policy
        self._transport = transport

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- connection -> settings -> client ----------------------------------------------------------

    @cached_property
    def settings(self) -> ClientSettings:
        """The client settings: connection values, then constructor overrides on top."""
        from airflow.sdk.log import mask_secret

        from airflow_provider_openai_images.core.client import DEFAULT_BASE_URL, ClientSettings

        conn = self.get_connection(self.conn_id)
        extras: Mapping[str, Any] = conn.extra_dejson

        def pick(name: str) -> Any:
            value = self._overrides.get(name)
            if value is None:
                value = extras.get(name, extras.get(f"extra__{CONN_TYPE}__{name}"))
            return None if value == "" else value

        if conn.password:
            mask_secret(conn.password)
        policy = self._retry_policy or RetryPolicy()
        tuning = {
            field: _number(name, value, kind)
            for name, field, kind in (
                ("max_retries", "max_retries", int),
                ("retry_initial_delay", "initial_delay", float),
                ("max_retry_after", "max_retry_after", float),
            )
            if (value := pick(name)) is not None
        }
        policy = dataclasses.replace(policy, **tuning)
        values: dict[str, Any] = {
            "api_key": conn.password or "",
            "base_url": pick("base_url") or _host_url(conn.host) or DEFAULT_BASE_URL,
            "organization": pick("organization"),
            "project": pick("project"),
            "api_type": pick("api_type") or "openai",
            "api_version": pick("api_version"),
            "azure_deployment": pick("azure_deployment"),
            "retry": policy,
            "allow_http_image_urls": str(pick("allow_http_image_urls")).lower() in ("true", "1", "yes"),
        }
        for name in ("timeout", "connect_timeout"):
            if (value := pick(name)) is not None:
                values[name] = _number(name, value, float)
        return ClientSettings(**values)

    def get_conn(self) -> ImagesClient:
        """The :class:`ImagesClient` for this connection (created once per hook)."""
        return self._client

    @cached_property
    def _client(self) -> ImagesClient:
        from airflow_provider_openai_images.core.client import ImagesClient

        return ImagesClient(self.settings, transport=self._transport, logger=self.log)

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
        return self.send(GenerateRequest.from_values({"prompt": prompt, **parameters}), timeout=timeout)

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
        request = EditRequest.from_values({"prompt": prompt, **parameters}, **files)
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


def _host_url(host: str | None) -> str | None:
    if not host:
        return None
    return host if "://" in host else f"https://{host}"


def _number(name: str, value: Any, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise OpenAIImagesValidationError(name, value, f"a number ({kind.__name__})") from None
