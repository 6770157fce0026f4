"""The emulator's own parameter rules, in-process, each checked against openai 3.63.0's documented
surface: sizes (a Hypothesis property for the flexible-size rule), qualities, output formats,
``response_format``/``style``, ``n``, prompt limits, ``input_fidelity``, ``complexity``,
``safety_identifier`` and streaming. GIF, SVG and markup are in ``test_emulator_previews.py``."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from defusedxml import ElementTree
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.unit.testing.emulator_calls import (
    EXTENDED_QUALITY,
    FLEXIBLE,
    RETIRED,
    SERVED,
    client,
    edit,
    first_file,
    generate,
    image_part,
    ok,
    png,
    refused,
)

RETIRED_GPT_IMAGE = [name for name in RETIRED if not name.startswith("dall-e")]
STANDARD_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")


def takes_flexible_size(width: int, height: int) -> bool:
    """The flexible-size rule as openai 3.63.0's ``size`` docstring states it: both sides divisible by 16,
    aspect ratio between 1:3 and 3:1, at most 3840x2160 (so the long side at most 3840 and the short
    side at most 2160, either way round)."""
    long_side, short_side = max(width, height), min(width, height)
    return (
        width % 16 == 0
        and height % 16 == 0
        and long_side <= 3 * short_side
        and long_side <= 3840
        and short_side <= 2160
    )


#: one emulator for every Hypothesis example (a function-scoped fixture would be shared anyway)
_PROPERTY_EMULATOR = ImagesAPIEmulator()
#: sides next to the rule's limits: 16, 32, 2144/2160/2176, 3824/3840/3856, 4096
_EDGE_SIDES = [16 * multiple for multiple in (1, 2, 134, 135, 136, 239, 240, 241, 256)]
_SIDES = st.one_of(
    st.integers(1, 4400), st.integers(1, 270).map(lambda multiple: 16 * multiple), st.sampled_from(_EDGE_SIDES)
)


@st.composite
def _sizes(draw: st.DrawFn) -> tuple[int, int]:
    """Any two sides, or a pair next to the 3:1 ratio; either way round."""
    if draw(st.booleans()):
        short = 16 * draw(st.integers(1, 135))
        pair = (3 * short + 16 * draw(st.integers(-1, 1)), short)
    else:
        pair = (draw(_SIDES), draw(_SIDES))
    return pair if draw(st.booleans()) else (pair[1], pair[0])


@given(dimensions=_sizes(), model=st.sampled_from(FLEXIBLE))
def test_a_flexible_size_is_accepted_exactly_when_the_published_rule_takes_it(
    dimensions: tuple[int, int], model: str
) -> None:
    width, height = dimensions
    size = f"{width}x{height}"
    # SVG output: the emulator draws nothing expensive, so 4K sizes cost nothing here
    answer = generate(_PROPERTY_EMULATOR, model=model, size=size, output_format="svg")
    if takes_flexible_size(width, height):
        body = ok(answer)
        assert body["size"] == size
        svg = ElementTree.fromstring(first_file(body))
        assert (svg.get("width"), svg.get("height")) == (str(width), str(height))
    else:
        refused(answer, 400, "size", f"'{size}'", f"'{model}'")
    _PROPERTY_EMULATOR.reset()


MAXIMUM, RATIO, MULTIPLE, SHAPE = "maximum supported resolution", "aspect ratio", "divisible by 16", "WIDTHxHEIGHT"


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        ("3840x2160", None),
        ("2160x3840", None),
        ("2560x1440", None),
        ("2576x1456", None),  # experimental
        ("3840x1280", None),
        ("1280x3840", None),
        ("16x48", None),
        ("1536x864", None),
        ("3856x2160", MAXIMUM),
        ("3840x2176", MAXIMUM),
        ("2176x2176", MAXIMUM),
        ("2400x2400", MAXIMUM),
        ("3840x1264", RATIO),
        ("16x64", RATIO),
        ("1000x1000", MULTIPLE),
        ("1024x1000", MULTIPLE),
        ("0x1024", SHAPE),
        ("1024", SHAPE),
        ("big", SHAPE),
        ("1024X1024", SHAPE),
    ],
)
def test_flexible_sizes_at_the_edges_of_the_rule(size: str, reason: str | None, emulator: ImagesAPIEmulator) -> None:
    answer = generate(emulator, model="gpt-image-2.5-sunburst", size=size, output_format="svg")
    if reason is None:
        assert ok(answer)["size"] == size
    else:
        refused(answer, 400, "size", f"'{size}'", reason)


def test_flexible_sizes_hold_for_edits_multipart_and_json(emulator: ImagesAPIEmulator) -> None:
    multipart = ok(edit(emulator, [image_part(png(128, 128))], model="gpt-image-2", size="768x1344"))
    source = base64.b64encode(png(128, 128)).decode()
    with client(emulator) as http:
        json_edit = http.post(
            "/images/edits",
            json={
                "model": "gpt-image-2.6-flare",
                "prompt": "x",
                "size": "1344x768",
                "images": [{"image_url": f"data:image/png;base64,{source}"}],
            },
        )
    assert (multipart["size"], ok(json_edit)["size"]) == ("768x1344", "1344x768")
    assert Image.open(io.BytesIO(first_file(multipart))).size == (768, 1344)


@pytest.mark.parametrize("model", RETIRED_GPT_IMAGE)
def test_the_1x_models_take_only_the_standard_sizes(model: str, emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    for size in STANDARD_SIZES:
        assert ok(generate(emulator, model=model, size=size, quality="low"))["size"] == (
            "1024x1024" if size == "auto" else size
        )
    for size in ("1536x864", "2048x2048", "256x256", "1792x1024"):
        refused(generate(emulator, model=model, size=size), 400, "size", f"'{size}'", "'1024x1536'")


@pytest.mark.parametrize(
    ("model", "accepted", "refused_sizes"),
    [
        ("dall-e-2", ("256x256", "512x512", "1024x1024"), ("1792x1024", "1536x1024", "auto")),
        ("dall-e-3", ("1024x1024", "1792x1024", "1024x1792"), ("512x512", "1024x1536", "2048x2048")),
    ],
)
def test_dall_e_sizes(
    model: str, accepted: tuple[str, ...], refused_sizes: tuple[str, ...], emulator: ImagesAPIEmulator
) -> None:
    emulator.compatible_server = True
    emulator.incompressible_images = True  # URL answers: nothing is drawn that the test does not read
    for size in accepted:
        assert ok(generate(emulator, model=model, size=size)).keys() == {"created", "data"}
    for size in refused_sizes:
        refused(generate(emulator, model=model, size=size), 400, "size", f"'{size}'")


# -- quality --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", SERVED)
def test_qualities_of_the_served_models(model: str, emulator: ImagesAPIEmulator) -> None:
    extended = model in EXTENDED_QUALITY
    for quality in ("low", "medium", "high", "xhigh", "max"):
        answer = generate(emulator, model=model, quality=quality, size="256x256")
        if quality in ("xhigh", "max") and not extended:
            refused(answer, 400, "quality", f"'{quality}'", f"'{model}'", "'auto', 'high', 'low' and 'medium'")
        else:
            assert ok(answer)["quality"] == quality
    for legacy in ("standard", "hd"):
        refused(generate(emulator, model=model, quality=legacy), 400, "quality", f"'{legacy}'")


def test_auto_quality_is_echoed_as_a_concrete_one(emulator: ImagesAPIEmulator) -> None:
    assert ok(generate(emulator, model="gpt-image-2", quality="auto", size="256x256"))["quality"] == "medium"
    assert ok(generate(emulator, model="gpt-image-2.5-flare", size="256x256"))["quality"] == "medium"


def test_qualities_of_the_retired_models_on_a_compatible_server(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    emulator.incompressible_images = True
    for model in RETIRED_GPT_IMAGE:
        refused(generate(emulator, model=model, quality="xhigh"), 400, "quality", "'xhigh'")
    assert ok(generate(emulator, model="dall-e-3", quality="hd"))
    assert ok(generate(emulator, model="dall-e-2", quality="standard", size="256x256"))
    refused(generate(emulator, model="dall-e-2", quality="hd", size="256x256"), 400, "quality", "'hd'", "'standard'")
    refused(generate(emulator, model="dall-e-3", quality="high"), 400, "quality", "'high'", "'hd'")


# -- output formats, response_format and style -----------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-2.5-flare", "gpt-image-2.6-sunburst", "gpt-image-1.5"])
@pytest.mark.parametrize("output_format", ["png", "jpeg", "webp"])
def test_every_gpt_image_model_answers_png_jpeg_and_webp(
    model: str, output_format: str, emulator: ImagesAPIEmulator
) -> None:
    emulator.compatible_server = True
    body = ok(generate(emulator, model=model, output_format=output_format, size="1024x1024", quality="low"))
    assert body["output_format"] == output_format
    assert Image.open(io.BytesIO(first_file(body))).format == output_format.upper()


@pytest.mark.parametrize("model", RETIRED_GPT_IMAGE)
@pytest.mark.parametrize("output_format", ["gif", "svg"])
def test_the_1x_models_have_no_gif_nor_svg(model: str, output_format: str, emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    refused(
        generate(emulator, model=model, output_format=output_format),
        400,
        "output_format",
        f"'{output_format}'",
        "'jpeg', 'png' and 'webp'",
    )


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("output_format", "png"),
        ("background", "opaque"),
        ("output_compression", 50),
        ("moderation", "low"),
        ("complexity", "low"),
        ("safety_identifier", "user-1"),
        ("frame_count", 4),
        ("svg", {"model": "x"}),
    ],
)
def test_dall_e_refuses_the_gpt_image_parameters(param: str, value: Any, emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    error = refused(generate(emulator, model="dall-e-3", **{param: value}), 400, param, "'dall-e-3'")
    assert error["code"] == "unsupported_parameter"


@pytest.mark.parametrize(
    ("param", "value"), [("response_format", "url"), ("response_format", "b64_json"), ("style", "vivid")]
)
def test_gpt_image_models_refuse_the_legacy_parameters(param: str, value: str, emulator: ImagesAPIEmulator) -> None:
    error = refused(generate(emulator, model="gpt-image-2.5-flare", **{param: value}), 400, param, f"'{value}'")
    assert error["code"] == "unsupported_parameter"
    emulator.compatible_server = True
    dall_e = ok(generate(emulator, model="dall-e-3", **{param: value}))
    assert ("b64_json" if value == "b64_json" else "url") in dall_e["data"][0]


@pytest.mark.parametrize("output_format", ["jpeg", "gif", "svg"])
def test_a_transparent_background_needs_png_or_webp(output_format: str, emulator: ImagesAPIEmulator) -> None:
    refused(
        generate(emulator, model="gpt-image-2.5-flare", background="transparent", output_format=output_format),
        400,
        "output_format",
        f"'{output_format}'",
        "'png' or 'webp'",
    )
    for fine in ("png", "webp"):
        body = ok(
            generate(
                emulator, model="gpt-image-2.5-flare", background="transparent", output_format=fine, size="256x256"
            )
        )
        assert body["background"] == "transparent"
        assert Image.open(io.BytesIO(first_file(body))).mode == "RGBA"


# -- n, prompts ---------------------------------------------------------------------------------------


def test_n_is_1_to_10_and_1_for_dall_e_3(emulator: ImagesAPIEmulator) -> None:
    assert len(ok(generate(emulator, model="gpt-image-2", n=10, size="64x64"))["data"]) == 10
    for n in (0, 11):
        refused(generate(emulator, model="gpt-image-2", n=n), 400, "n")
    emulator.compatible_server = True
    refused(generate(emulator, model="dall-e-3", n=2), 400, "n", "2", "from 1 to 1")


@pytest.mark.parametrize(
    ("model", "limit"), [("gpt-image-2.5-flare", 32000), ("gpt-image-1", 32000), ("dall-e-2", 1000), ("dall-e-3", 4000)]
)
def test_prompt_limits(model: str, limit: int, emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    emulator.incompressible_images = True
    size = {"dall-e-2": "256x256", "dall-e-3": "1024x1024"}.get(model, "1024x1024")
    assert ok(generate(emulator, model=model, prompt="p" * limit, size=size))
    error = refused(generate(emulator, model=model, prompt="p" * (limit + 1), size=size), 400, "prompt", str(limit))
    assert error["code"] == "string_above_max_length"


# -- input_fidelity, complexity, safety_identifier --------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "takes"),
    [
        ("gpt-image-1", ("high", "low")),
        ("gpt-image-1.5", ("high", "low")),
        ("chatgpt-image-latest", ("high", "low")),
        ("gpt-image-1-mini", ("low",)),
        *((name, ()) for name in SERVED),
    ],
)
def test_input_fidelity(model: str, takes: tuple[str, ...], emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    for fidelity in ("high", "low"):
        answer = edit(emulator, [image_part(png(64, 64))], model=model, input_fidelity=fidelity, quality="low")
        if fidelity in takes:
            ok(answer)
        elif takes:
            refused(answer, 400, "input_fidelity", f"'{fidelity}'", "'low'")
        else:
            error = refused(answer, 400, "input_fidelity", f"'{fidelity}'", "omit")
            assert error["code"] == "unsupported_parameter"


@pytest.mark.parametrize("model", SERVED)
def test_complexity_on_the_gpt_image_models(model: str, emulator: ImagesAPIEmulator) -> None:
    for complexity in ("low", "medium", "high"):
        ok(generate(emulator, model=model, complexity=complexity, size="64x64"))
    refused(generate(emulator, model=model, complexity="extreme"), 400, "complexity")


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ({"safety_identifier": "hash-1"}, "hash-1"),
        ({"safety_identifier": "hash-1", "user": "user-1"}, "hash-1"),
        ({"safety_identifier": "", "user": "user-1"}, "user-1"),
        ({"safety_identifier": None, "user": "user-1"}, "user-1"),
        ({"user": "user-1"}, "user-1"),
        ({}, None),
    ],
)
def test_the_answer_echoes_the_effective_safety_identifier(
    sent: dict[str, Any], echoed: str | None, emulator: ImagesAPIEmulator
) -> None:
    body = ok(generate(emulator, model="gpt-image-2", size="64x64", **sent))
    assert body.get("safety_identifier") == echoed


# -- streaming --------------------------------------------------------------------------------------


def test_the_emulator_refuses_to_stream(emulator: ImagesAPIEmulator) -> None:
    for body in ({"stream": True}, {"stream": True, "partial_images": 2}, {"partial_images": 0}):
        param = "stream" if "stream" in body else "partial_images"
        error = refused(generate(emulator, model="gpt-image-2.5-flare", **body), 400, param, "does not stream")
        assert error["code"] == "unsupported_parameter"
    multipart = edit(emulator, [image_part(png(64, 64))], model="gpt-image-2.5-sunburst", stream=True)
    refused(multipart, 400, "stream", "does not stream")
    assert ok(generate(emulator, model="gpt-image-2.5-flare", stream=False, size="64x64"))
    assert emulator.billed_images == 1


def test_refusals_name_the_parameter_the_value_and_what_is_allowed(emulator: ImagesAPIEmulator) -> None:
    answer = generate(emulator, model="gpt-image-2", quality="max")
    assert answer.json() == {
        "error": {
            "message": "Invalid value for 'quality' with model 'gpt-image-2': 'max'. "
            "Supported values are: 'auto', 'high', 'low' and 'medium'.",
            "type": "invalid_request_error",
            "param": "quality",
            "code": "invalid_value",
        }
    }
    assert json.loads(answer.content) == answer.json()
