"""Where a task instance's images go in S3: safe key segments and the key layout.

Image ``i`` of a task instance lands at ``{prefix}/{i:03d}.{ext}`` with its JSON sidecar at
``{prefix}/{i:03d}.json`` and its thumbnail at ``{prefix}/{i:03d}.thumb.webp``,
where the prefix is ``{s3_key_prefix}/{task_id}[/map-{map_index}]`` and
``s3_key_prefix`` defaults to ``openai-images/{dag_id}/{run_id}``. Light on purpose: DAG files may
import :func:`key_segment` (for example as a Jinja filter) at every parse.
"""

from __future__ import annotations

import re

_UNSAFE_KEY_CHARACTERS = re.compile(r"[^A-Za-z0-9._=-]+")


def key_segment(value: str) -> str:
    """``value`` made safe for one S3 key segment: ``manual__2026-01-01T00:00:00+00:00`` becomes
    ``manual__2026-01-01T00_00_00_00_00`` (``:`` and ``+`` break some S3 tools and URLs)."""
    return _UNSAFE_KEY_CHARACTERS.sub("_", value).strip("_") or "_"


def task_instance_prefix(
    s3_key_prefix: str | None, *, dag_id: str, run_id: str, task_id: str, map_index: int | None
) -> str:
    """The prefix one task instance owns: the same for every try of it, distinct from every other."""
    base = (s3_key_prefix or "").strip("/") or f"openai-images/{key_segment(dag_id)}/{key_segment(run_id)}"
    prefix = f"{base}/{key_segment(task_id)}"
    return f"{prefix}/map-{map_index}" if map_index is not None and map_index >= 0 else prefix


def image_key(prefix: str, index: int, extension: str) -> str:
    """The key of image ``index`` (``extension`` ``json`` for its sidecar)."""
    return f"{prefix}/{index:03d}.{extension}"


def thumbnail_key(prefix: str, index: int) -> str:
    """The key of image ``index``'s WEBP thumbnail: ``{prefix}/{index:03d}.thumb.webp``."""
    return image_key(prefix, index, "thumb.webp")
