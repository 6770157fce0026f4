"""Where a task instance's images go in S3: safe key segments and the key layout.

Image ``i`` of a task instance lands at ``{prefix}/{i:03d}.{ext}`` with its JSON sidecar at
``{prefix}/{i:03d}.json`` and its thumbnail at ``{prefix}/{i:03d}.thumb.webp``,
where the prefix is ``{s3_key_prefix}/{task_id}[/map-{map_index}]`` and
``s3_key_prefix`` defaults to ``openai-images/{dag_id}/{run_id}``. Light on purpose: DAG files may
import :func:`key_segment` (for example as a Jinja filter) at every parse.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE_KEY_CHARACTERS = re.compile(r"[^A-Za-z0-9._=-]+")
#: what a sanitised segment ends with: ``--h`` and 12 hex digits of the raw value's SHA-256
_HASHED = re.compile(r".*--h[0-9a-f]{12}", re.DOTALL)


def key_segment(value: str) -> str:
    """``value`` made safe for one S3 key segment, and never the segment of another value.

    A value that is safe already stays as it is (``scheduled__2026-01-01`` and existing prefixes keep
    working). Any other gets its unsafe runs replaced by ``_`` and a short hash of the raw value:
    ``manual__2026-01-01T00:00:00+00:00`` becomes ``manual__2026-01-01T00_00_00_00_00--h`` and 12 hex digits
    (``:`` and ``+`` break some S3 tools and URLs; without the hash, ``nightly:1`` and ``nightly+1`` would
    share one prefix and one run would take the other's images). ``.``, ``..`` and values that look hashed
    already count as unsafe.
    """
    safe = _UNSAFE_KEY_CHARACTERS.sub("_", value).strip("_") or "_"
    if safe == value and value not in (".", "..") and not _HASHED.fullmatch(value):
        return value
    return f"{safe[:100]}--h{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


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
