"""A batch's input file: one JSONL line per request, written to a temporary file as the lines are made
(never the whole file in memory), checked against the Batch API's limits before anything is uploaded."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from airflow_provider_openai_images.core.batches import MAX_BATCH_REQUESTS, MAX_INPUT_FILE_BYTES, input_line
from airflow_provider_openai_images.core.requests import ImageRequest
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.jobs.batch.record import item_number

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.catalogue import ModelCatalogue


@dataclass
class InputFile:
    """A written input file: where it is, how large, how many lines. Remove it with :meth:`remove`."""

    path: str
    size: int
    lines: int

    def open(self) -> IO[bytes]:
        return open(self.path, "rb")

    def remove(self) -> None:
        if os.path.exists(self.path):
            os.remove(self.path)


def write_input_file(
    requests: Iterable[tuple[str, ImageRequest]], *, parameter: str = "prompts", catalogue: ModelCatalogue | None = None
) -> InputFile:
    """Write one line per ``(custom_id, request)``; each request is checked as it is written.

    :param parameter: what an error names, with the item's number (``prompts[3].size``).
    :param catalogue: the models' rules the requests are checked against (default: the packaged catalogue).
    :raises OpenAIImagesValidationError: for a request the Batch API cannot take, more than 50,000
        requests, or a file over 200 MB; nothing has been uploaded then.
    """
    handle, path = tempfile.mkstemp(prefix="openai-images-batch-", suffix=".jsonl")
    written = InputFile(path, 0, 0)
    try:
        with os.fdopen(handle, "wb") as file:
            for custom_id, request in requests:
                written.lines += 1
                if written.lines > MAX_BATCH_REQUESTS:
                    raise OpenAIImagesValidationError(
                        parameter, f"more than {MAX_BATCH_REQUESTS} requests", "at most 50,000 requests per batch"
                    )
                try:
                    line = input_line(custom_id, request, catalogue)
                except OpenAIImagesValidationError as error:
                    number = item_number(custom_id)
                    raise OpenAIImagesValidationError(
                        f"{parameter}[{number}].{error.parameter}", error.value, error.allowed, model=error.model
                    ) from None
                written.size += len(line)
                if written.size > MAX_INPUT_FILE_BYTES:
                    raise OpenAIImagesValidationError(
                        parameter,
                        f"an input file over {MAX_INPUT_FILE_BYTES // 2**20} MB at request {written.lines}",
                        "at most 200 MB per batch input file: fewer items per task, or smaller input images",
                    )
                file.write(line)
    except BaseException:
        written.remove()
        raise
    return written
