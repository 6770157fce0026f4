"""Batch output and error files with lines that are not the spec's, crafted from what the emulator
answered: each line of a batch's real files goes through a ``craft`` function, which keeps it, changes
it, or puts other lines (JSON objects, or raw bytes) in its place.

- :func:`crafted_batch`: new files stored with ``emulator.add_file``, and the batch object naming them
  (to land with ``land_batch``);
- :func:`craft_in_emulator`: the emulator itself writes the crafted lines into the next batch's files
  (for DAG runs, where the landing reads the batch the trigger polls).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from airflow_provider_openai_images.core.batches import BatchObject
from airflow_provider_openai_images.testing import ImagesAPIEmulator

Line = dict[str, Any]
#: one line of a batch's file, parsed -> the lines to write in its place
Craft = Callable[[Line], Iterable["Line | bytes"]]


def keep(line: Line) -> list[Line | bytes]:
    return [line]


def for_item(custom_id: str, change: Callable[[Line], Iterable[Line | bytes]]) -> Craft:
    """A craft that changes the line of ``custom_id`` (given a copy of it) and keeps the others."""

    def craft(line: Line) -> Iterable[Line | bytes]:
        return change(copy.deepcopy(line)) if line.get("custom_id") == custom_id else [line]

    return craft


def with_extra(craft: Craft, *extra: Line | bytes) -> Craft:
    """``craft``, and the ``extra`` lines after the file's first line."""
    added = False

    def crafted(line: Line) -> Iterable[Line | bytes]:
        nonlocal added
        lines = list(craft(line))
        if not added:
            added = True
            lines += extra
        return lines

    return crafted


def encoded(lines: Iterable[Line | bytes]) -> Iterator[bytes]:
    for line in lines:
        yield (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n"


def stored_lines(api: ImagesAPIEmulator, file_id: str) -> list[Line]:
    """The lines of one of the emulator's files, parsed."""
    return [json.loads(raw) for raw in api.files[file_id].path.read_bytes().splitlines() if raw.strip()]


def crafted_batch(
    api: ImagesAPIEmulator, batch: BatchObject, *, output: Craft = keep, errors: Craft = keep
) -> BatchObject:
    """``batch`` with its output and error files replaced by crafted copies (stored with ``add_file``)."""
    crafted: dict[str, Any] = dict(batch)
    for key, craft in (("output_file_id", output), ("error_file_id", errors)):
        file_id = crafted.get(key)
        if isinstance(file_id, str):
            lines = [new for line in stored_lines(api, file_id) for new in craft(line)]
            stored = api.add_file(b"".join(encoded(lines)), filename=f"crafted-{key}.jsonl", purpose="batch_output")
            crafted[key] = stored.id
    result: BatchObject = crafted  # type: ignore[assignment]
    return result


def craft_in_emulator(monkeypatch: pytest.MonkeyPatch, *, output: Craft = keep, batches: int = 1) -> None:
    """The emulator writes the output files of its next ``batches`` batches through ``output``."""
    from airflow_provider_openai_images.testing.emulator.batches import output as batch_output

    shuffled = batch_output.Spool.shuffled
    left = batches

    def crafted(self: Any, seed: str) -> Iterator[bytes]:
        nonlocal left
        if not seed.endswith(":output") or left <= 0:
            yield from shuffled(self, seed)
            return
        left -= 1
        for raw in shuffled(self, seed):
            yield from encoded(output(json.loads(raw)))

    monkeypatch.setattr(batch_output.Spool, "shuffled", crafted)


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()
