"""The Batch API's JSON contracts for image requests: input lines, the batch object, output lines.

Pure (no Airflow, no HTTP). An input line carries one image request's JSON body: generations as the
synchronous endpoint takes them, edits as the spec's JSON edit body (``EditImageBodyJsonParam``), the
input images as base64 data URLs. Output and error files are read line by line with
:class:`LineSplitter`, which hands each line over as a ``bytearray`` the parser reads in place, so a
file of many multi-MB lines never holds more than one of them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images.core.models import ModelRules
from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, ImageFile, ImageRequest
from airflow_provider_openai_images.core.responses import ImagesResponse
from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError, OpenAIImagesValidationError

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.catalogue import ModelCatalogue

BatchStatus = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]
#: statuses after which a batch changes no more; its output and error files (if any) are final
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "expired", "cancelled"})
#: the Batch API's limits on one input file
MAX_BATCH_REQUESTS = 50_000
MAX_INPUT_FILE_BYTES = 200 * 1024 * 1024
#: the endpoints a batch of image requests may name, by request endpoint
BATCH_ENDPOINTS = {"generations": "/v1/images/generations", "edits": "/v1/images/edits"}
#: metadata limits: 16 pairs, keys up to 64 characters, values up to 512
MAX_METADATA_VALUE = 512


class BatchRequestCounts(TypedDict):
    total: int
    completed: int
    failed: int


class BatchObject(TypedDict):
    """The part of the spec's ``Batch`` this provider reads."""

    id: str
    status: BatchStatus
    endpoint: str
    input_file_id: str
    created_at: int
    output_file_id: NotRequired[str | None]
    error_file_id: NotRequired[str | None]
    request_counts: NotRequired[BatchRequestCounts | None]
    metadata: NotRequired[dict[str, str] | None]
    errors: NotRequired[dict[str, Any] | None]


class FileObject(TypedDict):
    """The part of the spec's ``OpenAIFile`` this provider reads."""

    id: str
    bytes: int
    filename: str
    purpose: str


class BatchLineResponse(TypedDict):
    status_code: int
    request_id: str | None
    body: dict[str, Any]


class BatchLineError(TypedDict):
    code: str | None
    message: str | None


class BatchOutputLine(TypedDict):
    """One line of a batch's output or error file."""

    id: str
    custom_id: str
    response: BatchLineResponse | None
    error: BatchLineError | None


