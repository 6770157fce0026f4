"""The lines of a batch's output and error files that name none of the requests it was sent (or that
could not be read far enough to say which they name): the landing goes on past each, and lists it, so
that the manifest and the batch record say what the files held that landed nowhere.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_openai_images.jobs.batch.record import UnknownLine

log = logging.getLogger(__name__)
#: unknown lines listed one by one per batch; any more are summed up in one last entry (the batch's
#: files are kept then, so each line can still be read), which bounds the record and the manifest
MAX_LISTED_UNKNOWN_LINES = 100


class UnknownLines:
    """The unknown lines of one batch's landing, in the order they were read.

    :param batch_id: the batch whose files are read.
    """

    def __init__(self, batch_id: str, logger: logging.Logger | Any = log) -> None:
        self.batch_id = batch_id
        self.log = logger
        self.count = 0
        self._listed: list[UnknownLine] = []
        self._unlisted: UnknownLine | None = None

    def __len__(self) -> int:
        return self.count

    def add(self, file_id: str, line: int, size: int, custom_id: str | None, message: str) -> None:
        """Note line ``line`` (of ``size`` bytes) of file ``file_id``, which gave ``custom_id``."""
        self.count += 1
        shown = custom_id if custom_id is None or len(custom_id) <= 100 else f"{custom_id[:97]}..."
        if len(self._listed) < MAX_LISTED_UNKNOWN_LINES:
            self.log.warning("Batch %s: line %d of file %s (%d bytes, custom_id %r) %s; going on with the next line",
                             self.batch_id, line, file_id, size, shown, message)  # fmt: skip
            entry: UnknownLine = {"batch_id": self.batch_id, "file_id": file_id, "line": line, "size_bytes": size,
                                  "custom_id": shown, "message": message}  # fmt: skip
            self._listed.append(entry)
        elif self._unlisted is None:
            self._unlisted = {"batch_id": self.batch_id, "file_id": file_id, "line": line, "size_bytes": size,
                              "custom_id": None, "message": ""}  # fmt: skip
        else:
            self._unlisted["size_bytes"] += size

    def entries(self) -> list[UnknownLine]:
        """The listed lines, then one entry for all the others (from the first of them), if any."""
        if self._unlisted is None:
            return list(self._listed)
        first, more = self._unlisted, self.count - len(self._listed)
        message = (
            f"and {more} more lines naming none of the batch's requests, from line {first['line']} of file "
            f"{first['file_id']} on ({first['size_bytes']} bytes in all): not listed, the batch's files are kept"
        )
        return [*self._listed, {**first, "message": message}]


def merged_unknown_lines(earlier: list[UnknownLine], batch_id: str, landed: list[UnknownLine]) -> list[UnknownLine]:
    """The task instance's unknown lines once batch ``batch_id`` has landed ``landed``: the earlier
    batches' first, then its own (a landing run again replaces its own, rather than adding them twice)."""
    return [entry for entry in earlier if entry["batch_id"] != batch_id] + landed
