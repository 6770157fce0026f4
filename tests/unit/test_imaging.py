"""Answers are checked to be complete images before anything is written."""

from __future__ import annotations

import pytest

from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError
from airflow_provider_openai_images.media.imaging import inspect_image
from tests.imagefactory import picture

PNG = picture(64, 48)
JPEG = picture(64, 48, image_format="JPEG")


@pytest.mark.parametrize(
    "damaged",
    [
        PNG[: len(PNG) // 2],
        PNG[:-12],
        PNG[:60] + bytes([PNG[60] ^ 1]) + PNG[61:],
        JPEG[: len(JPEG) // 2],
        b"\x89PNG\r\n\x1a\n",
    ],
    ids=["png cut in half", "png without its end", "png with a flipped bit", "jpeg cut in half", "a signature only"],
)
def test_cut_or_corrupt_images_are_refused(damaged: bytes) -> None:
    with pytest.raises(OpenAIImagesResponseError, match="is not a complete image"):
        inspect_image(damaged)


def test_complete_images_are_described() -> None:
    png, jpeg = inspect_image(PNG), inspect_image(JPEG)
    assert (png.content_type, png.extension, png.width, png.height) == ("image/png", "png", 64, 48)
    assert (jpeg.content_type, jpeg.extension, jpeg.width, jpeg.height) == ("image/jpeg", "jpg", 64, 48)


def _gif(frames: int, size: tuple[int, int] = (48, 32)) -> bytes:
    import io

    from PIL import Image

    pictures = [Image.new("RGB", size, (40 * number, 90, 160)) for number in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return buffer.getvalue()


def test_an_animated_gif_is_verified_frame_by_frame() -> None:
    info = inspect_image(_gif(6))
    assert (info.content_type, info.extension, info.width, info.height, info.frames) == ("image/gif", "gif", 48, 32, 6)
    assert info.is_raster
    whole = _gif(6, (256, 256))
    with pytest.raises(OpenAIImagesResponseError, match="not a complete image"):
        inspect_image(whole[: len(whole) * 2 // 3])  # the first frames are whole; a later one is cut


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1536" height="1024"><rect width="10" height="10"/></svg>'


@pytest.mark.parametrize(
    ("document", "size"),
    [
        (SVG, (1536, 1024)),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 480"/>', (640, 480)),
        (b'\xef\xbb\xbf  <svg xmlns="http://www.w3.org/2000/svg" width="64px" height="32px"/>', (64, 32)),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="100%"/>', (0, 0)),
    ],
)
def test_a_well_formed_svg_is_measured_and_never_rasterised(document: bytes, size: tuple[int, int]) -> None:
    info = inspect_image(document)
    assert (info.content_type, info.extension, (info.width, info.height)) == ("image/svg+xml", "svg", size)
    assert not info.is_raster


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (SVG[:-10], "not a well-formed SVG"),
        (b'<html xmlns="http://www.w3.org/1999/xhtml"/>', "XML but not SVG"),
        (b"<svg><rect/></svg>", "XML but not SVG"),  # no SVG namespace: browsers would not draw it as one
        (
            b'<!DOCTYPE svg [<!ENTITY lol "lol">]><svg xmlns="http://www.w3.org/2000/svg">&lol;</svg>',
            "EntitiesForbidden",
        ),
        (
            b'<!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg">&secret;</svg>',
            "EntitiesForbidden",
        ),
        (
            b'<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg">&b;</svg>',
            "EntitiesForbidden",
        ),
    ],
    ids=["cut", "xhtml", "no namespace", "entity", "external entity", "entity expansion"],
)
def test_an_svg_that_is_not_well_formed_or_declares_entities_is_refused(document: bytes, why: str) -> None:
    with pytest.raises(OpenAIImagesResponseError, match=why):
        inspect_image(document)
