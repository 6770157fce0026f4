"""Resolving the ``image`` and ``mask`` arguments of edits and variations into files to upload.

The hook and the operators accept the same things: bytes, a local path, a binary file, an
:class:`~airflow_provider_openai_images.core.requests.ImageFile`, an ``s3://bucket/key`` URI, a
record of an upstream operator of this provider (a dict with ``s3_uri``), or a list of these.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Union, cast

from airflow_provider_openai_images.core.requests import ImageFile, ImageSource
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.s3 import S3Location

ImageInput = Union[str, bytes, "os.PathLike[str]", IO[bytes], ImageFile, Mapping[str, Any]]
#: Reads an S3 object for an input; the operators read through their AWS connection.
S3Reader = Callable[[S3Location, str], bytes]
_ACCEPTED = "an s3:// URI, a local path, bytes, a binary file, an upstream record, or a list of these"


def resolve_images(
    value: ImageInput | Sequence[ImageInput], *, parameter: str, read_s3: S3Reader | None = None
) -> list[ImageFile]:
    """The files ``value`` stands for, in order; MIME types are read from the bytes, not from names.

    :param parameter: ``image`` or ``mask``, named by any error.
    :param read_s3: how to read ``s3://`` inputs; without it they are refused (the hook has no AWS
        connection: pass bytes or a path, or use an operator).
    """
    if isinstance(value, (list, tuple)):
        if not value:
            raise OpenAIImagesValidationError(parameter, value, "at least one image")
        return [file for item in value for file in resolve_images(item, parameter=parameter, read_s3=read_s3)]
    if isinstance(value, Mapping):
        if "s3_uri" not in value or not value["s3_uri"]:
            raise OpenAIImagesValidationError(parameter, dict(value), "a landed record with an 's3_uri'")
        value = str(value["s3_uri"])
    if isinstance(value, str) and value.startswith("s3://"):
        location = S3Location.parse(value, parameter=parameter)
        if read_s3 is None:
            raise OpenAIImagesValidationError(parameter, value, "bytes or a local path here (s3:// needs an operator)")
        content = read_s3(location, parameter)
        return [ImageFile.from_bytes(content, location.key.rsplit("/", 1)[-1], parameter=parameter)]
    if not isinstance(value, (ImageFile, str, bytes, bytearray, os.PathLike)) and not hasattr(value, "read"):
        raise OpenAIImagesValidationError(parameter, type(value).__name__, _ACCEPTED)
    return [ImageFile.coerce(cast("ImageSource", value), parameter=parameter)]


def resolve_one(
    value: ImageInput | Sequence[ImageInput], *, parameter: str, read_s3: S3Reader | None = None
) -> ImageFile:
    """The single file ``value`` stands for (a variation's image, an edit's mask)."""
    files = resolve_images(value, parameter=parameter, read_s3=read_s3)
    if len(files) != 1:
        raise OpenAIImagesValidationError(parameter, f"{len(files)} images", "exactly one image")
    return files[0]


def describe_sources(value: Any) -> list[str]:
    """Where ``image``/``mask`` came from, for provenance: URIs and paths as given, other inputs by type."""
    described = []
    for item in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(item, Mapping):
            described.append(str(item.get("s3_uri")))
        elif isinstance(item, str):
            described.append(item)
        else:
            described.append(f"<{type(item).__name__}>")
    return described
