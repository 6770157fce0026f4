"""The emulated Files API: its store (:class:`FileStore`: file contents on disk, in a temporary directory the
emulator owns, and their records, ``OpenAIFile``, in memory) and its endpoints (:class:`FilesAPI`).

Contents never stay in memory: uploads and batch output files are written to the directory as they
come, and read back in chunks. The directory is made at the first file, emptied by :meth:`FileStore.clear`
and removed when the store is garbage collected or the interpreter exits. Deleted files stay listed
in :attr:`FileStore.records` with ``deleted=True``, so tests can assert a deletion.

Endpoints: ``POST /files`` (multipart ``file`` and ``purpose``), ``GET /files``, ``GET`` and ``DELETE
/files/{id}``, ``GET /files/{id}/content`` (streamed from disk), as the packaged
``openai-batch-files-openapi.yaml`` describes them; uploads are validated against it.
"""

from __future__ import annotations

import itertools
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images.testing.emulator.recordings import RecordedRequest
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected
from airflow_provider_openai_images.testing.emulator.server.parsing import object_id
from airflow_provider_openai_images.testing.emulator.server.query import integer, page_limit, query_value
from airflow_provider_openai_images.testing.emulator.server.replies import Reply, StreamedBody, json_reply
from airflow_provider_openai_images.testing.emulator.specs import check_against_batch_spec

#: the endpoints answered by :class:`FilesAPI`, as ``RecordedRequest.endpoint`` names them
FILE_ENDPOINTS = frozenset({"files", "file", "file_content"})

#: purpose ``batch`` files expire 30 days after their upload, as the Files API says
BATCH_FILE_TTL = 30 * 24 * 3600


class OpenAIFileJSON(TypedDict):
    """The spec's ``OpenAIFile``; ``expires_at`` only for files that expire."""

    id: str
    object: Literal["file"]
    bytes: int
    created_at: int
    expires_at: NotRequired[int]
    filename: str
    purpose: str
    status: Literal["processed"]


class DeleteFileJSON(TypedDict):
    """The spec's ``DeleteFileResponse``."""

    id: str
    object: Literal["file"]
    deleted: bool


@dataclass(frozen=True)
class FileRecord:
    """One file the emulator holds (or held: ``deleted``).

    :param size: its length in bytes (``OpenAIFile.bytes``).
    :param expires_at: Unix time it expires at, ``None`` if never.
    :param path: where its content is on disk (gone once deleted).
    """

    id: str
    purpose: str
    filename: str
    size: int
    created_at: int
    expires_at: int | None = None
    deleted: bool = False
    path: Path = field(default=Path(), repr=False, compare=False)
    #: order of creation, the listing's sort key (``created_at`` has a one-second resolution)
    sequence: int = field(default=0, repr=False, compare=False)

    def to_json(self) -> OpenAIFileJSON:
        answer = OpenAIFileJSON(
            id=self.id,
            object="file",
            bytes=self.size,
            created_at=self.created_at,
            filename=self.filename,
            purpose=self.purpose,
            status="processed",
        )
        if self.expires_at is not None:
            answer["expires_at"] = self.expires_at
        return answer

    def deletion_json(self) -> DeleteFileJSON:
        return DeleteFileJSON(id=self.id, object="file", deleted=self.deleted)


def no_such_file(file_id: str) -> RequestRejected:
    return RequestRejected(404, f"No such File object: {file_id}", param="id")


