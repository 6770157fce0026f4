"""An ``openai_images`` connection read into what the provider needs: client settings, prices, and
where paid images wait when S3 refuses them.

Extras are read plain (``"timeout": 120``) or as the UI form stores them
(``"extra__openai_images__timeout": "120"``); an empty value counts as unset; values given to the
hook's constructor win over the connection's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_openai_images import CONN_TYPE
from airflow_provider_openai_images.core.catalogue import ModelCatalogue, packaged_catalogue
from airflow_provider_openai_images.core.numbers import strict_float, strict_int
from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.core.settings import DEFAULT_BASE_URL, ClientSettings
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
#: connection extra -> RetryPolicy field, and its type
_RETRY_TUNING = (
    ("max_retries", "max_retries", int),
    ("retry_initial_delay", "initial_delay", float),
    ("max_retry_after", "max_retry_after", float),
)


@dataclass(frozen=True)
class ConnectionValues:
    """One connection's host, key and extras, with the hook's constructor overrides on top."""

    host: str | None
    api_key: str = field(repr=False)
    extras: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def pick(self, name: str) -> Any:
        value = self.overrides.get(name)
        if value is None:
            value = self.extras.get(name, self.extras.get(f"extra__{CONN_TYPE}__{name}"))
        return None if value == "" else value

    def number(self, name: str, kind: type[int] | type[float]) -> Any:
        value = self.pick(name)
        if value is None:
            return None
        number = strict_int(value) if kind is int else strict_float(value)
        if number is None:
            raise OpenAIImagesValidationError(name, value, f"a finite number ({kind.__name__})")
        return number

    def flag(self, name: str) -> bool | None:
        value = self.pick(name)
        if value is None or isinstance(value, bool):
            return value
        if str(value).lower() in _TRUE + _FALSE:
            return str(value).lower() in _TRUE
        raise OpenAIImagesValidationError(name, value, "true or false")

    def mapping(self, name: str) -> Mapping[str, Any] | None:
        """An object-valued extra, given as JSON object or as a JSON string (the UI form stores text)."""
        value = self.pick(name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise OpenAIImagesValidationError(name, value, "a JSON object") from None
        if value is not None and not isinstance(value, Mapping):
            raise OpenAIImagesValidationError(name, value, "a JSON object")
        return value


def client_settings(values: ConnectionValues, retry_policy: RetryPolicy | None = None) -> ClientSettings:
    """The client settings: the connection's values, constructor overrides on top."""
    tuning: dict[str, Any] = {
        field_name: number
        for extra, field_name, kind in _RETRY_TUNING
        if (number := values.number(extra, kind)) is not None
    }
    if (retry_possibly_billed := values.flag("retry_possibly_billed")) is not None:
        tuning["retry_possibly_billed"] = retry_possibly_billed
    settings: dict[str, Any] = {
        "api_key": values.api_key,
        "base_url": values.pick("base_url") or _host_url(values.host) or DEFAULT_BASE_URL,
        "organization": values.pick("organization"),
        "project": values.pick("project"),
        "api_type": values.pick("api_type") or "openai",
        "api_version": values.pick("api_version"),
        "azure_deployment": values.pick("azure_deployment"),
        "default_model": values.pick("default_model"),
        "catalogue": model_catalogue(values),
        "model_lifecycle": values.pick("model_lifecycle") or "auto",
        "retry": dataclasses.replace(retry_policy or RetryPolicy(), **tuning),
        "allow_http_image_urls": bool(values.flag("allow_http_image_urls")),
    }
    for name in ("timeout", "connect_timeout"):
        if (seconds := values.number(name, float)) is not None:
            settings[name] = seconds
    return ClientSettings(**settings)


def model_catalogue(values: ConnectionValues) -> ModelCatalogue:
    """The packaged model catalogue with the connection's ``models`` extra on top."""
    return packaged_catalogue().with_entries(values.mapping("models"))


def price_table(values: ConnectionValues, catalogue: ModelCatalogue | None = None) -> PriceTable:
    """The catalogue's prices (with the ``models`` extra) and the connection's ``prices`` extra on top."""
    return PriceTable(values.mapping("prices"), catalogue=catalogue or model_catalogue(values))


def _host_url(host: str | None) -> str | None:
    if not host:
        return None
    return host if "://" in host else f"https://{host}"
