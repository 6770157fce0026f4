"""What the emulator remembers: the requests it received, their uploaded files, and the downloads
from its image host."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request, as received."""

    field_name: str
    filename: str | None
    content_type: str | None
    content: bytes = field(repr=False)


@dataclass
class RecordedRequest:
    """One request the emulator received; secrets in headers are replaced by ``<redacted>``.

    ``endpoint`` names what was asked: ``generations``, ``edits``, ``variations``, ``models`` (the
    list), ``model`` (one model), or of the
    Files and Batch APIs ``files`` (upload, list), ``file`` (retrieve, delete), ``file_content``,
    ``batches`` (create, list), ``batch`` (retrieve), ``batch_cancel``. A file upload's part keeps its
    name and type but not its content, which is on disk (``emulator.files``).
    """

    method: str
    path: str
    endpoint: str | None
    query: dict[str, list[str]]
    headers: dict[str, str]
    auth_scheme: Literal["bearer", "api-key"] | None
    json: dict[str, Any] | None = None
    form: dict[str, list[str]] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    status: int | None = None
    fault: str | None = None
    billed_images: int = 0


@dataclass(frozen=True)
class DownloadRecord:
    """One request to the image host (where ``url`` responses point)."""

    path: str
    headers: dict[str, str]
    status: int
