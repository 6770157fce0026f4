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
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Union

from typing_extensions import Self

from airflow_provider_openai_images.core.models import (
    DEFAULT_EDIT_MODEL,
    DEFAULT_MODEL,
    DEFAULT_VARIATION_MODEL,
    Endpoint,
    ModelRules,
)
from airflow_provider_openai_images.core.numbers import strict_int
from airflow_provider_openai_images.core.validation import (
    DELIBERATELY_REFUSED,
    refuse_deliberately_unsupported,
    validate_parameters,
)
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

if typing.TYPE_CHECKING:
    from airflow_provider_openai_images.core.catalogue import ModelCatalogue

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

    def part(self, field_name: str) -> tuple[str, tuple[str, bytes, str]]:
        """This file as one multipart part named ``field_name``."""
        return field_name, (self.filename, self.content, self.content_type)

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
    files: Sequence[tuple[str, tuple[str, bytes | IO[bytes], str]]] | None = None


def _form_fields(name: str, value: Any) -> dict[str, str]:
    """One parameter as multipart form fields: objects flattened as ``svg[model]``, ``svg[reasoning][effort]``."""
    if isinstance(value, Mapping):
        return {key: text for k, v in value.items() for key, text in _form_fields(f"{name}[{k}]", v).items()}
    if isinstance(value, bool):
        return {name: "true" if value else "false"}
    return {name: str(value)}


def _integer_fields(request_type: type[Any]) -> frozenset[str]:
    hints = typing.get_type_hints(request_type)
    return frozenset(name for name, hint in hints.items() if int in typing.get_args(hint) or hint is int)


@dataclass(frozen=True, kw_only=True)
class ImageRequest:
    """The parameters every Images API request has; ``None`` means "not sent".

    ``model`` is always sent: the spec's server-side default (``dall-e-2``) is retired at OpenAI.
    ``safety_identifier`` (a hashed end-user id) replaces the deprecated ``user``, which is still sent
    when given. ``extra_body`` passes parameters this release does not know yet; one it knows (``n``,
    ``quality``, ``model``...) is refused there, so that nothing gets around the checks and the budget.
    """

    endpoint: ClassVar[Endpoint]
    #: fields holding uploads, sent as multipart parts rather than parameters
    file_fields: ClassVar[tuple[str, ...]] = ()
    #: whether a connection's ``default_model`` applies when no model is named (not for variations,
    #: which only DALL-E models make)
    uses_default_model: ClassVar[bool] = True

    model: str = DEFAULT_MODEL
    n: int | None = None
    size: str | None = None
    response_format: str | None = None
    safety_identifier: str | None = None
    user: str | None = None
    extra_body: Mapping[str, Any] | None = None

    @classmethod
    def value_fields(cls) -> tuple[str, ...]:
        """The fields that are not uploads: what an operator or a hook call sets by name."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name not in cls.file_fields)

    @classmethod
    def normalise(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Loosely typed values, as templates render them, made what this request's fields expect.

        An empty string of an optional field means "not sent", ``None`` leaves a field at its default
        (so it is dropped), and integer fields take the digits a template renders. A name that is not
        a value field of this request is refused, naming the ones that are; one refused on purpose
        (``stream``, ``partial_images``) is refused with the reason.
        """
        known = {f.name: f for f in dataclasses.fields(cls)}
        integers = _integer_fields(cls)
        normalised: dict[str, Any] = {}
        refuse_deliberately_unsupported(name for name, value in values.items() if value not in (None, ""))
        for name, value in values.items():
            if name in DELIBERATELY_REFUSED:
                continue
            if name not in known or name in cls.file_fields:
                allowed = ", ".join(cls.value_fields())
                raise OpenAIImagesValidationError(name, value, f"a parameter of POST /images/{cls.endpoint}: {allowed}")
            optional = known[name].default is not dataclasses.MISSING
            if optional and value == "":
                value = None
            if name in integers and isinstance(value, str) and (number := strict_int(value)) is not None:
                value = number
            if value is not None or not optional:
                normalised[name] = value
        return normalised

    @classmethod
    def from_values(cls, values: Mapping[str, Any], **files: Any) -> Self:
        """The request for ``values`` (see :meth:`normalise`) and ``files`` (the upload fields)."""
        return cls(**cls.normalise(values), **files)

    def parameters(self) -> dict[str, Any]:
        """The parameters to send (uploads and ``extra_body`` aside), in declaration order, ``None`` left out."""
        skipped = {*self.file_fields, "extra_body"}
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skipped}
        return {name: value for name, value in values.items() if value is not None}

    def validate(self, catalogue: ModelCatalogue | None = None) -> ModelRules | None:
        """Raise :class:`OpenAIImagesValidationError` for a request that cannot succeed; returns the model's
        rules in ``catalogue`` (default: the packaged one)."""
        rules = self.check_parameters(catalogue)
        self.check_uploads(rules)
        return rules

    def check_parameters(self, catalogue: ModelCatalogue | None = None) -> ModelRules | None:
        """The checks that need no upload (so they can run before inputs are fetched); returns the model's rules."""
        if self.extra_body is not None:
            if not isinstance(self.extra_body, Mapping):
                raise OpenAIImagesValidationError("extra_body", self.extra_body, "a JSON object of parameters")
            refuse_deliberately_unsupported(self.extra_body, where="extra_body.")
            for name in self.extra_body:
                if name in KNOWN_PARAMETERS:
                    raise OpenAIImagesValidationError(
                        f"extra_body.{name}",
                        self.extra_body[name],
                        f"only parameters this release does not know: give {name} as its own argument, where it is "
                        "checked and counted in max_images and max_cost_usd",
                    )
        return validate_parameters(self.model, self.endpoint, self.parameters(), catalogue)

    def check_uploads(self, rules: ModelRules | None) -> None:
        """The checks of the uploads against the model's ``rules`` (none for a request without uploads)."""

    def file_parts(self) -> list[tuple[str, tuple[str, bytes, str]]]:
        """The multipart parts of the uploads; none for a JSON request."""
        return []

    def to_http_body(self) -> HTTPBody:
        """JSON for a request without uploads, otherwise ``multipart/form-data``."""
        values = {**self.parameters(), **(self.extra_body or {})}
        parts = self.file_parts()
        if not parts:
            return HTTPBody(json=values)
        data = {key: text for name, value in values.items() for key, text in _form_fields(name, value).items()}
        return HTTPBody(data=data, files=parts)


