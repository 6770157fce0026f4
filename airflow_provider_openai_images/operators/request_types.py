"""Which request an operator sends, named rather than imported: the request types (and the model rules behind
them) load when a task first needs them, not at every parse of a DAG file that imports the operators."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.requests import ImageRequest

_REQUESTS_MODULE = "airflow_provider_openai_images.core.requests"


class RequestTypeOf:
    """A class attribute that is the request type named ``name`` in ``core.requests``, imported on first use.

    ``request_type = RequestTypeOf("GenerateRequest")`` reads as ``GenerateRequest`` on the class and on its
    instances alike.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> type[ImageRequest]:
        request_type: type[ImageRequest] = getattr(importlib.import_module(_REQUESTS_MODULE), self.name)
        return request_type

    def __repr__(self) -> str:
        return f"RequestTypeOf({self.name!r})"
