"""Token usage as the GPT image models report it, in-process: gpt-image-1's documented figures for the
1.x models, the emulator's stated figures for the 2.x families (by quality, scaled by pixel area), GIFs
costing their frames, input text and image tokens; and every kind of answer valid against the packaged
OpenAPI document."""

from __future__ import annotations

import math
from typing import Any

import pytest

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.unit.testing.emulator_calls import edit, generate, image_part, ok, png, valid

#: gpt-image-1's documented output tokens per image (OpenAI's image generation guide)
DOCUMENTED = {
    "1024x1024": {"low": 272, "medium": 1056, "high": 4160},
    "1024x1536": {"low": 408, "medium": 1584, "high": 6240},
    "1536x1024": {"low": 408, "medium": 1584, "high": 6240},
}
#: the emulator's stated figures for the 2.x families, per 1024x1024 image
STATED = {"low": 200, "medium": 1760, "high": 7040, "xhigh": 12000, "max": 20000}


def usage_of(body: dict[str, Any]) -> dict[str, Any]:
    usage: dict[str, Any] = body["usage"]
    assert usage["input_tokens"] == sum(usage["input_tokens_details"].values())
    assert usage["output_tokens"] == sum(usage["output_tokens_details"].values())
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_tokens_details"]["text_tokens"] == 0
    return usage


@pytest.mark.parametrize("model", ["gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest"])
@pytest.mark.parametrize("size", list(DOCUMENTED))
@pytest.mark.parametrize("quality", ["low", "medium", "high"])
def test_the_1x_models_report_gpt_image_1s_documented_figures(
    model: str, size: str, quality: str, emulator: ImagesAPIEmulator
) -> None:
    emulator.compatible_server = True
    emulator.incompressible_images = True
    body = ok(generate(emulator, model=model, size=size, quality=quality, n=2))
    assert usage_of(body)["output_tokens"] == 2 * DOCUMENTED[size][quality]
    assert (body["quality"], body["size"], body["output_format"], body["background"]) == (
        quality,
        size,
        "png",
        "opaque",
    )


@pytest.mark.parametrize(
    ("model", "size", "quality", "per_image"),
    [
        *(("gpt-image-2.5-flare", "1024x1024", quality, tokens) for quality, tokens in STATED.items()),
        *(("gpt-image-2.6-sunburst", "1024x1024", quality, tokens) for quality, tokens in STATED.items()),
        ("gpt-image-2", "1024x1024", "high", 7040),
        ("gpt-image-2", "1536x1024", "high", round(7040 * 1.5)),
        ("gpt-image-2-2026-04-21", "2048x1152", "medium", round(1760 * 2048 * 1152 / 1024**2)),
        ("gpt-image-2.5-sunburst", "3840x2160", "max", round(20000 * 3840 * 2160 / 1024**2)),
        ("gpt-image-2.5-flare", "512x512", "low", 50),
        ("gpt-image-2.5-flare", "auto", "auto", 1760),
    ],
)
def test_the_2x_families_report_the_emulators_figures_scaled_by_area(
    model: str, size: str, quality: str, per_image: int, emulator: ImagesAPIEmulator
) -> None:
    emulator.incompressible_images = True
    output_format = "svg" if size == "3840x2160" else "png"  # no 4K PNG to draw
    n = 1 if output_format == "svg" else 2
    body = ok(generate(emulator, model=model, size=size, quality=quality, n=n, output_format=output_format))
    assert usage_of(body)["output_tokens"] == n * per_image
    assert body["quality"] == ("medium" if quality == "auto" else quality), "a concrete quality, never auto"


def test_a_gif_costs_its_frames(emulator: ImagesAPIEmulator) -> None:
    five = ok(
        generate(
            emulator,
            model="gpt-image-2.5-flare",
            output_format="gif",
            frame_count=5,
            quality="low",
            size="1024x1024",
            n=2,
        )
    )
    default = ok(generate(emulator, model="gpt-image-2", output_format="gif", quality="high", size="256x256"))
    assert usage_of(five)["output_tokens"] == 2 * 5 * 200
    assert usage_of(default)["output_tokens"] == 9 * round(7040 / 16)


