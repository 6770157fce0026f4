"""The Batch API's JSON contracts for image requests: input lines, the batch object, output lines.

Pure (no Airflow, no HTTP). An input line carries one image request's JSON body: generations as the
synchronous endpoint takes them, edits as the spec's JSON edit body (``EditImageBodyJsonParam``), the
input images as base64 data URLs. Output and error files are read line by line with
:class:`LineSplitter`, which hands each line over as a ``bytearray`` the parser
(:mod:`~airflow_provider_openai_images.jobs.batch.output_lines`) reads in place, so a file of many multi-MB
lines never holds more than one of them, nor more than :data:`MAX_OUTPUT_LINE_BYTES` of any line.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images.core.models import ModelRules
from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, ImageFile, ImageRequest
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

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
#: The longest output or error line that is read, in bytes. The largest answer a line can carry is 16
#: images (``n`` is at most 10 today) of 3840x2160, the largest size, as 8-bit RGBA PNGs that do not
#: compress at all, in base64: 16 x 44.3 MB, about 709 MB; real answers are PNGs of a few MB. A line
#: over the cap is no answer of ours: the splitter skips it as it streams (memory holds the cap at
#: most, never the line) and hands over an :class:`OversizedLine` for it, a line of unknown item.
MAX_OUTPUT_LINE_BYTES = 1024 * 1024 * 1024


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
    """The spec's ``Error`` (and Azure's ``innererror.code``, which names its safety system)."""

    code: str | None
    message: str | None
    param: NotRequired[str]
    type: NotRequired[str]
    innererror: NotRequired[dict[str, str]]


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


class OversizedLine(bytearray):
    """Stands for a line longer than the splitter's cap, skipped as it streamed and never held: empty,
    with the line's ``size`` in bytes (a ``bytearray``, so that a stream of lines keeps one type)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size


class LineSplitter:
    """Chunks of a JSONL stream in, complete lines out, each a ``bytearray`` of its own.

    A line is handed over without being copied once whole: the buffer that received it becomes the
    line, and only the few bytes after its newline move to a new buffer. A line over ``max_line_bytes``
    (default :data:`MAX_OUTPUT_LINE_BYTES`) is dropped as soon as it is known to be, and the rest of it
    skipped as it arrives: an :class:`OversizedLine` stands for it, so memory never holds more than the
    cap and a chunk.
    """

    def __init__(self, max_line_bytes: int | None = None) -> None:
        self._buffer = bytearray()
        self._cap = MAX_OUTPUT_LINE_BYTES if max_line_bytes is None else max_line_bytes
        #: bytes of the over-cap line being skipped so far (``None``: none is)
        self._skipped: int | None = None

    def feed(self, chunk: bytes) -> Iterator[bytearray]:
        """The lines ``chunk`` completes (empty lines skipped)."""
        if self._skipped is not None:
            end = chunk.find(b"\n")
            if end < 0:
                self._skipped += len(chunk)
                return
            yield OversizedLine(self._skipped + end)
            self._skipped, chunk = None, chunk[end + 1 :]
        start = len(self._buffer)
        self._buffer += chunk
        while (end := self._buffer.find(b"\n", start)) >= 0:
            rest = self._buffer[end + 1 :]
            del self._buffer[end:]
            line, self._buffer, start = self._buffer, rest, 0
            yield from self._whole(line)
        if len(self._buffer) > self._cap:
            self._skipped, self._buffer = len(self._buffer), bytearray()

    def finish(self) -> Iterator[bytearray]:
        """The last line, if the stream did not end with a newline."""
        if self._skipped is not None:
            yield OversizedLine(self._skipped)
            self._skipped = None
        line, self._buffer = self._buffer, bytearray()
        yield from self._whole(line)

    def _whole(self, line: bytearray) -> Iterator[bytearray]:
        if len(line) > self._cap:
            yield OversizedLine(len(line))
        elif line and not line.isspace():  # (strip() would copy a multi-MB line)
            yield line
