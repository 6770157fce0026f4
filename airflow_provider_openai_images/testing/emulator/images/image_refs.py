"""The images of a JSON edit (``EditImageBodyJsonParam``), fetched as the API fetches them, offline.

An ``ImageRefParam`` names an image by ``image_url`` (a base64 data URL, decoded here; a plain http(s)
URL is refused, the emulator being offline) or by ``file_id`` (a file of the emulator's Files API, of
any purpose). Each comes out as the :class:`UploadedFile` a multipart edit would have carried, so the
same upload checks apply to both kinds of edit.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from airflow_provider_openai_images.testing.emulator.recordings import UploadedFile
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected

#: ``read_file(file_id)``: a file's content, ``None`` if there is no such file
ReadFile = Callable[[str], "bytes | None"]

_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def resolve_images(body: dict[str, Any], read_file: ReadFile | None) -> dict[str, list[UploadedFile]]:
    """The uploads a JSON edit's ``images`` and ``mask`` stand for, as a multipart edit's ``image``
    and ``mask`` parts (raises :class:`RequestRejected`)."""
    uploads = {"image": [_resolve(ref, f"images[{index}]", read_file) for index, ref in enumerate(body["images"])]}
    if body.get("mask") is not None:
        uploads["mask"] = [_resolve(body["mask"], "mask", read_file)]
    return uploads


def _resolve(ref: dict[str, Any], parameter: str, read_file: ReadFile | None) -> UploadedFile:
    field_name = "mask" if parameter == "mask" else "image"
    if "file_id" in ref:
        file_id = ref["file_id"]
        content = read_file(file_id) if read_file is not None else None
        if content is None:
            raise RequestRejected(400, f"No such File object: {file_id}", param=f"{parameter}.file_id")
        content_type = media_type_of_image(content)
        return UploadedFile(
            field_name, f"{file_id}.{_EXTENSIONS.get(content_type or '', 'bin')}", content_type, content
        )
    url: str = ref["image_url"]
    if url.startswith(("http://", "https://")):
        raise RequestRejected(
            400,
            f"Invalid '{parameter}.image_url': the emulator is offline and fetches no URL; send a base64 "
            "data URL or a file_id.",
            param=f"{parameter}.image_url",
            code="invalid_image_url",
        )
    header, comma, data = url.partition(",")
    if not url.startswith("data:") or not comma or not header.endswith(";base64"):
        raise RequestRejected(
            400,
            f"Invalid '{parameter}.image_url': expected a URL or a base64 data URL (data:image/png;base64,...).",
            param=f"{parameter}.image_url",
            code="invalid_image_url",
        )
    content_type = header.removeprefix("data:").removesuffix(";base64").split(";")[0].lower() or None
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RequestRejected(
            400, f"Invalid '{parameter}.image_url': the data URL is not valid base64.", param=f"{parameter}.image_url"
        ) from None
    return UploadedFile(field_name, f"{parameter}.{_EXTENSIONS.get(content_type or '', 'bin')}", content_type, content)


def media_type_of_image(content: bytes) -> str | None:
    """The MIME type of a PNG, JPEG or WEBP file, by its first bytes; ``None`` for anything else."""
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None
