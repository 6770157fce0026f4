"""The Batch API's endpoints: a parsed request in, the answer's JSON out (or :class:`RequestRejected`), over
the :class:`~.store.BatchStore` and the Files API's store (a batch's input file).

``POST`` and ``GET /batches``, ``GET /batches/{id}`` and ``POST /batches/{id}/cancel``, as the packaged
``openai-batch-files-openapi.yaml`` describes them; request bodies are validated against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_openai_images.testing.emulator.batches.store import BatchStore
from airflow_provider_openai_images.testing.emulator.files import FileStore
from airflow_provider_openai_images.testing.emulator.recordings import RecordedRequest
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected
from airflow_provider_openai_images.testing.emulator.server.parsing import object_id
from airflow_provider_openai_images.testing.emulator.server.query import page_limit, query_value
from airflow_provider_openai_images.testing.emulator.server.replies import Reply, json_reply
from airflow_provider_openai_images.testing.emulator.specs import check_against_batch_spec

#: the endpoints answered here, as ``RecordedRequest.endpoint`` names them
BATCH_ENDPOINTS = frozenset({"batches", "batch", "batch_cancel"})
#: the batch endpoints the emulator serves (it emulates the Images API only)
IMAGE_BATCH_ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")
_METADATA_PAIRS, _METADATA_KEY, _METADATA_VALUE = 16, 64, 512


class BatchAPI:
    """The Batch API of one emulator.

    :param files: the Files API's store, where a batch's input file must be, of purpose ``batch``.
    """

    def __init__(self, batches: BatchStore, files: FileStore) -> None:
        self.batches = batches
        self.files = files
        self._handlers: dict[tuple[str, str], Callable[[RecordedRequest], Any]] = {
            ("batches", "POST"): self._create,
            ("batches", "GET"): self._list,
            ("batch", "GET"): lambda record: self.batches.json(object_id(record.path)),
            ("batch_cancel", "POST"): lambda record: self.batches.cancel(object_id(record.path)),
        }

    def answer(self, record: RecordedRequest, request_id: str) -> Reply:
        """Answer a request to one of :data:`BATCH_ENDPOINTS` with a method it takes."""
        assert record.endpoint is not None
        return json_reply(200, self._handlers[record.endpoint, record.method](record), request_id)

    def _create(self, record: RecordedRequest) -> Any:
        body = record.json or {}
        check_against_batch_spec("CreateBatchRequest", body)
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

    def _list(self, record: RecordedRequest) -> Any:
        limit = page_limit(record, default=20, maximum=100)
        data, has_more = self.batches.page(limit=limit, after=query_value(record, "after"))
        answer: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more}
        if data:
            answer.update(first_id=data[0]["id"], last_id=data[-1]["id"])
        return answer


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
