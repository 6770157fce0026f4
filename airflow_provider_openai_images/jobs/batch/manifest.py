"""The manifest entries of a batch's unknown lines: lines of its output or error files that named none of
its requests, one entry each after the items' records (``"item": null``, ``"status": "unknown_line"``; see
:func:`~airflow_provider_openai_images.jobs.outcome.write_manifest`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from airflow_provider_openai_images.jobs.batch.record import UnknownLine


class UnknownLineEntry(UnknownLine):
    """A manifest line for an unknown line: no item, and the unknown line's fields."""

    item: None
    status: Literal["unknown_line"]


def unknown_line_entries(unknown_lines: Sequence[UnknownLine]) -> list[UnknownLineEntry]:
    """The manifest entries of ``unknown_lines``."""
    return [{"item": None, "status": "unknown_line", **line} for line in unknown_lines]
