"""The emulator's pictures: drawn from the prompt's hash with Pillow, and encoded as PNG, JPEG or WEBP;
or random noise (:func:`noise_file`), as big as real pictures, for benchmarks. The GIF and SVG
previews are made from these drawings by :mod:`.previews`.

Pillow is imported inside the functions, so importing the emulator stays light.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import textwrap
import zlib
from typing import Any

#: ``output_format`` -> (Pillow format, MIME type); GIF and SVG files are made by :mod:`.previews`
FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
    "gif": ("GIF", "image/gif"),
    "svg": ("SVG", "image/svg+xml"),
}


def colour(seed: str) -> tuple[int, int, int]:
    """A colour drawn from ``seed``'s hash."""
    digest = hashlib.sha256(seed.encode()).digest()
    return digest[0], digest[1], digest[2]


def encode_image(image: Any, output_format: str, compression: int | None) -> bytes:
    """``image`` as the bytes of a still ``output_format`` file (``png``, ``jpeg``, ``webp``)."""
    pil_format, _ = FORMATS[output_format]
    if pil_format == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    quality = compression if compression is not None else 90
    image.save(buffer, format=pil_format, **({"quality": quality} if pil_format != "PNG" else {}))
    return buffer.getvalue()


def render_image(
    prompt: str,
    index: int,
    size: tuple[int, int],
    *,
    source: Any = None,
    mask: Any = None,
    markup: Any = None,
    transparent: bool = False,
) -> Any:
    """Draw a deterministic picture for ``prompt``: new, or ``source`` repainted where ``mask`` is clear,
    with the strokes of a ``markup`` overlay drawn on it."""
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    width, height = size
    fill = colour(f"{prompt}#{index}")
    if source is not None:
        base = ImageOps.fit(source.convert("RGBA"), size)
        overlay = Image.new("RGBA", size, (*fill, 255))
        if mask is not None:
            alpha = ImageOps.fit(mask.convert("RGBA"), size).getchannel("A")
            base = Image.composite(base, overlay, alpha.point(lambda value: 255 if value else 0))
        else:
            base = Image.blend(base, overlay, 0.35)
        if markup is not None:
            base.alpha_composite(ImageOps.fit(markup.convert("RGBA"), size))
    else:
        base = Image.new("RGBA", size, (*fill, 0 if transparent else 255))
    draw = ImageDraw.Draw(base)
    accent = tuple(255 - channel for channel in fill)
    draw.ellipse(
        (width // 4, height // 4, 3 * width // 4, 3 * height // 4), outline=(*accent, 255), width=max(2, width // 64)
    )
    font = ImageFont.load_default(size=max(10, min(width, height) // 16))
    lines = textwrap.wrap(f"#{index} {prompt}", width=24)[:4]
    draw.multiline_text((width // 16, height // 16), "\n".join(lines), fill=(*accent, 255), font=font)
    return base


def noise_file(size: tuple[int, int], output_format: str, *, transparent: bool, compression: int | None) -> bytes:
    """An image file of random pixels, which no format compresses: about 3 MB for a 1024x1024 PNG.

    PNGs are assembled here, their pixel rows stored as zlib's level 0 writes them (a few ms, where
    Pillow's encoder takes ten times longer); JPEG and WEBP go through Pillow.
    """
    width, height = size
    channels = 4 if transparent else 3
    pixels = os.urandom(width * height * channels)
    if output_format != "png":
        from PIL import Image

        return encode_image(Image.frombytes("RGBA" if transparent else "RGB", size, pixels), output_format, compression)
    row = width * channels
    scanlines = b"".join(b"\x00" + pixels[start : start + row] for start in range(0, len(pixels), row))
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if transparent else 2, 0, 0, 0)
    data = zlib.compress(scanlines, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            *(_chunk(b"IDAT", data[start : start + _IDAT_SIZE]) for start in range(0, len(data), _IDAT_SIZE)),
            _chunk(b"IEND", b""),
        )
    )


#: IDAT chunks of 64 KiB, as Pillow and most encoders write them
_IDAT_SIZE = 64 * 1024


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
