"""The 2.x families' previews and overlays, in-process: animated GIFs (real bytes, frames and delays as
asked, and their rules), SVG documents (well-formed, of the requested size, with ``svg_usage``, and
their rules), and markup overlays on edits."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest
from defusedxml import ElementTree
from PIL import Image, ImageSequence

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.unit.testing.emulator_calls import client, edit, first_file, generate, image_part, ok, png, refused, valid

SVG = "{http://www.w3.org/2000/svg}"
PREVIEW_MODELS = ("gpt-image-2", "gpt-image-2.5-flare", "gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.6-flare")


def frames_of(content: bytes) -> tuple[Image.Image, list[Image.Image], list[int]]:
    """The GIF, its frames (RGB copies) and each frame's delay in ms."""
    gif = Image.open(io.BytesIO(content))
    assert gif.format == "GIF"
    frames, delays = [], []
    for frame in ImageSequence.Iterator(gif):
        delays.append(frame.info["duration"])
        frames.append(frame.convert("RGB"))
    return gif, frames, delays


# -- GIF ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", PREVIEW_MODELS)
@pytest.mark.parametrize(
    ("asked", "frames", "delay"),
    [({}, 9, 200), ({"frame_count": 2, "frame_duration_ms": 123}, 2, 120), ({"frame_count": 16}, 16, 200)],
    ids=["defaults", "2-frames-rounded", "16-frames"],
)
def test_a_gif_is_animated_with_the_frames_and_delay_asked_for(
    model: str, asked: dict[str, int], frames: int, delay: int, emulator: ImagesAPIEmulator
) -> None:
    body = ok(generate(emulator, model=model, output_format="gif", size="256x160", **asked))
    assert body["output_format"] == "gif"
    gif, images, delays = frames_of(first_file(body))
    assert (getattr(gif, "n_frames", 1), gif.size, gif.info["duration"]) == (frames, (256, 160), delay)
    assert delays == [delay] * frames
    for previous, following in itertools.pairwise(images):
        assert previous.tobytes() != following.tobytes(), "each frame a variation of the drawing"


@pytest.mark.parametrize(
    ("asked", "encoded"), [(4, 10), (15, 20), (1005, 1010), (655_351, 655_350), (1_000_000, 655_350)]
)
def test_a_gif_frame_delay_is_rounded_to_10_ms_and_capped(
    asked: int, encoded: int, emulator: ImagesAPIEmulator
) -> None:
    body = ok(
        generate(
            emulator, model="gpt-image-2", output_format="gif", frame_count=2, frame_duration_ms=asked, size="64x64"
        )
    )
    assert frames_of(first_file(body))[2] == [encoded, encoded]


def test_a_gif_edit_animates_the_edited_image(emulator: ImagesAPIEmulator) -> None:
    body = ok(
        edit(
            emulator,
            [image_part(png(64, 64))],
            model="gpt-image-2.5-sunburst",
            output_format="gif",
            frame_count=3,
            size="128x128",
        )
    )
    gif, _, _ = frames_of(first_file(body))
    assert (getattr(gif, "n_frames", 1), gif.size) == (3, (128, 128))


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"output_format": "gif", "frame_count": 1}, "frame_count", "1"),
        ({"output_format": "gif", "frame_count": 17}, "frame_count", "17"),
        ({"output_format": "gif", "frame_duration_ms": 0}, "frame_duration_ms", "0"),
        ({"output_format": "gif", "frame_duration_ms": -10}, "frame_duration_ms", "-10"),
        ({"output_format": "png", "frame_count": 4}, "frame_count", "output_format=gif"),
        ({"frame_count": 4}, "frame_count", "output_format=gif"),
        ({"output_format": "svg", "frame_duration_ms": 100}, "frame_duration_ms", "output_format=gif"),
        ({"output_format": "gif", "output_compression": 80}, "output_compression", "GIF"),
        ({"output_format": "gif", "size": "2048x1152"}, "size", "1536"),
        ({"output_format": "gif", "stream": True}, "stream", "does not stream"),
    ],
)
def test_gif_rules(body: dict[str, Any], param: str, fragment: str, emulator: ImagesAPIEmulator) -> None:
    refused(generate(emulator, model="gpt-image-2.5-flare", **body), 400, param, fragment)
    assert emulator.billed_images == 0


