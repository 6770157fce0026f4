"""The Files and Batch API endpoints: a parsed request in, a :class:`Reply` out (or
:class:`RequestRejected`), over the :class:`FileStore` and the :class:`BatchStore`.

``POST /files`` (multipart ``file`` and ``purpose``), ``GET /files``, ``GET`` and ``DELETE
/files/{id}``, ``GET /files/{id}/content`` (streamed from disk), ``POST`` and ``GET /batches``,
``GET /batches/{id}`` and ``POST /batches/{id}/cancel``, as the packaged
``openai-batch-files-openapi.yaml`` describes them; request bodies are validated against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from airflow_provider_openai_images.testing.emulator.batches import BatchStore
from airflow_provider_openai_images.testing.emulator.files import FileStore
from airflow_provider_openai_images.testing.emulator.parsing import object_id
from airflow_provider_openai_images.testing.emulator.records import RecordedRequest
from airflow_provider_openai_images.testing.emulator.replies import Reply, StreamedBody, json_reply
from airflow_provider_openai_images.testing.emulator.validation import RequestRejected, batch_spec_validator

#: the endpoints answered here, as ``RecordedRequest.endpoint`` names them
OBJECT_ENDPOINTS = frozenset({"files", "file", "file_content", "batches", "batch", "batch_cancel"})
#: the batch endpoints the emulator serves (it emulates the Images API only)
IMAGE_BATCH_ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")
_METADATA_PAIRS, _METADATA_KEY, _METADATA_VALUE = 16, 64, 512


class ObjectAPI:
    """The Files and Batch APIs of one emulator."""

    def __init__(self, files: FileStore, batches: BatchStore) -> None:
        self.files = files
        self.batches = batches
        self._handlers: dict[tuple[str, str], Callable[[RecordedRequest], Any]] = {
            ("files", "POST"): self._upload,
            ("files", "GET"): self._list_files,
            ("file", "GET"): lambda record: self.files.get(object_id(record.path)).to_json(),
            ("file", "DELETE"): lambda record: self.files.delete(object_id(record.path)).deletion_json(),
            ("batches", "POST"): self._create_batch,
            ("batches", "GET"): self._list_batches,
            ("batch", "GET"): lambda record: self.batches.json(object_id(record.path)),
            ("batch_cancel", "POST"): lambda record: self.batches.cancel(object_id(record.path)),
        }

    def answer(self, record: RecordedRequest, request_id: str) -> Reply:
        """Answer a request to one of :data:`OBJECT_ENDPOINTS` with a method it takes."""
        assert record.endpoint is not None
        if record.endpoint == "file_content":
            stored, handle = self.files.open(object_id(record.path))
            stream = StreamedBody(handle, stored.size)
            return Reply(
                200, content_type="application/octet-stream", headers={"x-request-id": request_id}, stream=stream
            )
        return json_reply(200, self._handlers[record.endpoint, record.method](record), request_id)

    # -- files ------------------------------------------------------------------------------------

    def _upload(self, record: RecordedRequest) -> Any:
        uploads = [upload for upload in record.files if upload.field_name == "file"]
        fields: dict[str, Any] = {name: values[-1] for name, values in record.form.items()}
        if uploads:
            fields["file"] = "<binary>"
        seconds = fields.pop("expires_after[seconds]", None)
        anchor = fields.pop("expires_after[anchor]", None)
        if seconds is not None or anchor is not None:
            expiry = None if seconds is None else _integer(seconds, "expires_after[seconds]")
            fields["expires_after"] = {"anchor": anchor, "seconds": expiry}
        _validate("CreateFileRequest", fields)
        if len(uploads) != 1 or not uploads[0].filename:
            raise RequestRejected(400, "Expected exactly one 'file' part, with a filename.", param="file")
        upload = uploads[0]
        expiry = fields.get("expires_after")
        stored = self.files.add(
            upload.content,
            filename=str(upload.filename),
            purpose=fields["purpose"],
            expires_after=expiry["seconds"] if expiry else None,
        )
        # the content is on disk now: the record keeps the part's name and type, not a second copy
        record.files = [replace(each, content=b"") if each is upload else each for each in record.files]
        return stored.to_json()

    def _list_files(self, record: RecordedRequest) -> Any:
        order = _query(record, "order") or "desc"
        if order not in ("asc", "desc"):
            raise RequestRejected(400, f"Invalid 'order': {order!r} (expected 'asc' or 'desc').", param="order")
        limit = _limit(record, default=10_000, maximum=10_000)
        listed, has_more = self.files.listing(
            purpose=_query(record, "purpose"), order=order, after=_query(record, "after"), limit=limit
        )
        data = [stored.to_json() for stored in listed]
        # the spec requires both ids, as strings, even for an empty page
        first, last = (data[0]["id"], data[-1]["id"]) if data else ("", "")
        return {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": has_more}

    # -- batches ----------------------------------------------------------------------------------

    def _create_batch(self, record: RecordedRequest) -> Any:
        body = record.json or {}
        _validate("CreateBatchRequest", body)
        endpoint = body["endpoint"]
        if endpoint not in IMAGE_BATCH_ENDPOINTS:
            raise RequestRejected(
                400,
                f"The emulator only emulates the Images API: endpoint '{endpoint}' is not supported "
                f"(use {' or '.join(IMAGE_BATCH_ENDPOINTS)}).",
                param="endpoint",
                code="invalid_value",
            )
        _check_metadata(body.get("metadata"))
        input_file = body["input_file_id"]
        try:
            purpose = self.files.get(input_file).purpose
        except RequestRejected:
            raise RequestRejected(400, f"No such File object: {input_file}", param="input_file_id") from None
        if purpose != "batch":
            raise RequestRejected(
                400,
                f"The input file {input_file} has purpose '{purpose}': a batch reads a file of purpose 'batch'.",
                param="input_file_id",
            )
        return self.batches.create(body)

    def _list_batches(self, record: RecordedRequest) -> Any:
        data, has_more = self.batches.page(limit=_limit(record, default=20, maximum=100), after=_query(record, "after"))
        answer: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more}
        if data:
            answer.update(first_id=data[0]["id"], last_id=data[-1]["id"])
        return answer


def _validate(schema: str, body: dict[str, Any]) -> None:
    error = next(iter(batch_spec_validator(schema).iter_errors(body)), None)
    if error is not None:
        param = ".".join(str(part) for part in error.absolute_path) or None
        raise RequestRejected(400, f"Invalid request: {error.message}", param=param, code="invalid_value")


def _check_metadata(metadata: dict[str, str] | None) -> None:
    """At most 16 pairs, keys up to 64 characters, values up to 512 (the spec says it, not its schema)."""
    if not metadata:
        return
    if len(metadata) > _METADATA_PAIRS:
        raise RequestRejected(
            400, f"Invalid metadata: at most {_METADATA_PAIRS} pairs, got {len(metadata)}.", param="metadata"
        )
    for key, value in metadata.items():
        if len(key) > _METADATA_KEY:
            raise RequestRejected(
                400, f"Invalid metadata: key {key[:20]!r}... is over {_METADATA_KEY} characters.", param="metadata"
            )
        if len(value) > _METADATA_VALUE:
            raise RequestRejected(
                400, f"Invalid metadata: the value of {key!r} is over {_METADATA_VALUE} characters.", param="metadata"
            )


def _query(record: RecordedRequest, name: str) -> str | None:
    values = record.query.get(name)
    return values[-1] if values else None


def _limit(record: RecordedRequest, *, default: int, maximum: int) -> int:
    raw = _query(record, "limit")
    limit = default if raw is None else _integer(raw, "limit")
    if not 1 <= limit <= maximum:
        raise RequestRejected(400, f"Invalid 'limit': {limit} (expected 1 to {maximum}).", param="limit")
    return limit


def _integer(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise RequestRejected(400, f"Invalid integer for '{name}': {raw!r}", param=name) from None
