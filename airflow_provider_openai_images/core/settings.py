"""Everything a client needs to reach one Images API endpoint: pure values, no HTTP library."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from airflow_provider_openai_images.core.catalogue import ModelCatalogue, packaged_catalogue
from airflow_provider_openai_images.core.lifecycle import LIFECYCLE_MODES, LifecycleMode
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"
#: Generation of a high quality image can take minutes; connecting should not.
DEFAULT_TIMEOUT = 600.0
DEFAULT_CONNECT_TIMEOUT = 10.0


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
    :param default_model: the model of generations and edits that name none (the connection's
        ``default_model`` extra); ``None`` leaves it to the request type's default.
    :param catalogue: the models' rules and prices: the packaged catalogue, with the connection's ``models``
        extra on top.
    :param model_lifecycle: when to ask the Models API whether a model is still served before using it
        (``auto``: on api.openai.com; ``openai``: always; ``off``: never).
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
    default_model: str | None = None
    catalogue: ModelCatalogue = field(default_factory=packaged_catalogue, repr=False, compare=False)
    model_lifecycle: LifecycleMode = "auto"

    def __post_init__(self) -> None:
        if self.model_lifecycle not in LIFECYCLE_MODES:
            allowed = "'auto' (on api.openai.com), 'openai' (always) or 'off'"
            raise OpenAIImagesValidationError("model_lifecycle", self.model_lifecycle, allowed)
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
