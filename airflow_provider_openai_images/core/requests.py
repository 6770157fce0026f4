"""Typed Images API requests and the HTTP bodies the spec defines for them.

``GenerateRequest`` becomes a JSON body (``POST /images/generations``); ``EditRequest`` and
``VariationRequest`` become ``multipart/form-data`` with explicit filenames and MIME types
(the API rejects ``application/octet-stream`` parts), several edit images going as repeated
``image[]`` parts. ``None`` means "not sent"; ``model`` is always sent, because the spec's
server-side default (``dall-e-2``) is retired at OpenAI.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Union

from airflow_provider_openai_images.core.models import Endpoint, ModelRules, validate_parameters
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

#: Per the spec, an edit takes at most 16 images whatever the model.
MAX_EDIT_IMAGES = 16

_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


def sniff_image_type(content: bytes) -> tuple[str, str] | None:
    """``(mime type, file extension)`` read from the first bytes, or ``None`` if not a known image."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    for signature, mime, extension in _SIGNATURES:
        if content.startswith(signature):
            return mime, extension
    return None


@dataclass(frozen=True)
class ImageFile:
    """One image to upload: its bytes, the filename and MIME type its multipart part declares."""

    content: bytes = field(repr=False)
    filename: str
    content_type: str

    def __repr__(self) -> str:
        return f"ImageFile({self.filename!r}, {self.content_type}, {len(self.content)} bytes)"

    @classmethod
    def from_bytes(cls, content: bytes, filename: str | None = None, *, parameter: str = "image") -> ImageFile:
        """Wrap raw bytes, reading the MIME type from the content itself (not the filename)."""
        sniffed = sniff_image_type(content)
        if sniffed is None:
            raise OpenAIImagesValidationError(
                parameter,
                filename or f"<{len(content)} bytes>",
                "PNG, JPEG or WEBP image content",
            )
        mime, extension = sniffed
        stem = Path(filename).stem if filename else parameter
        return cls(content=content, filename=f"{stem}.{extension}", content_type=mime)

    @classmethod
    def coerce(cls, source: ImageSource, *, parameter: str = "image") -> ImageFile:
        """Accept an :class:`ImageFile`, bytes, a local path or a binary file object."""
        if isinstance(source, ImageFile):
            return source
        if isinstance(source, (bytes, bytearray, memoryview)):
            return cls.from_bytes(bytes(source), parameter=parameter)
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if not path.is_file():
                raise OpenAIImagesValidationError(parameter, str(source), "an existing local image file")
            return cls.from_bytes(path.read_bytes(), path.name, parameter=parameter)
        if hasattr(source, "read"):
            name = getattr(source, "name", None)
            return cls.from_bytes(
                source.read(), os.path.basename(name) if isinstance(name, str) else None, parameter=parameter
            )
        raise OpenAIImagesValidationError(
            parameter, type(source).__name__, "bytes, a local path, a binary file or an ImageFile"
        )


ImageSource = Union[ImageFile, bytes, str, "os.PathLike[str]", IO[bytes]]


@dataclass(frozen=True)
class HTTPBody:
    """What ``httpx`` needs to send one request: either ``json`` or ``data`` + ``files``."""

    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class ImageRequest:
    """Fields and behaviour shared by the three Images API requests."""

    endpoint: ClassVar[Endpoint]
    _file_fields: ClassVar[tuple[str, ...]] = ()
    _has_prompt: ClassVar[bool] = True

    def parameters(self) -> dict[str, Any]:
        """The scalar parameters to send, in declaration order, ``None`` values left out."""
        skipped = {*self._file_fields, "extra_body"}
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skipped}
        return {name: value for name, value in values.items() if value is not None}

    @property
    def extra(self) -> Mapping[str, Any]:
        return getattr(self, "extra_body", None) or {}

    def validate(self) -> ModelRules | None:
        """Raise :class:`OpenAIImagesValidationError` for a request that cannot succeed."""
        prompt = getattr(self, "prompt", None)
        if self._has_prompt and (not isinstance(prompt, str) or not prompt.strip()):
            raise OpenAIImagesValidationError("prompt", prompt, "a non-empty text")
        return validate_parameters(getattr(self, "model"), self.endpoint, self.parameters())  # noqa: B009

    def to_http_body(self) -> HTTPBody:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


