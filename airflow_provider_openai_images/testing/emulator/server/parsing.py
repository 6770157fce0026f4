"""Raw request parts (method, target, headers, body bytes) turned into a :class:`RecordedRequest`.

Both adapters, the HTTP server and the in-process httpx transport, parse with this module, so what
``emulator.requests`` records does not depend on how a request arrived. It routes OpenAI paths
(``/v1/images/...``, ``/v1/models`` and ``/v1/models/{model}``, the Files and Batch APIs under
``/v1/files`` and ``/v1/batches``) and Azure OpenAI ones (``/openai/deployments/{name}/images/...``,
``/openai/models`` and ``/openai/models/{model}``), tells which authentication scheme carried the
right key, redacts secrets, and decodes JSON and ``multipart/form-data`` bodies.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from airflow_provider_openai_images.testing.emulator.images.validation import SCHEMAS, RequestRejected
from airflow_provider_openai_images.testing.emulator.recordings import RecordedRequest, UploadedFile

AuthScheme = Literal["bearer", "api-key"]
_AZURE_DEPLOYMENTS = "/openai/deployments/"
_SECRET_HEADERS = ("authorization", "api-key")
#: endpoint -> the methods it answers (any other is answered 404, as an unknown path)
ENDPOINT_METHODS: dict[str, tuple[str, ...]] = {
    "generations": ("POST",),
    "edits": ("POST",),
    "variations": ("POST",),
    "models": ("GET",),
    "model": ("GET",),
    "files": ("GET", "POST"),
    "file": ("GET", "DELETE"),
    "file_content": ("GET",),
    "batches": ("GET", "POST"),
    "batch": ("GET",),
    "batch_cancel": ("POST",),
}
#: endpoints of the Files and Batch APIs, by the path's parts after ``/v1/`` (``{id}`` for an id)
_OBJECT_ROUTES = {
    ("files",): "files",
    ("files", "{id}"): "file",
    ("files", "{id}", "content"): "file_content",
    ("batches",): "batches",
    ("batches", "{id}"): "batch",
    ("batches", "{id}", "cancel"): "batch_cancel",
}


@dataclass
class ParsedRequest:
    """A request as the emulator understood it.

    :param record: what is recorded in ``emulator.requests`` (headers already redacted).
    :param rejection: set when the body could not be parsed; the request is answered with it.
    """

    record: RecordedRequest
    rejection: RequestRejected | None = None


def route(path: str) -> tuple[str | None, AuthScheme]:
    """The endpoint a path names (``None`` if none) and the auth scheme that API flavour uses."""
    if path.startswith(_AZURE_DEPLOYMENTS):
        tail = path[len(_AZURE_DEPLOYMENTS) :].split("/", 1)
        return _image_endpoint(tail[1] if len(tail) == 2 else ""), "api-key"
    if path == "/openai/models":
        return "models", "api-key"
    if _is_model_path(path, "/openai/models/"):
        return "model", "api-key"
    rest = path.removeprefix("/v1/")
    if rest == "models":
        return "models", "bearer"
    if _is_model_path(path, "/v1/models/"):
        return "model", "bearer"
    parts = rest.split("/")
    if parts[0] in ("files", "batches") and path.startswith("/v1/"):
        shape = tuple("{id}" if position == 1 and part else part for position, part in enumerate(parts))
        return _OBJECT_ROUTES.get(shape), "bearer"
    return _image_endpoint(rest), "bearer"


def object_id(path: str) -> str:
    """The ``{id}`` of a Files or Batch API path (``/v1/files/{id}/content`` -> the file id)."""
    return path.removeprefix("/v1/").split("/")[1]


def model_id(path: str) -> str:
    """The ``{model}`` of ``/v1/models/{model}`` (or Azure's ``/openai/models/{model}``), URL-decoded."""
    return unquote(path.rsplit("/models/", 1)[1])


def _is_model_path(path: str, prefix: str) -> bool:
    tail = path.removeprefix(prefix)
    return path.startswith(prefix) and bool(tail) and "/" not in tail


def _image_endpoint(rest: str) -> str | None:
    endpoint = rest.removeprefix("images/") if rest.startswith("images/") else None
    return endpoint if endpoint in SCHEMAS else None


def parse_request(
    method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes, *, api_key: str
) -> ParsedRequest:
    """Parse one API request.

    :param target: the request target as sent: path and query string.
    :param headers: header names and values as received (names in any case).
    :param api_key: the key the emulator expects; ``auth_scheme`` is set only if the request carries it.
    """
    split = urlsplit(target)
    endpoint, scheme = route(split.path)
    received = _lower_case_names(headers)
    expected = f"Bearer {api_key}" if scheme == "bearer" else api_key
    presented = received.get("authorization" if scheme == "bearer" else "api-key")
    redacted = {name: "<redacted>" if name in _SECRET_HEADERS else value for name, value in received.items()}
    record = RecordedRequest(
        method=method,
        path=split.path,
        endpoint=endpoint,
        query=parse_qs(split.query),
        headers=redacted,
        auth_scheme=scheme if presented == expected else None,
    )
    try:
        if method == "POST" and endpoint != "batch_cancel":  # a cancellation has no body
            _parse_body(record, received.get("content-type", ""), body)
    except RequestRejected as rejection:
        return ParsedRequest(record, rejection)
    return ParsedRequest(record)


def parse_download(target: str, headers: Iterable[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The path (query left out) and the headers (names in lower case) of a request to the image host."""
    return urlsplit(target).path, _lower_case_names(headers)


def _lower_case_names(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def _parse_body(record: RecordedRequest, content_type: str, raw: bytes) -> None:
    if content_type.startswith("application/json"):
        try:
            record.json = json.loads(raw or b"null")
        except ValueError:
            raise RequestRejected(400, "We could not parse the JSON body of your request.") from None
        if not isinstance(record.json, dict):
            raise RequestRejected(400, "The request body must be a JSON object.")
    elif content_type.startswith("multipart/form-data"):
        _parse_multipart(record, content_type, raw)
    else:
        raise RequestRejected(400, f"Unsupported content type {content_type!r} for {record.path}.")


def _parse_multipart(record: RecordedRequest, content_type: str, raw: bytes) -> None:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        if filename is None:
            record.form.setdefault(str(name), []).append(payload.decode("utf-8"))
        else:
            declared = part.get("Content-Type")
            record.files.append(
                UploadedFile(
                    str(name), str(filename), str(declared).split(";")[0] if declared else None, bytes(payload)
                )
            )