@dataclass(frozen=True, kw_only=True)
class PromptedImageRequest(ImageRequest):
    """What generations and edits share: the prompt and the output options of GPT image models
    (``gif`` with ``frame_count`` and ``frame_duration_ms``; ``svg`` with its ``svg`` author options)."""

    prompt: str
    quality: str | None = None
    complexity: str | None = None
    background: str | None = None
    output_format: str | None = None
    output_compression: int | None = None
    frame_count: int | None = None
    frame_duration_ms: int | None = None
    svg: Mapping[str, Any] | None = None

    def check_parameters(self, catalogue: ModelCatalogue | None = None) -> ModelRules | None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise OpenAIImagesValidationError("prompt", self.prompt, "a non-empty text")
        return super().check_parameters(catalogue)


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


@dataclass(frozen=True, kw_only=True)
class GenerateRequest(PromptedImageRequest):
    """``POST /images/generations`` as JSON (``CreateImageRequest``)."""

    endpoint: ClassVar[Endpoint] = "generations"

    style: str | None = None
    moderation: str | None = None


@dataclass(frozen=True, kw_only=True)
class EditRequest(PromptedImageRequest):
    """``POST /images/edits`` as multipart (``CreateImageEditRequest``); several images go as ``image[]``.

    ``markup`` (GPT Image 2.5) is a transparent PNG drawn over the first image to guide the edit, instead
    of a ``mask``.
    """

    endpoint: ClassVar[Endpoint] = "edits"
    file_fields: ClassVar[tuple[str, ...]] = ("images", "mask", "markup")

    model: str = DEFAULT_EDIT_MODEL
    images: tuple[ImageFile, ...] = ()
    mask: ImageFile | None = None
    markup: ImageFile | None = None
    input_fidelity: str | None = None

    def check_uploads(self, rules: ModelRules | None) -> None:
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
            if self.output_format == "gif":
                raise OpenAIImagesValidationError("mask", self.mask.filename, "no mask with output_format='gif'")
        if self.markup is not None:
            if self.mask is not None:
                raise OpenAIImagesValidationError("markup", self.markup.filename, "no markup together with a mask")
            if rules is not None and rules.markup is False:
                raise OpenAIImagesValidationError(
                    "markup", self.markup.filename, "nothing: only GPT Image 2.5 models take it", model=self.model
                )
            if self.markup.content_type != "image/png":
                raise OpenAIImagesValidationError("markup", self.markup.filename, "a PNG with transparent pixels")

    def file_parts(self) -> list[tuple[str, tuple[str, bytes, str]]]:
        image_field = "image" if len(self.images) == 1 else "image[]"
        parts = [image.part(image_field) for image in self.images]
        parts += [self.mask.part("mask")] if self.mask is not None else []
        return parts + ([self.markup.part("markup")] if self.markup is not None else [])


@dataclass(frozen=True, kw_only=True)
class VariationRequest(ImageRequest):
    """``POST /images/variations`` as multipart (``CreateImageVariationRequest``)."""

    endpoint: ClassVar[Endpoint] = "variations"
    file_fields: ClassVar[tuple[str, ...]] = ("image",)
    uses_default_model: ClassVar[bool] = False

    model: str = DEFAULT_VARIATION_MODEL
    image: ImageFile | None = None

    def check_uploads(self, rules: ModelRules | None) -> None:
        if self.image is None:
            raise OpenAIImagesValidationError("image", None, "one image")
        _validate_uploads("image", [self.image], rules, self.model)

    def file_parts(self) -> list[tuple[str, tuple[str, bytes, str]]]:
        return [self.image.part("image")] if self.image is not None else []


#: Every parameter some request type declares (uploads included, under both their names): ``extra_body`` may
#: not carry them, or it would get around the checks and the budget.
KNOWN_PARAMETERS = frozenset(
    {
        field.name
        for request_type in (GenerateRequest, EditRequest, VariationRequest)
        for field in dataclasses.fields(request_type)
    }
    - {"extra_body"}
    | {"image"}
)