@pytest.mark.parametrize("prompt", ["a", "an otter", "x" * 101])
def test_input_text_tokens_are_a_quarter_of_the_prompts_characters(prompt: str, emulator: ImagesAPIEmulator) -> None:
    usage = usage_of(ok(generate(emulator, model="gpt-image-2", prompt=prompt, size="64x64")))
    assert usage["input_tokens_details"] == {"text_tokens": math.ceil(len(prompt) / 4), "image_tokens": 0}


@pytest.mark.parametrize(
    ("sizes", "image_tokens"),
    [
        ([(256, 256)], 85 + 170),  # one 512-pixel tile
        ([(1024, 1024)], 85 + 170 * 4),  # brought down to 768x768: four tiles
        ([(2048, 2048)], 85 + 170 * 4),
        ([(1536, 1024)], 85 + 170 * 6),  # 1152x768: three by two tiles
        ([(256, 256), (1024, 1024)], 255 + 765),
    ],
)
def test_an_edit_counts_the_tokens_of_its_input_images(
    sizes: list[tuple[int, int]], image_tokens: int, emulator: ImagesAPIEmulator
) -> None:
    files = [("image[]", (f"{index}.png", png(*size), "image/png")) for index, size in enumerate(sizes)]
    files += [image_part(png(*sizes[0], alpha=255), "mask", "mask.png")]  # a mask is not an input image
    body = ok(edit(emulator, files, model="gpt-image-2.5-sunburst", quality="high", size="1024x1024"))
    usage = usage_of(body)
    assert usage["input_tokens_details"] == {"text_tokens": 3, "image_tokens": image_tokens}  # "add a ribbon"
    assert usage["output_tokens"] == 7040


def test_high_input_fidelity_doubles_the_input_image_tokens(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    low, high = (
        usage_of(
            ok(
                edit(
                    emulator, [image_part(png(256, 256))], model="gpt-image-1.5", input_fidelity=fidelity, quality="low"
                )
            )
        )
        for fidelity in ("low", "high")
    )
    assert (low["input_tokens_details"]["image_tokens"], high["input_tokens_details"]["image_tokens"]) == (255, 510)


def test_dall_e_answers_carry_no_usage(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    body = ok(generate(emulator, model="dall-e-2", size="256x256", user="user-1"))
    assert set(body) == {"created", "data"}


# -- answers valid against the packaged document -------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-image-2.5-flare", "size": "1024x1024", "quality": "low", "output_format": "png"},
        {"model": "gpt-image-2.5-sunburst", "size": "1024x1536", "quality": "xhigh", "output_format": "jpeg"},
        {"model": "gpt-image-2.6-flare", "size": "1536x1024", "quality": "max", "output_format": "webp"},
        {"model": "gpt-image-2", "size": "2048x1152", "quality": "auto", "safety_identifier": "hash-1"},
        {"model": "gpt-image-2", "size": "auto", "output_format": "gif", "frame_count": 3},
        {"model": "gpt-image-2.5-flare", "output_format": "svg", "svg": {"model": "gpt-5.5"}},
        {"model": "dall-e-2", "size": "256x256"},
        {"model": "dall-e-3", "response_format": "b64_json"},
        {"model": "gpt-image-1", "size": "1024x1536", "quality": "medium"},
    ],
    ids=["png", "jpeg-xhigh", "webp-max", "flexible-size", "gif", "svg", "dall-e-2-url", "dall-e-3-b64", "gpt-image-1"],
)
def test_answers_are_valid_images_responses(body: dict[str, Any], emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    answer = ok(generate(emulator, **body))  # ok() validates against ImagesResponse
    if "svg" in body:
        assert valid("SvgUsage", answer["svg_usage"])
    assert valid("ImagesResponse", {**answer, "size": "1536x864"}), "any WIDTHxHEIGHT"
    with pytest.raises(AssertionError):
        valid("ImagesResponse", {**answer, "size": "big"})