def test_a_gif_edit_takes_no_mask(emulator: ImagesAPIEmulator) -> None:
    files = [image_part(png(64, 64)), image_part(png(64, 64, alpha=255), "mask", "mask.png")]
    refused(edit(emulator, files, model="gpt-image-2.5-sunburst", output_format="gif"), 400, "mask", "GIF")
    assert ok(edit(emulator, files, model="gpt-image-2.5-sunburst", size="64x64"))


# -- SVG ----------------------------------------------------------------------------------------------

PROMPT = "a <b>bold</b> otter & \"friends\" say 'hi'"


@pytest.mark.parametrize("model", PREVIEW_MODELS)
@pytest.mark.parametrize(("size", "width", "height"), [("auto", 1024, 1024), ("1536x864", 1536, 864)])
def test_an_svg_is_a_well_formed_document_of_the_requested_size(
    model: str, size: str, width: int, height: int, emulator: ImagesAPIEmulator
) -> None:
    body = ok(generate(emulator, model=model, output_format="svg", size=size, prompt=PROMPT))
    assert (body["output_format"], body["size"]) == ("svg", f"{width}x{height}")
    content = first_file(body)
    assert content.startswith(b"<?xml")
    root = ElementTree.fromstring(content)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == (
        str(width),
        str(height),
        f"0 0 {width} {height}",
    )
    assert root.find(f"{SVG}text").text == PROMPT, "the prompt, XML-escaped, as text"
    assert {child.tag.removeprefix(SVG) for child in root} >= {"rect", "ellipse", "text"}


@pytest.mark.parametrize(
    ("svg", "author", "reasoning"),
    [
        (None, "gpt-image-2.5-flare", 1024),
        ({"model": "gpt-5.5"}, "gpt-5.5", 1024),
        ({"model": "gpt-5.5", "reasoning": {"effort": "none"}}, "gpt-5.5", 0),
        ({"model": "gpt-5.5", "reasoning": {"effort": "max"}}, "gpt-5.5", 16384),
        ({"model": "gpt-5.5", "reasoning": None}, "gpt-5.5", 1024),
    ],
)
def test_an_svg_answer_carries_svg_usage(
    svg: dict[str, Any] | None, author: str, reasoning: int, emulator: ImagesAPIEmulator
) -> None:
    extra = {} if svg is None else {"svg": svg}
    body = ok(generate(emulator, model="gpt-image-2.5-flare", output_format="svg", quality="low", **extra))
    usage = valid("SvgUsage", body["svg_usage"])
    assert (usage["model"], usage["reasoning_tokens"]) == (author, reasoning)
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_tokens"] > reasoning, "the document's tokens and the reasoning"
    assert body["usage"]["output_tokens"] == 200, "the reference image: one low-quality 1024x1024 image"


def test_an_svg_edit_takes_multipart_svg_fields(emulator: ImagesAPIEmulator) -> None:
    answer = edit(
        emulator,
        [image_part(png(64, 64))],
        model="gpt-image-2.5-sunburst",
        output_format="svg",
        **{"svg[model]": "gpt-5.5", "svg[reasoning][effort]": "high"},
    )
    body = ok(answer)
    assert (body["svg_usage"]["model"], body["svg_usage"]["reasoning_tokens"]) == ("gpt-5.5", 4096)
    refused(
        edit(
            emulator,
            [image_part(png(64, 64))],
            model="gpt-image-2.5-sunburst",
            output_format="svg",
            **{"svg[author]": "x"},
        ),
        400,
        "svg[author]",
    )


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"output_format": "svg", "n": 2}, "n", "n=1"),
        ({"output_format": "svg", "output_compression": 90}, "output_compression", "SVG"),
        ({"output_format": "png", "svg": {"model": "gpt-5.5"}}, "svg", "output_format=svg"),
        ({"svg": {"model": "gpt-5.5"}}, "svg", "output_format=svg"),
        ({"output_format": "svg", "svg": {"model": ""}}, "svg", "'model'"),
        ({"output_format": "svg", "svg": {"reasoning": {"effort": "low"}}}, "svg", "model"),
        ({"output_format": "svg", "svg": {"model": "x", "reasoning": {"effort": "huge"}}}, "svg", "huge"),
        ({"output_format": "svg", "background": "transparent"}, "output_format", "'png' or 'webp'"),
    ],
)
def test_svg_rules(body: dict[str, Any], param: str, fragment: str, emulator: ImagesAPIEmulator) -> None:
    refused(generate(emulator, model="gpt-image-2", **body), 400, param, fragment)
    assert emulator.billed_images == 0