def input_line(custom_id: str, request: ImageRequest, catalogue: ModelCatalogue | None = None) -> bytes:
    """One input-file line (``\\n``-terminated) for ``request``, checked as the synchronous call would be.

    :raises OpenAIImagesValidationError: for a request the Batch API cannot take (variations; DALL-E edits,
        which only the multipart endpoint accepts) or that cannot succeed.
    """
    endpoint = BATCH_ENDPOINTS.get(request.endpoint)
    if endpoint is None:
        raise OpenAIImagesValidationError(
            "use_batch_api", True, "generations or edits: the Batch API takes no variations"
        )
    rules = request.validate(catalogue)
    line = {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": request_body(request, rules)}
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"


def request_body(request: ImageRequest, rules: ModelRules | None) -> dict[str, Any]:
    """The JSON body of ``request`` (whose model has ``rules``): a generation's, or an edit's
    ``EditImageBodyJsonParam`` with its images, mask and markup as data URLs."""
    values = {**request.parameters(), **(request.extra_body or {})}
    if isinstance(request, GenerateRequest):
        return values
    if isinstance(request, EditRequest):
        if rules is not None and not rules.is_gpt_image:
            raise OpenAIImagesValidationError(
                "model", request.model, "a GPT image model: the Batch API takes JSON edits, which DALL-E cannot"
            )
        body = {**values, "images": [_image_ref(image) for image in request.images]}
        if request.mask is not None:
            body["mask"] = _image_ref(request.mask)
        if request.markup is not None:
            body["markup"] = _image_ref(request.markup)
        return body
    raise OpenAIImagesValidationError("use_batch_api", True, "generations or edits: the Batch API takes no variations")


def _image_ref(image: ImageFile) -> dict[str, str]:
    return {"image_url": f"data:{image.content_type};base64,{base64.b64encode(image.content).decode('ascii')}"}


def batch_metadata(pairs: dict[str, Any]) -> dict[str, str]:
    """``pairs`` as batch metadata: strings, each value cut to the API's 512 characters."""
    return {key[:64]: str(value)[:MAX_METADATA_VALUE] for key, value in list(pairs.items())[:16]}


@dataclass(frozen=True)
class LineResult:
    """What one output or error line says about its request.

    :param response: the answer, for a line with status 200.
    :param status_code: the request's HTTP status (``None`` when it was never executed: expired, cancelled).
    :param error: the API's error object for a refused request, or the batch's error for one never executed.
    """

    custom_id: str
    response: ImagesResponse | None
    status_code: int | None
    request_id: str | None
    error: dict[str, Any] | None


def parse_output_line(raw: bytes | bytearray) -> LineResult:
    """Parse one line of an output or error file.

    A ``bytearray`` is consumed: each image's base64 text is decoded straight from the line's buffer and
    cut out of it before the rest is parsed, and the buffer is emptied once decoded to text, so a
    multi-MB line is never held twice over as text (see :func:`take_base64_images`).

    :raises OpenAIImagesResponseError: for a line that is not one the spec describes.
    """
    size = len(raw)
    decoded = take_base64_images(raw) if isinstance(raw, bytearray) else []
    try:
        text = raw.decode()
        if isinstance(raw, bytearray):
            raw.clear()
        line = json.loads(text)
    except (ValueError, UnicodeDecodeError) as not_json:
        raise OpenAIImagesResponseError(f"A batch output line is not JSON ({size} bytes): {not_json}") from None
    del text
    if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
        raise OpenAIImagesResponseError("A batch output line has no custom_id")
    custom_id = line["custom_id"]
    response = line.get("response")
    if not isinstance(response, dict):
        never_run = line.get("error") if isinstance(line.get("error"), dict) else {"message": "no response"}
        return LineResult(custom_id, None, None, None, never_run)
    status, request_id, body = response.get("status_code"), response.get("request_id"), response.get("body")
    if status == 200:
        answer = ImagesResponse.from_json(body, request_id=request_id, decoded=_cut_images(body, decoded))
        return LineResult(custom_id, answer, 200, request_id, None)
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    return LineResult(custom_id, None, status if isinstance(status, int) else None, request_id, error or {})


#: where a base64 image starts in a line: the value of a ``b64_json`` key
_B64_VALUE = re.compile(rb'"b64_json"\s*:\s*"')


def take_base64_images(raw: bytearray) -> list[bytes]:
    """Decode every ``b64_json`` value of the line in ``raw`` straight from its buffer (no text copy),
    and cut each decoded value out of the line, leaving ``"b64_json": ""``; the images, in order.

    A value that is not plain base64 (an escape, a bad character) is left in the line, to be decoded,
    or refused, with its image later. Needs Python 3.11 (``a2b_base64``'s strict mode); older Pythons
    leave every value in the line.
    """
    if sys.version_info < (3, 11):
        return []
    spans = []
    position = 0
    while (found := _B64_VALUE.search(raw, position)) is not None:
        start = found.end()
        end = raw.find(b'"', start)
        if end < 0:
            break
        spans.append((start, end))
        position = end + 1
    images: list[bytes] = []
    for start, end in reversed(spans):  # from the end, so that cutting leaves the other spans in place
        if start == end or raw.find(b"\\", start, end) >= 0:
            images.append(b"")
            continue
        with memoryview(raw) as view:
            try:
                images.append(binascii.a2b_base64(view[start:end], strict_mode=True))
            except binascii.Error:
                images.append(b"")
                continue
        del raw[start:end]
    return images[::-1]


def _cut_images(body: Any, decoded: list[bytes]) -> dict[int, bytes]:
    """Image number -> bytes, for the images of ``body`` whose base64 was cut out of the line."""
    data = body.get("data") if isinstance(body, dict) else None
    if not decoded or not isinstance(data, list):
        return {}
    cut: dict[int, bytes] = {}
    values = iter(decoded)
    for number, item in enumerate(data):
        if isinstance(item, dict) and "b64_json" in item:
            content = next(values, b"")
            if content and item["b64_json"] == "":
                cut[number] = content
    return cut


class LineSplitter:
    """Chunks of a JSONL stream in, complete lines out, each a ``bytearray`` of its own.

    A line is handed over without being copied once whole: the buffer that received it becomes the
    line, and only the few bytes after its newline move to a new buffer.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[bytearray]:
        """The lines ``chunk`` completes (empty lines skipped)."""
        start = len(self._buffer)
        self._buffer += chunk
        while (end := self._buffer.find(b"\n", start)) >= 0:
            rest = self._buffer[end + 1 :]
            del self._buffer[end:]
            line, self._buffer, start = self._buffer, rest, 0
            if line and not line.isspace():  # (strip() would copy a multi-MB line)
                yield line

    def finish(self) -> Iterator[bytearray]:
        """The last line, if the stream did not end with a newline."""
        line, self._buffer = self._buffer, bytearray()
        if line and not line.isspace():
            yield line
