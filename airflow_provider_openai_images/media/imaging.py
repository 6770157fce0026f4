"""Pillow work on whole images: bomb-safe decoding, verifying answers, drawing contact sheets.

Pillow is imported inside functions: DAG files import the operators at every parse. Input and mask
preparation for edits and variations is in :mod:`~airflow_provider_openai_images.media.preparation`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError
from airflow_provider_openai_images.media.svg import SVG_CONTENT_TYPE, looks_like_xml, svg_size

_CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}


@dataclass(frozen=True)
class ImageInfo:
    """What a decoded image is: format, MIME type, file extension and dimensions."""

    format: str
    content_type: str
    extension: str
    width: int
    height: int
    frames: int = 1

    @property
    def is_raster(self) -> bool:
        """Whether Pillow can draw it (an SVG is never rasterised here)."""
        return self.format != "SVG"


def decode_image(content: bytes) -> Any:
    """Open and fully load an image, with Pillow's decompression-bomb warning raised as an error."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(content))
        image.load()
    return image


def bomb_errors() -> tuple[type[BaseException], ...]:
    from PIL import Image

    return (Image.DecompressionBombWarning, Image.DecompressionBombError)


def decode_errors() -> tuple[type[BaseException], ...]:
    """What :func:`decode_image` and :func:`inspect_image` raise for bytes that are not a complete, acceptable image."""
    from PIL import UnidentifiedImageError

    return (UnidentifiedImageError, OSError, SyntaxError, ValueError, *bomb_errors())


def inspect_image(content: bytes, *, what: str = "image") -> ImageInfo:
    """Check that ``content`` is one complete image (a truncated or corrupt file fails here, not downstream).

    PNG (what GPT image models answer by default) is checked chunk by chunk against its CRCs, without
    decompressing the pixels: a hundred times cheaper than decoding, and it refuses the same cut and
    corrupted files. A GIF is decoded frame by frame, every frame. Other formats are decoded in full.
    Pillow's decompression-bomb limit stays in force. An SVG is checked as well-formed SVG (see
    :mod:`~airflow_provider_openai_images.media.svg`).

    :raises OpenAIImagesResponseError: if the bytes are not a complete image of a known format.
    """
    from PIL import Image, ImageSequence

    if looks_like_xml(content):
        width, height = svg_size(content, what=what)
        return ImageInfo("SVG", SVG_CONTENT_TYPE, "svg", width, height)
    frames = 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                image_format = image.format or ""
                width, height = image.size
                if image_format == "PNG":
                    image.verify()
                elif image_format == "GIF":
                    frames = 0
                    for frame in ImageSequence.Iterator(image):
                        frame.load()  # each frame decoded: a cut or corrupt one fails here
                        frames += 1
                else:
                    image.load()
    except decode_errors() as error:
        raise OpenAIImagesResponseError(f"The {what} is not a complete image ({len(content)} bytes): {error}") from None
    if image_format not in _CONTENT_TYPES:
        raise OpenAIImagesResponseError(f"The {what} has an unexpected format {image_format or 'unknown'}")
    return ImageInfo(image_format, _CONTENT_TYPES[image_format], _EXTENSIONS[image_format], width, height, frames)


def thumbnail(content: bytes, longest: int) -> bytes:
    """A WEBP of the image, at most ``longest`` pixels on its long side (transparency kept; a GIF's first frame).

    :raises: one of :func:`decode_errors` for bytes Pillow cannot decode.
    """
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(content)) as image:
            image.draft("RGB", (longest, longest))  # JPEG: decode at a fraction of the size
            small = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    small.thumbnail((longest, longest))
    buffer = io.BytesIO()
    small.save(buffer, format="WEBP", quality=80, method=4)
    return buffer.getvalue()


def contact_sheet(images: Sequence[bytes], labels: Sequence[str] = (), *, thumbnail: int = 256) -> bytes:
    """A PNG grid of thumbnails, with an optional label under each (for demos and reviews)."""
    from PIL import Image, ImageDraw, ImageOps

    columns = max(1, min(4, len(images)))
    rows = max(1, -(-len(images) // columns))
    label_height = 18 if labels else 0
    sheet = Image.new("RGB", (columns * thumbnail, rows * (thumbnail + label_height)), "#d8d8d8")
    draw = ImageDraw.Draw(sheet)
    for position, content in enumerate(images):
        with Image.open(io.BytesIO(content)) as image:
            thumb = ImageOps.pad(image.convert("RGB"), (thumbnail, thumbnail), color="#d8d8d8")
        x, y = (position % columns) * thumbnail, (position // columns) * (thumbnail + label_height)
        sheet.paste(thumb, (x, y))
        if position < len(labels):
            draw.text((x + 4, y + thumbnail + 3), labels[position][:40], fill="black")
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
