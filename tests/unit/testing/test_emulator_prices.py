"""Batch billing in US dollars, in-process, against OpenAI's published prices written down here (never the
provider's price table): GPT image models by the tokens each answer reports, DALL·E per image by quality
and size, all at half price for batches."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.unit.testing.emulator_calls import client, png

#: USD per million tokens: text input, image input, image output, text output
TOKEN_PRICES = {
    "gpt-image-2": (5.0, 8.0, 30.0, 0.0),
    "gpt-image-2.5-flare": (5.0, 8.0, 30.0, 0.0),
    "gpt-image-2.5-sunburst-2026-09-08": (5.0, 8.0, 30.0, 0.0),
    "gpt-image-2.6-sunburst": (5.0, 8.0, 30.0, 0.0),  # assumed priced as the 2.5 family
    "gpt-image-1": (5.0, 10.0, 40.0, 0.0),
    "gpt-image-1-mini": (2.0, 2.5, 8.0, 0.0),
    "gpt-image-1.5": (5.0, 8.0, 32.0, 10.0),
    "chatgpt-image-latest": (5.0, 8.0, 32.0, 10.0),
}
GENERATIONS, EDITS = "/v1/images/generations", "/v1/images/edits"


@pytest.fixture
def emulator(emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    emulator.batch_phase_seconds = 0.0
    emulator.compatible_server = True
    return emulator


def run_batch(
    emulator: ImagesAPIEmulator, bodies: list[dict[str, Any]], endpoint: str = GENERATIONS
) -> list[dict[str, Any]]:
    """Run one batch of ``bodies``; the answers' bodies, in input order."""
    lines = [
        {"custom_id": f"r{index}", "method": "POST", "url": endpoint, "body": body} for index, body in enumerate(bodies)
    ]
    stored = emulator.add_file(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    request = {"input_file_id": stored.id, "endpoint": endpoint, "completion_window": "24h"}
    with client(emulator) as http:
        batch_id = http.post("/batches", json=request).json()["id"]
        record = emulator.wait_for_batch(batch_id)
        assert (record.status, record.failed) == ("completed", 0), record
        output = http.get(f"/files/{record.output_file_id}/content").content
    answers = {line["custom_id"]: line["response"]["body"] for line in map(json.loads, output.splitlines())}
    return [answers[f"r{index}"] for index in range(len(bodies))]


def token_cost(model: str, usage: dict[str, Any]) -> float:
    text_in, image_in, image_out, text_out = TOKEN_PRICES[model]
    return (
        usage["input_tokens_details"]["text_tokens"] * text_in
        + usage["input_tokens_details"]["image_tokens"] * image_in
        + usage["output_tokens_details"]["image_tokens"] * image_out
        + usage["output_tokens_details"]["text_tokens"] * text_out
    ) / 1_000_000


@pytest.mark.parametrize("model", TOKEN_PRICES)
def test_gpt_image_batches_bill_their_tokens_at_half_price(model: str, emulator: ImagesAPIEmulator) -> None:
    bodies = [
        {"model": model, "prompt": "an otter", "quality": quality, "size": "1024x1024", "n": 2}
        for quality in ("low", "high")
    ]
    answers = run_batch(emulator, bodies)
    expected = sum(token_cost(model, answer["usage"]) for answer in answers) / 2
    assert expected > 0
    assert emulator.batch_billed_usd == pytest.approx(expected)
    assert emulator.batch_billed_images == 4
    assert emulator.billed_images == 0


def test_a_flare_batch_costs_exactly_what_the_published_prices_say(emulator: ImagesAPIEmulator) -> None:
    run_batch(emulator, [{"model": "gpt-image-2.5-flare", "prompt": "an otter", "quality": "medium"}])
    # "an otter": 2 text tokens at $5/M; one medium 1024x1024 image: 1760 image tokens at $30/M; half price
    assert emulator.batch_billed_usd == pytest.approx((2 * 5 + 1760 * 30) / 1_000_000 / 2)


def test_an_edit_batch_bills_its_input_image_tokens(emulator: ImagesAPIEmulator) -> None:
    image = f"data:image/png;base64,{base64.b64encode(png(256, 256)).decode()}"
    body = {
        "model": "gpt-image-2.5-sunburst-2026-09-08",
        "prompt": "add a ribbon",
        "quality": "low",
        "images": [{"image_url": image}],
    }
    (answer,) = run_batch(emulator, [body], EDITS)
    assert answer["usage"]["input_tokens_details"] == {"text_tokens": 3, "image_tokens": 255}
    assert emulator.batch_billed_usd == pytest.approx((3 * 5 + 255 * 8 + 200 * 30) / 1_000_000 / 2)


@pytest.mark.parametrize(
    ("body", "per_image"),
    [
        ({"model": "dall-e-2", "size": "256x256"}, 0.016),
        ({"model": "dall-e-2", "size": "512x512"}, 0.018),
        ({"model": "dall-e-2", "size": "1024x1024"}, 0.02),
        ({"model": "dall-e-2"}, 0.02),
        ({"model": "dall-e-3"}, 0.04),
        ({"model": "dall-e-3", "quality": "standard", "size": "1792x1024"}, 0.08),
        ({"model": "dall-e-3", "quality": "hd", "size": "1024x1024"}, 0.08),
        ({"model": "dall-e-3", "quality": "hd", "size": "1024x1792"}, 0.12),
        ({"model": "dall-e-3", "quality": "auto", "style": "natural"}, 0.04),
    ],
)
def test_dall_e_batches_bill_per_image_at_half_price(
    body: dict[str, Any], per_image: float, emulator: ImagesAPIEmulator
) -> None:
    emulator.incompressible_images = True
    n = 3 if body["model"] == "dall-e-2" else 1
    run_batch(emulator, [{"prompt": "a kite", "n": n, **body}])
    assert emulator.batch_billed_usd == pytest.approx(n * per_image / 2)
    assert emulator.batch_billed_images == n


def test_an_extra_model_is_priced_as_the_model_it_names_and_an_unknown_name_not_at_all(
    emulator: ImagesAPIEmulator,
) -> None:
    emulator.extra_models["house-model"] = "gpt-image-1-mini"
    (answer,) = run_batch(emulator, [{"model": "house-model", "prompt": "an otter", "quality": "low"}])
    assert emulator.batch_billed_usd == pytest.approx(token_cost("gpt-image-1-mini", answer["usage"]) / 2)
    emulator.reset()
    run_batch(emulator, [{"model": "gpt-image-9000", "prompt": "an otter", "quality": "low"}])
    assert (emulator.batch_billed_images, emulator.batch_billed_usd) == (1, 0.0)


def test_a_refused_line_is_billed_nothing(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = False
    lines = [{"custom_id": "a", "method": "POST", "url": GENERATIONS, "body": {"model": "dall-e-3", "prompt": "x"}}]
    stored = emulator.add_file(json.dumps(lines[0]).encode() + b"\n")
    with httpx.Client(
        transport=emulator.transport(),
        base_url=emulator.base_url,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    ) as http:
        batch_id = http.post(
            "/batches", json={"input_file_id": stored.id, "endpoint": GENERATIONS, "completion_window": "24h"}
        ).json()["id"]
    record = emulator.wait_for_batch(batch_id)
    assert (record.failed, emulator.batch_billed_images, emulator.batch_billed_usd) == (1, 0, 0.0)