class FileStore:
    """Files by id, their contents in a temporary directory; thread-safe."""

    def __init__(self) -> None:
        self._records: dict[str, FileRecord] = {}
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)
        self._directory: Path | None = None
        self._cleanup: weakref.finalize | None = None

    def _home(self) -> Path:
        with self._lock:
            if self._directory is None:
                self._directory = Path(tempfile.mkdtemp(prefix="images-emulator-files-"))
                self._cleanup = weakref.finalize(self, shutil.rmtree, self._directory, True)
            return self._directory

    def add(
        self, content: bytes | Iterable[bytes], *, filename: str, purpose: str, expires_after: int | None = None
    ) -> FileRecord:
        """Store a new file; ``content`` may be an iterable of chunks, written one at a time.

        :param expires_after: seconds until it expires; by default purpose ``batch`` files expire
            after 30 days and others never.
        """
        file_id = f"file-{secrets.token_hex(12)}"
        path = self._home() / file_id
        size = 0
        with open(path, "wb") as handle:
            for chunk in [content] if isinstance(content, bytes) else content:
                handle.write(chunk)
                size += len(chunk)
        created = int(time.time())
        if expires_after is None and purpose == "batch":
            expires_after = BATCH_FILE_TTL
        expires_at = created + expires_after if expires_after is not None else None
        record = FileRecord(file_id, purpose, filename, size, created, expires_at, path=path)
        with self._lock:
            record = replace(record, sequence=next(self._sequence))
            self._records[file_id] = record
        return record

    def scratch(self) -> IO[bytes]:
        """An anonymous temporary file in the store's directory, gone once closed (batch spools)."""
        return tempfile.TemporaryFile(dir=self._home())

    def get(self, file_id: str) -> FileRecord:
        """The file, unless unknown or deleted (:class:`RequestRejected` 404)."""
        with self._lock:
            record = self._records.get(file_id)
        if record is None or record.deleted:
            raise no_such_file(file_id)
        return record

    def open(self, file_id: str) -> tuple[FileRecord, BinaryIO]:
        """The file and its content opened for reading (404 if unknown or deleted)."""
        record = self.get(file_id)
        try:
            return record, open(record.path, "rb")
        except FileNotFoundError:
            raise no_such_file(file_id) from None

    def read(self, file_id: str) -> bytes | None:
        """The whole content of a file (an input image), ``None`` if unknown or deleted."""
        try:
            _, handle = self.open(file_id)
        except RequestRejected:
            return None
        with handle:
            return handle.read()

    def delete(self, file_id: str) -> FileRecord:
        """Mark the file deleted and remove its content (404 if unknown or deleted already)."""
        with self._lock:
            record = self._records.get(file_id)
            if record is None or record.deleted:
                raise no_such_file(file_id)
            record = self._records[file_id] = replace(record, deleted=True)
        record.path.unlink(missing_ok=True)
        return record

    def listing(
        self, *, purpose: str | None, order: str, after: str | None, limit: int
    ) -> tuple[list[FileRecord], bool]:
        """Files not deleted, of ``purpose`` if given, by creation in ``order`` (``asc``/``desc``),
        those after the file ``after`` (400 if unknown), at most ``limit``; and whether more follow."""
        with self._lock:
            records = sorted(self._records.values(), key=lambda record: record.sequence, reverse=order == "desc")
            cursor = self._records.get(after) if after is not None else None
        if after is not None and cursor is None:
            raise RequestRejected(400, f"Invalid 'after': no such File object: {after}", param="after")
        if cursor is not None:
            position = cursor.sequence
            records = [r for r in records if (r.sequence < position if order == "desc" else r.sequence > position)]
        listed = [r for r in records if not r.deleted and purpose in (None, r.purpose)]
        return listed[:limit], len(listed) > limit

    @property
    def records(self) -> dict[str, FileRecord]:
        """Every file since the last :meth:`clear`, deleted ones included, by id in creation order."""
        with self._lock:
            return dict(self._records)

    def clear(self) -> None:
        """Forget every file and remove the directory (a new one is made at the next file)."""
        with self._lock:
            self._records.clear()
            directory, cleanup = self._directory, self._cleanup
            self._directory = self._cleanup = None
        if cleanup is not None:
            cleanup.detach()
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


class FilesAPI:
    """The Files API's endpoints over one :class:`FileStore`."""

    def __init__(self, files: FileStore) -> None:
        self.files = files
        self._handlers: dict[tuple[str, str], Callable[[RecordedRequest], Any]] = {
            ("files", "POST"): self._upload,
            ("files", "GET"): self._list,
            ("file", "GET"): lambda record: self.files.get(object_id(record.path)).to_json(),
            ("file", "DELETE"): lambda record: self.files.delete(object_id(record.path)).deletion_json(),
        }

    def answer(self, record: RecordedRequest, request_id: str) -> Reply:
        """Answer a request to one of :data:`FILE_ENDPOINTS` with a method it takes."""
        assert record.endpoint is not None
        if record.endpoint == "file_content":
            stored, handle = self.files.open(object_id(record.path))
            stream = StreamedBody(handle, stored.size)
            return Reply(
                200, content_type="application/octet-stream", headers={"x-request-id": request_id}, stream=stream
            )
        return json_reply(200, self._handlers[record.endpoint, record.method](record), request_id)

    def _upload(self, record: RecordedRequest) -> Any:
        uploads = [upload for upload in record.files if upload.field_name == "file"]
        fields: dict[str, Any] = {name: values[-1] for name, values in record.form.items()}
        if uploads:
            fields["file"] = "<binary>"
        seconds = fields.pop("expires_after[seconds]", None)
        anchor = fields.pop("expires_after[anchor]", None)
        if seconds is not None or anchor is not None:
            expiry = None if seconds is None else integer(seconds, "expires_after[seconds]")
            fields["expires_after"] = {"anchor": anchor, "seconds": expiry}
        check_against_batch_spec("CreateFileRequest", fields)
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

    def _list(self, record: RecordedRequest) -> Any:
        order = query_value(record, "order") or "desc"
        if order not in ("asc", "desc"):
            raise RequestRejected(400, f"Invalid 'order': {order!r} (expected 'asc' or 'desc').", param="order")
        limit = page_limit(record, default=10_000, maximum=10_000)
        listed, has_more = self.files.listing(
            purpose=query_value(record, "purpose"), order=order, after=query_value(record, "after"), limit=limit
        )
        data = [stored.to_json() for stored in listed]
        # the spec requires both ids, as strings, even for an empty page
        first, last = (data[0]["id"], data[-1]["id"]) if data else ("", "")
        return {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": has_more}
