"""The images a request uploads, checked as the API checks them: multipart parts, or a JSON edit's
references already fetched (:mod:`.image_refs`).

Every upload must be a PNG, JPEG or WEBP with a filename, decodable, of the type it declares. DALL·E
edits and variations take exactly one square PNG. A ``mask`` must be a PNG with an alpha channel, of
the first image's size, and GIF output takes none. A ``markup`` overlay (edits of the GPT Image 2.5
family, and of the 2.6 family by the emulator's assumption) must be a PNG with transparent pixels, of
the first image's size after orientation, and cannot come with a mask.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_openai_images.testing.emulator.images.served_models import Endpoint, ModelSpec
from airflow_provider_openai_images.testing.emulator.recordings import UploadedFile
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected

SUPPORTED_UPLOAD_TYPES = ("image/png", "image/jpeg", "image/webp")
#: EXIF orientations that turn an image a quarter
_QUARTER_TURNS = (5, 6, 7, 8)


@dataclass(frozen=True)
class Uploads:
    """A request's decoded Pillow images: its sources, mask and markup overlay."""

    sources: list[Any] = field(default_factory=list)
    mask: Any = None
    markup: Any = None


def check_uploads(
    spec: ModelSpec, endpoint: Endpoint, params: dict[str, Any], uploads: dict[str, list[UploadedFile]]
) -> Uploads:
    """Decode and check a request's uploads (raises :class:`RequestRejected`)."""
    sources = [open_upload(upload, "image") for upload in uploads.get("image", [])]
    mask = open_upload(uploads["mask"][0], "mask") if uploads.get("mask") else None
    if spec.family in ("dall-e-2", "dall-e-3") and endpoint in ("edits", "variations"):
        if len(sources) != 1:
            raise RequestRejected(400, f"{spec.name} takes exactly one image.", param="image")
        if sources[0].format != "PNG" or sources[0].width != sources[0].height:
            raise RequestRejected(
                400, "Invalid input image - format must be a square PNG.", param="image", code="invalid_image_format"
            )
    if mask is not None:
        _check_mask(mask, sources[0], params)
    markups = uploads.get("markup", [])
    if not markups:
        return Uploads(sources, mask)
    if len(markups) > 1:
        raise RequestRejected(400, "Several files in 'markup': an edit takes one markup overlay.", param="markup")
    markup = open_upload(markups[0], "markup")
    _check_markup(spec, endpoint, markup, sources, mask)
    return Uploads(sources, mask, markup)


def _check_mask(mask: Any, first: Any, params: dict[str, Any]) -> None:
    if params.get("output_format") == "gif":
        raise RequestRejected(
            400, "Unsupported parameter: 'mask'. GIF output takes no mask.", param="mask", code="unsupported_parameter"
        )
    if mask.format != "PNG" or ("A" not in mask.getbands() and mask.mode != "P"):
        raise RequestRejected(
            400,
            "Invalid mask image - format must be a PNG with an alpha channel.",
            param="mask",
            code="invalid_image_format",
        )
    if mask.size != first.size:
        raise RequestRejected(
            400,
            f"Invalid mask: size {mask.width}x{mask.height} does not match image {first.width}x{first.height}.",
            param="mask",
        )


def _check_markup(spec: ModelSpec, endpoint: Endpoint, markup: Any, sources: list[Any], mask: Any) -> None:
    if endpoint != "edits" or (spec.known and not spec.markup):
        raise RequestRejected(
            400,
            f"Unsupported parameter: 'markup'. Only edits with the GPT Image 2.5 family take a markup overlay, "
            f"not {endpoint} with '{spec.name}'.",
            param="markup",
            code="unsupported_parameter",
        )
    if mask is not None:
        raise RequestRejected(
            400, "Invalid 'markup': it cannot be combined with 'mask'; send one or the other.", param="markup"
        )
    if markup.format != "PNG" or markup.convert("RGBA").getchannel("A").getextrema()[0] != 0:
        raise RequestRejected(
            400,
            "Invalid 'markup': it must be a PNG with transparent pixels, overlaid on the first image.",
            param="markup",
            code="invalid_image_format",
        )
    if oriented_size(markup) != oriented_size(sources[0]):
        width, height = oriented_size(markup)
        first_width, first_height = oriented_size(sources[0])
        raise RequestRejected(
            400,
            f"Invalid 'markup': size {width}x{height} does not match the first image's {first_width}x{first_height}.",
            param="markup",
        )


def oriented_size(image: Any) -> tuple[int, int]:
    """``image``'s size as shown, after its EXIF orientation."""
    turned = image.getexif().get(0x0112) in _QUARTER_TURNS
    return (image.height, image.width) if turned else (image.width, image.height)


def open_upload(upload: UploadedFile, parameter: str) -> Any:
    """Decode one upload (a Pillow image), checking its type, filename and content."""
    from PIL import Image, UnidentifiedImageError

    if upload.content_type not in SUPPORTED_UPLOAD_TYPES:
        raise RequestRejected(
            400,
            f"Invalid file '{parameter}': unsupported mimetype ('{upload.content_type}'). Supported file "
            "formats are 'image/png', 'image/jpeg', and 'image/webp'.",
            param=parameter,
            code="invalid_image_format",
        )
    if not upload.filename:
        raise RequestRejected(400, f"Invalid file '{parameter}': a filename is required.", param=parameter)
    try:
        image = Image.open(io.BytesIO(upload.content))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise RequestRejected(
            400, f"Invalid image file '{parameter}': {error}", param=parameter, code="invalid_image"
        ) from None
    declared = upload.content_type.split("/")[1]
    if (image.format or "").lower() != declared:
        raise RequestRejected(
            400,
            f"Invalid file '{parameter}': content is {image.format}, declared {declared}.",
            param=parameter,
            code="invalid_image_format",
        )
    return image