def test_an_svg_url_answer_is_served_as_image_svg_xml(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True  # a name it does not know, checked for nothing: URL answers possible
    with client(emulator) as http:
        answer = http.post(
            "/images/generations",
            json={"prompt": PROMPT, "model": "gpt-image-next", "output_format": "svg", "response_format": "url"},
        )
        served = http.get(answer.json()["data"][0]["url"])
    assert served.headers["content-type"] == "image/svg+xml"
    assert ElementTree.fromstring(served.content).tag == f"{SVG}svg"


# -- markup -------------------------------------------------------------------------------------------

IMAGE = image_part(png(96, 64))
MARKUP = image_part(png(96, 64, alpha=255), "markup", "markup.png")


@pytest.mark.parametrize("model", ["gpt-image-2.5-sunburst", "gpt-image-2.5-flare-2026-09-08", "gpt-image-2.6-flare"])
def test_a_markup_overlay_guides_an_edit(model: str, emulator: ImagesAPIEmulator) -> None:
    body = ok(edit(emulator, [IMAGE, MARKUP], model=model, size="96x64"))
    without = ok(edit(emulator, [IMAGE], model=model, size="96x64"))
    assert first_file(body) != first_file(without), "the markup's strokes are drawn on the edit"
    assert body["usage"]["input_tokens_details"]["image_tokens"] == 2 * 255, "the image and the markup"
    assert (emulator.requests[0].files[1].field_name, emulator.billed_images) == ("markup", 2)


@pytest.mark.parametrize(
    ("files", "model", "param", "fragment"),
    [
        (
            [IMAGE, MARKUP, image_part(png(96, 64, alpha=255), "mask", "m.png")],
            "gpt-image-2.5-sunburst",
            "markup",
            "mask",
        ),
        ([IMAGE, image_part(png(64, 64, alpha=255), "markup", "m.png")], "gpt-image-2.5-sunburst", "markup", "64x64"),
        ([IMAGE, image_part(png(96, 64), "markup", "m.png")], "gpt-image-2.5-sunburst", "markup", "transparent"),
        (
            [IMAGE, ("markup", ("m.jpg", b"not an image", "image/jpeg"))],
            "gpt-image-2.5-sunburst",
            "markup",
            "Invalid image file 'markup'",
        ),
        ([IMAGE, MARKUP, MARKUP], "gpt-image-2.5-sunburst", "markup", "one markup"),
        ([IMAGE, MARKUP], "gpt-image-2", "markup", "'gpt-image-2'"),
        ([IMAGE, MARKUP], "gpt-image-1.5", "markup", "'gpt-image-1.5'"),
    ],
    ids=["with-mask", "wrong-size", "opaque", "not-a-png", "two", "gpt-image-2", "gpt-image-1.5"],
)
def test_markup_rules(files: list[Any], model: str, param: str, fragment: str, emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    refused(edit(emulator, files, model=model), 400, param, fragment)
    assert emulator.billed_images == 0


def test_markup_is_a_multipart_upload_of_edits_only(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    source = "data:image/png;base64,iVBORw0KGgo="
    with client(emulator) as http:
        json_edit = http.post(
            "/images/edits",
            json={"model": "gpt-image-2.5-sunburst", "prompt": "x", "images": [{"image_url": source}], "markup": "x"},
        )
        variation = http.post(
            "/images/variations",
            data={"model": "dall-e-2"},
            files=[image_part(png(64, 64)), image_part(png(64, 64, alpha=255), "markup", "m.png")],
        )
    refused(json_edit, 400, "markup", "multipart")
    refused(variation, 400, "markup", "variations")
