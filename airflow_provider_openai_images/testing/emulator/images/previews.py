"""The GIF and SVG previews' files: a real animated GIF made with Pillow from a drawing (each frame the
drawing with a marker moved along a circle, in a colour of its own), and a real, well-formed SVG
document of the requested size with shapes and the prompt as text.

Pillow is imported inside the functions, so importing the emulator stays light.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any
from xml.sax.saxutils import escape

from airflow_provider_openai_images.testing.emulator.images.rendering import colour

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
#: characters XML 1.0 does not allow in a document, left out of the SVG's text
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def gif_file(picture: Any, frames: int, frame_ms: int) -> bytes:
    """An animated GIF of exactly ``frames`` frames of ``picture``, each shown ``frame_ms`` ms, looping.

    Consecutive frames always differ (the marker's colour changes with each), so the encoder merges none.
    """
    from PIL import ImageDraw

    base = picture.convert("RGB")
    width, height = base.size
    radius = max(2, min(width, height) // 16)
    images = []
    for frame in range(frames):
        image = base.copy()
        angle = 2 * math.pi * frame / frames
        x = width / 2 + width / 4 * math.cos(angle)
        y = height / 2 + height / 4 * math.sin(angle)
        hue = colour(f"frame#{frame}")
        ImageDraw.Draw(image).ellipse((x - radius, y - radius, x + radius, y + radius), fill=hue)
        images.append(image.quantize(colors=128))
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    return buffer.getvalue()


def svg_document(prompt: str, index: int, size: tuple[int, int]) -> bytes:
    """A well-formed SVG document, ``size`` pixels (``width``, ``height`` and ``viewBox``), drawing a
    background, an ellipse and a polygon in colours drawn from the prompt, and the prompt as text."""
    width, height = size
    fill = colour(f"{prompt}#{index}")
    accent = tuple(255 - channel for channel in fill)
    text = escape(_NOT_XML.sub("", prompt))
    font_size = max(10, min(width, height) // 16)
    triangle = f"{width // 2},{height // 8} {7 * width // 8},{7 * height // 8} {width // 8},{7 * height // 8}"
    return "\n".join(
        (
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="{SVG_NAMESPACE}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
            f'  <rect x="0" y="0" width="{width}" height="{height}" fill="{_hex(fill)}"/>',
            f'  <ellipse cx="{width // 2}" cy="{height // 2}" rx="{width // 4}" ry="{height // 4}" fill="none" '
            f'stroke="{_hex(accent)}" stroke-width="{max(2, width // 64)}"/>',
            f'  <polygon points="{triangle}" fill="{_hex(accent)}" fill-opacity="0.25"/>',
            f'  <text x="{width // 16}" y="{height // 16 + font_size}" font-family="sans-serif" '
            f'font-size="{font_size}" fill="{_hex(accent)}">{text}</text>',
            "</svg>",
            "",
        )
    ).encode("utf-8")


def _hex(rgb: tuple[int, ...]) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in rgb)
