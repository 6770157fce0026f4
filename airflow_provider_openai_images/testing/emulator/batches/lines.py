"""A batch's input file, checked as the Batch API checks it while ``validating``, and read back one
line at a time while ``in_progress``.

File-level problems fail the whole batch, with one ``BatchError`` per problem (1-based ``line``):
a file over 200 MB or of more than 50,000 requests, an empty one, a line that is not JSON or not an
object, a missing or non-string ``custom_id``, a duplicate ``custom_id``, a ``method`` other than
``POST`` and a ``url`` other than the batch's ``endpoint``. A line's ``body`` is checked only when the
line is executed: a refused body is that line's error, in the error file.

Only the offsets of the lines are kept: bodies (base64 images in edits) are read again when executed.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO, NamedTuple

from typing_extensions import TypedDict

#: the Batch API's limits on an input file
MAX_LINES = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024
#: the model a request without one gets, by batch endpoint
DEFAULT_MODELS = {"/v1/images/generations": "dall-e-2", "/v1/images/edits": "gpt-image-1.5"}


class BatchErrorJSON(TypedDict):
    """The spec's ``BatchError``."""

    code: str
    message: str
    param: str | None
    line: int | None


class InputLine(NamedTuple):
    """One valid line of an input file: where it is, to read its body when it is executed."""

    number: int
    custom_id: str
    offset: int
    length: int


class CheckedInput(NamedTuple):
    """The outcome of validation: the lines (if valid), the errors (if not), the first line's model."""

    lines: list[InputLine]
    errors: list[BatchErrorJSON]
    model: str | None


def _error(code: str, message: str, *, param: str | None = None, line: int | None = None) -> BatchErrorJSON:
    return BatchErrorJSON(code=code, message=message, param=param, line=line)


def check_input(handle: BinaryIO, size: int, endpoint: str) -> CheckedInput:
    """Validate an input file, read from ``handle`` one line at a time."""
    if size > MAX_FILE_BYTES:
        message = f"The input file is {size} bytes: a batch input file may hold at most {MAX_FILE_BYTES} bytes."
        return CheckedInput([], [_error("file_too_large", message)], None)
    lines: list[InputLine] = []
    errors: list[BatchErrorJSON] = []
    seen: set[str] = set()
    model: str | None = None
    offset, number = 0, 0
    for raw in handle:
        number += 1
        start, offset = offset, offset + len(raw)
        if not raw.strip():
            continue
        problem, decoded = _line_problem(raw, number, endpoint, seen)
        if problem is not None:
            errors.append(problem)
            continue
        if not lines:
            body = decoded.get("body")
            chosen = body.get("model") if isinstance(body, dict) else None
            model = chosen if isinstance(chosen, str) else DEFAULT_MODELS.get(endpoint)
        lines.append(InputLine(number, decoded["custom_id"], start, len(raw)))
    count = len(lines) + len(errors)
    if count > MAX_LINES:
        message = f"The input file holds {count} requests: a batch may hold at most {MAX_LINES}."
        errors.insert(0, _error("too_many_tasks", message))
    elif count == 0:
        errors.append(_error("empty_file", "The input file is empty."))
    return CheckedInput(lines if not errors else [], errors, model)


def _line_problem(raw: bytes, number: int, endpoint: str, seen: set[str]) -> tuple[BatchErrorJSON | None, Any]:
    try:
        decoded = json.loads(raw)
    except ValueError:
        return _error("invalid_json_line", "This line is not parseable as valid JSON.", line=number), None
    if not isinstance(decoded, dict):
        return _error("invalid_json_line", "This line is not a JSON object.", line=number), None
    custom_id = decoded.get("custom_id")
    if custom_id is None:
        message = "Missing required parameter: 'custom_id'."
        return _error("missing_required_parameter", message, param="custom_id", line=number), None
    if not isinstance(custom_id, str):
        message = f"Invalid type for 'custom_id': expected a string, got {type(custom_id).__name__}."
        return _error("invalid_type", message, param="custom_id", line=number), None
    if custom_id in seen:
        message = f"The custom_id '{custom_id}' is used by more than one request: each must be unique."
        return _error("duplicate_custom_id", message, param="custom_id", line=number), None
    seen.add(custom_id)
    if decoded.get("method") != "POST":
        message = f"Invalid method {decoded.get('method')!r}: batch requests use 'POST'."
        return _error("invalid_method", message, param="method", line=number), None
    if decoded.get("url") != endpoint:
        message = f"The URL {decoded.get('url')!r} does not match the batch's endpoint '{endpoint}'."
        return _error("url_mismatch", message, param="url", line=number), None
    return None, decoded


def read_body(handle: BinaryIO, line: InputLine) -> Any:
    """The ``body`` of a line validated by :func:`check_input` (``None`` if it has none)."""
    handle.seek(line.offset)
    return json.loads(handle.read(line.length)).get("body")
