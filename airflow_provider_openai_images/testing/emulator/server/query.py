"""The arguments of the Files and Batch APIs' list and upload requests read from a recorded request: a
query-string value, a page ``limit`` within bounds, an integer field; each refusal a 400 naming the
parameter, as the API words it."""

from __future__ import annotations

from airflow_provider_openai_images.testing.emulator.recordings import RecordedRequest
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected


def query_value(record: RecordedRequest, name: str) -> str | None:
    """The last value of the query-string parameter ``name``, ``None`` if absent."""
    values = record.query.get(name)
    return values[-1] if values else None


def page_limit(record: RecordedRequest, *, default: int, maximum: int) -> int:
    """The ``limit`` query parameter (``default`` if absent): an integer from 1 to ``maximum``."""
    raw = query_value(record, "limit")
    limit = default if raw is None else integer(raw, "limit")
    if not 1 <= limit <= maximum:
        raise RequestRejected(400, f"Invalid 'limit': {limit} (expected 1 to {maximum}).", param="limit")
    return limit


def integer(raw: str, name: str) -> int:
    """``raw``, the value of the parameter ``name``, as an integer."""
    try:
        return int(raw)
    except ValueError:
        raise RequestRejected(400, f"Invalid integer for '{name}': {raw!r}", param=name) from None
