"""Real image files made in the tests (no binary fixtures in the repository)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from airflow_provider_openai_images.core.requests import EditRequest, ImageFile


def encode(image: Image.Image, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def picture(width: int = 256, height: int = 256, *, mode: str = "RGB", image_format: str = "PNG") -> bytes:
    image = Image.new("RGB", (width, height), (30, 120, 200))
    ImageDraw.Draw(image).rectangle((width // 4, height // 4, width // 2, height // 2), fill=(250, 200, 20))
    return encode(image.convert(mode), image_format)


def transparent_mask(width: int = 256, height: int = 256, box: tuple[int, int, int, int] | None = None) -> bytes:
    """An RGBA PNG, opaque everywhere but ``box`` (fully transparent: the region to edit)."""
    mask = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle(box or (0, 0, width // 2, height // 2), fill=(0, 0, 0, 0))
    return encode(mask)


def decode(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def ribbon_edit() -> EditRequest:
    """A dall-e-2 edit of a 256x256 PNG inside a mask, asking for two images: a typical multipart request."""
    return EditRequest(
        images=(ImageFile.from_bytes(picture(256, 256), "product.png"),),
        mask=ImageFile.from_bytes(transparent_mask(256, 256), "mask.png", parameter="mask"),
        prompt="add a red ribbon",
        model="dall-e-2",
        size="256x256",
        response_format="b64_json",
        n=2,
    )