def _validate_uploads(parameter: str, files: Sequence[ImageFile], rules: ModelRules | None, model: str) -> None:
    if rules is None:
        return
    for upload in files:
        if upload.content_type not in rules.input_image_types:
            allowed = ", ".join(sorted(rules.input_image_types))
            raise OpenAIImagesValidationError(parameter, upload.filename, f"an image of type {allowed}", model=model)
        if len(upload.content) >= rules.max_input_image_bytes:
            raise OpenAIImagesValidationError(
                parameter,
                f"{upload.filename} ({len(upload.content)} bytes)",
                f"less than {rules.max_input_image_bytes // (1024 * 1024)} MB",
                model=model,
            )


@dataclass(frozen=True)
class GenerateRequest(ImageRequest):
    """``POST /images/generations`` (``CreateImageRequest``)."""

    endpoint: ClassVar[Endpoint] = "generations"

    prompt: str
    model: str
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    response_format: str | None = None
    background: str | None = None
    output_format: str | None = None
    output_compression: int | None = None
    moderation: str | None = None
    user: str | None = None
    extra_body: Mapping[str, Any] | None = None

    def to_http_body(self) -> HTTPBody:
        return HTTPBody(json={**self.parameters(), **self.extra})


@dataclass(frozen=True)
class EditRequest(ImageRequest):
    """``POST /images/edits`` as multipart (``CreateImageEditRequest``)."""

    endpoint: ClassVar[Endpoint] = "edits"
    _file_fields: ClassVar[tuple[str, ...]] = ("images", "mask")

    images: tuple[ImageFile, ...]
    prompt: str
    model: str
    mask: ImageFile | None = None
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    response_format: str | None = None
    background: str | None = None
    output_format: str | None = None
    output_compression: int | None = None
    input_fidelity: str | None = None
    user: str | None = None
    extra_body: Mapping[str, Any] | None = None

    def validate(self) -> ModelRules | None:
        rules = super().validate()
        most = rules.max_input_images if rules else MAX_EDIT_IMAGES
        if not 1 <= len(self.images) <= most:
            raise OpenAIImagesValidationError(
                "image", f"{len(self.images)} images", f"1 to {most} images", model=self.model
            )
        _validate_uploads("image", self.images, rules, self.model)
        if self.mask is not None:
            if self.mask.content_type != "image/png":
                raise OpenAIImagesValidationError("mask", self.mask.filename, "a PNG image with an alpha channel")
            _validate_uploads("mask", [self.mask], rules, self.model)
        return rules

    def to_http_body(self) -> HTTPBody:
        image_field = "image" if len(self.images) == 1 else "image[]"
        files = [(image_field, (image.filename, image.content, image.content_type)) for image in self.images]
        if self.mask is not None:
            files.append(("mask", (self.mask.filename, self.mask.content, self.mask.content_type)))
        data = {name: _form_value(value) for name, value in {**self.parameters(), **self.extra}.items()}
        return HTTPBody(data=data, files=files)


@dataclass(frozen=True)
class VariationRequest(ImageRequest):
    """``POST /images/variations`` as multipart (``CreateImageVariationRequest``)."""

    endpoint: ClassVar[Endpoint] = "variations"
    _file_fields: ClassVar[tuple[str, ...]] = ("image",)
    _has_prompt: ClassVar[bool] = False

    image: ImageFile
    model: str = "dall-e-2"
    n: int | None = None
    size: str | None = None
    response_format: str | None = None
    user: str | None = None
    extra_body: Mapping[str, Any] | None = None

    def validate(self) -> ModelRules | None:
        rules = super().validate()
        _validate_uploads("image", [self.image], rules, self.model)
        return rules

    def to_http_body(self) -> HTTPBody:
        data = {name: _form_value(value) for name, value in {**self.parameters(), **self.extra}.items()}
        return HTTPBody(
            data=data, files=[("image", (self.image.filename, self.image.content, self.image.content_type))]
        )
