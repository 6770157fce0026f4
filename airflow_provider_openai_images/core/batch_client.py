"""``AsyncBatchClient``: the Files and Batch APIs over ``httpx.AsyncClient``, for batches of image requests.

The same settings, key handling, attempt log, typed errors and retry schedule as the Images API
clients (:mod:`~airflow_provider_openai_images.core.exchange`). One call is never retried blindly:
creating a batch. A ``POST /batches`` whose answer was lost may have created the batch, and a second
one would be paid for again, so such a failure is raised at once (``possibly_billed``) and the caller
looks the batch up by its metadata (:meth:`AsyncBatchClient.find_batch`) before trying again.
File contents are streamed: :meth:`AsyncBatchClient.file_lines` yields lines, never the whole file.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Mapping
from typing import IO, Any

import httpx
import tenacity

from airflow_provider_openai_images.core.async_client import AsyncImagesClient
from airflow_provider_openai_images.core.batches import TERMINAL_STATUSES, BatchObject, FileObject, LineSplitter
from airflow_provider_openai_images.core.exchange import AttemptLog, Call, retrying_options
from airflow_provider_openai_images.core.requests import HTTPBody
from airflow_provider_openai_images.core.transport_errors import transport_failure
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesAPIError,
    OpenAIImagesError,
    OpenAIImagesResponseError,
)

#: how far back :meth:`AsyncBatchClient.find_batch` looks: a batch runs for 24 hours at most
_FIND_WINDOW_SECONDS = 48 * 3600
_FIND_MAX_PAGES = 20
_CHUNK = 64 * 1024


class AsyncBatchClient(AsyncImagesClient):
    """The Images API client, plus what a batch of image requests needs from the Files and Batch APIs.

    :param settings: where and how to connect (the Images API's connection settings).
    :param transport: an httpx async transport (tests, proxies); default is a plain HTTP transport.
    """

    async def upload_file(self, file: IO[bytes], filename: str, *, purpose: str = "batch") -> FileObject:
        """``POST /files``: upload ``file`` (read from the start, in chunks: never all of it in memory)."""
        body = HTTPBody(data={"purpose": purpose}, files=[("file", (filename, file, "application/jsonl"))])
        return await self._run(Call.for_path(self.settings, "POST", "files", body=body), _object("file"))

    async def delete_file(self, file_id: str) -> bool:
        """``DELETE /files/{id}``; a file already gone counts as deleted."""
        call = Call.for_path(self.settings, "DELETE", f"files/{file_id}")
        try:
            answer = await self._run(call, _object("file"))
        except OpenAIImagesAPIError as error:
            if error.status_code == 404:
                return True
            raise
        return bool(answer.get("deleted"))

    async def create_batch(self, input_file_id: str, endpoint: str, metadata: Mapping[str, str]) -> BatchObject:
        """``POST /batches`` (``completion_window`` 24h). Not retried once it may have reached the server.

        :raises OpenAIImagesError: with ``possibly_billed`` set when the batch may exist all the same
            (find it with :meth:`find_batch`).
        """
        body = HTTPBody(
            json={
                "input_file_id": input_file_id,
                "endpoint": endpoint,
                "completion_window": "24h",
                "metadata": dict(metadata),
            }
        )
        once_processed = dataclasses.replace(self.settings.retry, retry_possibly_billed=False)
        call = Call.for_path(self.settings, "POST", "batches", body=body)
        batch: BatchObject = await self._run(call, _object("batch"), retry=once_processed)
        return batch

    async def retrieve_batch(self, batch_id: str) -> BatchObject:
        """``GET /batches/{id}``."""
        batch: BatchObject = await self._run(
            Call.for_path(self.settings, "GET", f"batches/{batch_id}"), _object("batch")
        )
        return batch

    async def cancel_batch(self, batch_id: str) -> BatchObject:
        """``POST /batches/{id}/cancel``; a batch that has ended already is returned as it is."""
        try:
            call = Call.for_path(self.settings, "POST", f"batches/{batch_id}/cancel")
            batch: BatchObject = await self._run(call, _object("batch"))
        except OpenAIImagesAPIError as error:
            if error.status_code not in (400, 409):
                raise
            batch = await self.retrieve_batch(batch_id)
            if batch["status"] not in TERMINAL_STATUSES:
                raise
        return batch

    async def list_batches(self, *, after: str | None = None, limit: int = 100) -> dict[str, Any]:
        """One page of ``GET /batches`` (newest first)."""
        query = {"limit": str(limit), **({"after": after} if after else {})}
        return await self._run(Call.for_path(self.settings, "GET", "batches", query=query), _object("list"))

    async def find_batch(self, metadata: Mapping[str, str], *, endpoint: str) -> BatchObject | None:
        """The newest batch of ``endpoint`` whose metadata holds every pair of ``metadata``, among the
        batches created in the last 48 hours (``None`` if there is none)."""
        oldest = time.time() - _FIND_WINDOW_SECONDS
        after: str | None = None
        for _ in range(_FIND_MAX_PAGES):
            page = await self.list_batches(after=after)
            batches: list[BatchObject] = page.get("data") or []
            for batch in batches:
                own = batch.get("metadata") or {}
                if batch.get("endpoint") == endpoint and all(own.get(k) == v for k, v in metadata.items()):
                    return batch
            if not page.get("has_more") or not batches or batches[-1].get("created_at", 0) < oldest:
                return None
            after = batches[-1]["id"]
        return None

    async def file_lines(self, file_id: str) -> AsyncIterator[bytearray]:
        """The lines of a file's content (``GET /files/{id}/content``), streamed: each line is a
        ``bytearray`` of its own, and no more than one line and one chunk are held at a time.

        Opening the stream is retried as any call is; a stream cut midway raises
        :class:`OpenAIImagesConnectionError` (the lines already yielded stay yielded).
        """
        call = Call.for_path(self.settings, "GET", f"files/{file_id}/content")
        response = await self._open_stream(call)
        splitter = LineSplitter()
        try:
            async for chunk in response.aiter_bytes(_CHUNK):
                for line in splitter.feed(chunk):
                    yield line
            for line in splitter.finish():
                yield line
        except httpx.TransportError as error:
            raise transport_failure(call.label, error) from error
        finally:
            await response.aclose()

    async def _open_stream(self, call: Call) -> httpx.Response:
        """A 2xx response whose body is still to be read, with the retries any call has."""
        attempts = AttemptLog(call, self._log)
        retrying = tenacity.AsyncRetrying(
            sleep=self._sleep, **retrying_options(self.settings.retry, call.label, self._log)
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts.start()
                    request = self._http.build_request(call.method, call.url, params=call.params)
                    try:
                        response = await self._http.send(request, stream=True)
                    except httpx.TransportError as error:
                        raise attempts.failed_to_send(error) from error
                    if response.is_success:
                        return attempts.answered(response, lambda answered: answered)
                    await response.aread()
                    await response.aclose()
                    attempts.answered(response, lambda answered: answered)  # raises the typed refusal
        except OpenAIImagesError as error:
            attempts.gave_up(error)
            raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")


def _object(kind: str) -> Any:
    """A parser of JSON answers whose ``object`` is ``kind`` (``file``, ``batch``, ``list``)."""

    def parse(response: httpx.Response) -> Any:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or payload.get("object", kind) != kind:
            raise OpenAIImagesResponseError(
                f"Expected a {kind} object, got {response.headers.get('content-type', 'no content type')} "
                f"({len(response.content)} bytes)",
                status_code=response.status_code,
            )
        return payload

    return parse
