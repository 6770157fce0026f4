"""Input preparation with Pillow, checked on what the emulator really received, and bad inputs stopped
before any request is sent."""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable

import pytest
from PIL import Image, ImageDraw

from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.hooks import OpenAIImagesHook
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.imagefactory import decode, encode, picture


@pytest.fixture
def emulator(images_api_emulator_in_process: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """DALL-E's inputs are what preparation is most about: this emulator serves dall-e-2 as Azure OpenAI and
    compatible servers still do (OpenAI shut it down)."""
    images_api_emulator_in_process.compatible_server = True
    return images_api_emulator_in_process


def _scene(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (40, 90, 160))
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(240, 200, 40))
    return image


def _exif_rotated_jpeg() -> bytes:
    """Stored 800x600 with EXIF orientation 6: shown upright as 600x800."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    _scene(800, 600).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def _palette_with_transparency() -> bytes:
    image = _scene(400, 300).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", transparency=0)
    return buffer.getvalue()


def _sixteen_bit() -> bytes:
    image = Image.linear_gradient("L").resize((500, 500)).convert("I").point(lambda v: v * 256).convert("I;16")
    return encode(image)


@functools.cache
def _noisy_rgba(width: int, height: int) -> bytes:
    """Incompressible: its PNG is as large as the pixels (17 MB at 2400x1800); made once, it takes a second."""
    return encode(Image.frombytes("RGBA", (width, height), os.urandom(width * height * 4)))


# (source bytes, size of the upright source)
SOURCES: dict[str, Callable[[], tuple[bytes, tuple[int, int]]]] = {
    "jpeg-landscape": lambda: (encode(_scene(1600, 1200), "JPEG"), (1600, 1200)),
    "jpeg-portrait": lambda: (encode(_scene(900, 1400), "JPEG"), (900, 1400)),
    "png-rgba": lambda: (encode(_scene(700, 500).convert("RGBA")), (700, 500)),
    "png-square": lambda: (picture(300, 300), (300, 300)),
    "png-palette": lambda: (_palette_with_transparency(), (400, 300)),
    "png-greyscale": lambda: (encode(_scene(640, 480).convert("L")), (640, 480)),
    "png-16-bit": lambda: (_sixteen_bit(), (500, 500)),
    "jpeg-exif-rotated": lambda: (_exif_rotated_jpeg(), (600, 800)),
    "webp": lambda: (encode(_scene(640, 360), "WEBP"), (640, 360)),
    "tiny": lambda: (picture(8, 8), (8, 8)),
    "huge-noise": lambda: (_noisy_rgba(2400, 1800), (2400, 1800)),
}


def _painted_mask(size: tuple[int, int]) -> bytes:
    """Black-and-white, as painted in an editor: white (= edit) over the right third."""
    width, height = size
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle((width * 2 // 3, 0, width, height), fill=255)
    return encode(mask)


@pytest.mark.parametrize("source", SOURCES)
def test_dall_e_variation_always_gets_a_square_png_under_4mb_of_the_asked_size(
    source: str, emulator: ImagesAPIEmulator
) -> None:
    content, _ = SOURCES[source]()
    OpenAIImagesHook(transport=emulator.transport()).create_variation(
        content, size="256x256", response_format="b64_json"
    )
    (request,) = emulator.requests_to("variations")
    upload = request.files[0]
    received = decode(upload.content)
    assert (upload.content_type, received.format, received.size) == ("image/png", "PNG", (256, 256))
    assert len(upload.content) < 4 * 1024 * 1024


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("square_policy", ["crop", "pad"])
def test_dall_e_edit_gets_image_and_mask_that_match_and_the_mask_follows_the_image(
    source: str, square_policy: str, emulator: ImagesAPIEmulator
) -> None:
    content, upright = SOURCES[source]()
    OpenAIImagesHook(transport=emulator.transport()).edit(
        content, "make it snow", mask=_painted_mask(upright), model="dall-e-2", size="512x512",
        response_format="b64_json", square_policy=square_policy,  # type: ignore[arg-type]
    )  # fmt: skip
    (request,) = emulator.requests_to("edits")
    image_part, mask_part = request.files
    image, mask = decode(image_part.content), decode(mask_part.content)
    assert (image.format, image.size) == ("PNG", (512, 512))
    assert (mask.format, mask.mode, mask.size) == ("PNG", "RGBA", (512, 512))
    assert len(image_part.content) < 4 * 1024 * 1024
    alpha = mask.getchannel("A")
    assert set(alpha.getdata()) <= {0, 255}
    assert alpha.getpixel(_prepared_point((0.75, 0.5), upright, square_policy)) == 0, "painted white: edit"
    assert alpha.getpixel(_prepared_point((0.4, 0.5), upright, square_policy)) == 255, "painted black: keep"


def _prepared_point(
    fraction: tuple[float, float], upright: tuple[int, int], square_policy: str, side_out: int = 512
) -> tuple[int, int]:
    """Where a point of the upright source lands after centre crop or pad to a square, then resize."""
    width, height = upright
    side = min(width, height) if square_policy == "crop" else max(width, height)
    x = (fraction[0] * width - (width - side) / 2) * side_out / side
    y = (fraction[1] * height - (height - side) / 2) * side_out / side
    return int(x), int(y)


@pytest.mark.parametrize("source", SOURCES)
def test_gpt_image_edit_keeps_acceptable_files_as_they_are(source: str, emulator: ImagesAPIEmulator) -> None:
    content, upright = SOURCES[source]()
    OpenAIImagesHook(transport=emulator.transport()).edit(
        [content, picture(64, 64)], "a collage", mask=_painted_mask(upright), model="gpt-image-2.5-flare"
    )
    (request,) = emulator.requests_to("edits")
    first, second, mask_part = request.files
    received = decode(first.content)
    assert first.content_type in ("image/png", "image/jpeg", "image/webp")
    assert received.size == upright
    if source == "jpeg-exif-rotated":
        assert first.content != content, "turned upright, so re-encoded"
    else:
        assert first.content == content, "acceptable as it is: sent untouched"
    assert second.field_name == "image[]"
    assert decode(mask_part.content).size == upright


def test_a_mask_of_another_size_is_resized_with_the_image(emulator: ImagesAPIEmulator) -> None:
    OpenAIImagesHook(transport=emulator.transport()).edit(
        encode(_scene(1600, 1200), "JPEG"), "x", mask=_painted_mask((400, 300)), model="dall-e-2", size="256x256"
    )
    _, mask_part = emulator.requests_to("edits")[0].files
    assert decode(mask_part.content).size == (256, 256)


def test_mask_boxes_are_drawn_in_source_pixels(emulator: ImagesAPIEmulator) -> None:
    OpenAIImagesHook(transport=emulator.transport()).edit(
        encode(_scene(1200, 600), "JPEG"), "x", mask_box=[(300, 0, 600, 300), (600, 300, 900, 600)],
        model="dall-e-2", size="256x256", response_format="b64_json",
    )  # fmt: skip
    _, mask_part = emulator.requests_to("edits")[0].files
    alpha = decode(mask_part.content).getchannel("A")
    # centre crop keeps x in [300, 900): the boxes land in the top-left and bottom-right quarters
    assert alpha.getpixel((64, 64)) == 0
    assert alpha.getpixel((192, 192)) == 0
    assert alpha.getpixel((192, 64)) == 255
    assert alpha.getpixel((64, 192)) == 255


def test_a_real_alpha_mask_is_used_as_it_is(emulator: ImagesAPIEmulator) -> None:
    mask = Image.new("RGBA", (300, 300), (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle((0, 0, 149, 299), fill=(0, 0, 0, 0))
    response = OpenAIImagesHook(transport=emulator.transport()).edit(
        picture(300, 300), "x", mask=encode(mask), model="dall-e-2"
    )
    assert response.data
    alpha = decode(emulator.requests_to("edits")[0].files[1].content).getchannel("A")
    assert alpha.getpixel((10, 10)) == 0
    assert alpha.getpixel((290, 10)) == 255


# -- bad inputs: a clear error, and nothing sent ---------------------------------------------------

BAD_INPUTS: dict[str, tuple[Callable[[OpenAIImagesHook], object], str, str]] = {
    "unknown size": (lambda h: h.generate("x", model="dall-e-2", size="1792x1024"), "size", "'1024x1024'"),
    "n for dall-e-3": (lambda h: h.generate("x", model="dall-e-3", n=2), "n", "only 1"),
    "long prompt": (lambda h: h.generate("x" * 1001, model="dall-e-2"), "prompt", "at most 1000"),
    "variation of a gpt model": (lambda h: h.create_variation(picture(), model="gpt-image-2"), "model", "dall-e-2"),
    "17 images": (lambda h: h.edit([picture(16, 16)] * 17, "x", model="gpt-image-2.5-flare"), "image", "1 to 16"),
    "two images for dall-e-2": (lambda h: h.edit([picture(), picture()], "x", model="dall-e-2"), "image", "1 to 1"),
    "not an image": (lambda h: h.create_variation(b"%PDF-1.7 not an image"), "image", "PNG, JPEG or WEBP"),
    "a text file path": (lambda h: h.create_variation(__file__), "image", "PNG, JPEG or WEBP"),
    "truncated image": (lambda h: h.create_variation(picture(300, 300)[:200]), "image", "decodable"),
    "mask marks nothing": (
        lambda h: h.edit(picture(), "x", mask=encode(Image.new("L", (256, 256), 0)), model="dall-e-2"),
        "mask", "at least one pixel",
    ),
    "mask and boxes": (
        lambda h: h.edit(picture(), "x", mask=_painted_mask((256, 256)), mask_box=(0, 0, 9, 9), model="dall-e-2"),
        "mask_box", "no mask_box",
    ),
    "box outside the image": (
        lambda h: h.edit(picture(), "x", mask_box=(0, 0, 999, 10), model="dall-e-2"), "mask_box", "inside the",
    ),
    "mask not matching the first image, unprepared": (
        lambda h: h.edit([picture(64, 64), picture(32, 32)], "x", mask=_painted_mask((32, 32)),
                         model="gpt-image-2.5-flare", prepare=False),
        "mask", "size of the first image",
    ),
    "non-square jpeg, unprepared": (
        lambda h: h.create_variation(encode(_scene(300, 200), "JPEG"), prepare=False), "image", "square PNG",
    ),
    "unknown square policy": (
        lambda h: h.create_variation(picture(), square_policy="stretch"), "square_policy", "'crop' or 'pad'",  # type: ignore[arg-type]
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_refused_with_a_clear_error_before_any_request(case: str, emulator: ImagesAPIEmulator) -> None:
    call, parameter, allowed = BAD_INPUTS[case]
    with pytest.raises(OpenAIImagesValidationError) as raised:
        call(OpenAIImagesHook(transport=emulator.transport()))
    assert raised.value.parameter == parameter
    assert allowed in str(raised.value)
    assert emulator.requests == [], "nothing was sent, so nothing was paid"


def test_decompression_bombs_are_refused(emulator: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100)
    with pytest.raises(OpenAIImagesValidationError, match="Pillow's limit"):
        OpenAIImagesHook(transport=emulator.transport()).create_variation(picture(150, 150))
    assert emulator.requests == []
