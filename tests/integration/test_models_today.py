"""Today's Images API end to end, through DAG runs against the emulator in its default mode (OpenAI as of
2026-12-05) and moto's S3: models OpenAI shut down stop before anything is paid, the new qualities, sizes,
formats and parameters land, and a model named only in the connection's ``models`` extra is checked and
priced from it.

Prices here are the published ones, written out (not read from the catalogue): $5 per million text input
tokens, $8 image input, $30 image output for the 2 and 2.5 families.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image, ImageChops

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.imagefactory import decode

from .conftest import BUCKET, bucket_objects, return_values, run_dag

TEXT_IN, IMAGE_IN, IMAGE_OUT = 5.0, 8.0, 30.0


def only_try(run: Any) -> Any:
    (task_instance,) = run.get_task_instances()
    return task_instance


def sidecar_of(s3: Any, record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(bucket_objects(s3)[record["metadata_uri"].removeprefix(f"s3://{BUCKET}/")]["Body"])


def usage_cost(usage: dict[str, Any], text_in: float, image_in: float, image_out: float) -> float:
    inputs, outputs = usage["input_tokens_details"], usage["output_tokens_details"]
    return (
        inputs["text_tokens"] * text_in + inputs["image_tokens"] * image_in + outputs["image_tokens"] * image_out
    ) / 1e6


@pytest.mark.parametrize("lifecycle", ["auto", "openai"])
def test_a_dag_naming_a_model_openai_shut_down_fails_at_try_1_and_pays_nothing(
    lifecycle: str,
    dagbag: Any,
    images_api_emulator: ImagesAPIEmulator,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """``auto`` (the emulator is not api.openai.com): the Images API's 404, explained from the catalogue.
    ``openai`` (as on api.openai.com): the Models API is asked first and nothing is sent to the Images API."""
    for name, value in images_api_emulator.connection_env(model_lifecycle=lifecycle).items():
        monkeypatch.setenv(name, value)
    run = run_dag(dagbag, "models_today", model="gpt-image-1.5")
    assert run.state == "failed"
    assert only_try(run).try_number == 1, "failed at once: the task's 2 retries unused"
    output = capfd.readouterr().out
    assert "OpenAI shut it down on 2026-12-01" in output
    assert "use 'gpt-image-2.5-sunburst' (or 'gpt-image-2.5-flare') instead" in output
    assert images_api_emulator.billed_images == 0
    endpoints = [request.endpoint for request in images_api_emulator.requests]
    assert endpoints == (["generations"] if lifecycle == "auto" else ["model"])
    assert bucket_objects(s3) == {}


@pytest.mark.parametrize("dag_id", ["bulk_generate_deferred", "batch_generate"])
def test_a_deferred_or_batch_task_naming_a_shut_down_model_stops_in_the_worker_before_anything_is_paid(
    dag_id: str,
    dagbag: Any,
    images_api_emulator: ImagesAPIEmulator,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The triggerer and the Batch API never see a model OpenAI no longer serves: nothing is deferred, no file is
    uploaded, no batch is created."""
    for name, value in images_api_emulator.connection_env(model_lifecycle="openai").items():
        monkeypatch.setenv(name, value)
    run = run_dag(dagbag, dag_id, model="gpt-image-1", count=3)
    assert run.state == "failed"
    assert "[DAG TEST] running trigger in line" not in capfd.readouterr().out
    assert [request.endpoint for request in images_api_emulator.requests] == ["model"]
    assert images_api_emulator.batches == []
    assert bucket_objects(s3) == {}


def test_max_quality_on_flare_at_a_flexible_size_lands_priced_from_its_usage(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    run = run_dag(
        dagbag, "models_today", model="gpt-image-2.5-flare", quality="max", size="2048x1152",
        safety_identifier="user-7f3a",
    )  # fmt: skip
    assert run.state == "success"
    (record,) = return_values(run, "generate")[0]
    assert (record["width"], record["height"], record["content_type"]) == (2048, 1152, "image/png")
    assert decode(bucket_objects(s3)[record["key"]]["Body"]).size == (2048, 1152)
    (request,) = images_api_emulator.requests_to("generations")
    assert request.json is not None
    assert (request.json["quality"], request.json["safety_identifier"]) == ("max", "user-7f3a")
    usage = sidecar_of(s3, record)["provenance"]["usage"]
    assert usage["output_tokens_details"]["image_tokens"] > 0
    assert record["cost_usd"] == pytest.approx(usage_cost(usage, TEXT_IN, IMAGE_IN, IMAGE_OUT), abs=1e-6)
    assert "experimental" not in capfd.readouterr().out, "2048x1152 is below 2560x1440"


@pytest.mark.parametrize(
    ("size", "rule"),
    [("1000x1000", "width and height both multiples of 16"), ("4000x1000", "width and height both multiples of 16"),
     ("3840x1008", "an aspect ratio between 1:3 and 3:1"), ("4096x2304", "at most 3840x2160")],
)  # fmt: skip
def test_an_impossible_flexible_size_fails_before_any_request_naming_the_rule(
    size: str,
    rule: str,
    dagbag: Any,
    images_api_emulator: ImagesAPIEmulator,
    s3: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    run = run_dag(dagbag, "models_today", model="gpt-image-2", size=size)
    assert run.state == "failed"
    assert only_try(run).try_number == 1
    assert images_api_emulator.requests == []
    assert f"Invalid size='{size}' for model 'gpt-image-2': allowed {rule}" in capfd.readouterr().out


def test_a_size_above_2560x1440_lands_with_a_warning_that_it_is_experimental(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    run = run_dag(dagbag, "models_today", model="gpt-image-2.5-sunburst", size="3840x2160", quality="low")
    assert run.state == "success"
    (record,) = return_values(run, "generate")[0]
    assert (record["width"], record["height"]) == (3840, 2160)
    assert "treats it as experimental" in capfd.readouterr().out


def test_a_model_named_only_in_the_connection_s_models_extra_is_checked_and_priced_from_it(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    images_api_emulator.extra_models["gpt-image-3"] = "gpt-image-2.5-flare"  # "released tomorrow"
    entry = {
        "extends": "gpt-image-2.5-flare",
        "sizes": ["1024x1024", "1536x1024"],
        "qualities": ["low", "medium", "high"],
        "prices": {"text_input": 2.0, "image_input": 3.0, "image_output": 12.0, "per_image": {"high": {"*": 0.1}}},
    }
    for name, value in images_api_emulator.connection_env(models={"gpt-image-3": entry}).items():
        monkeypatch.setenv(name, value)
    refused = run_dag(dagbag, "models_today", model="gpt-image-3", size="2048x1152")
    assert refused.state == "failed"
    assert images_api_emulator.requests == []
    assert "Invalid size='2048x1152' for model 'gpt-image-3'" in capfd.readouterr().out
    # dag.test(run_conf=...) keeps a run's values in the DAG's params: each run names all it needs
    over = run_dag(dagbag, "models_today", model="gpt-image-3", quality="high", size="1024x1024", n="3",
                   max_cost_usd="0.25")  # fmt: skip
    assert over.state == "failed"
    assert images_api_emulator.requests == []
    assert "max_cost_usd=0.25, and 3 images of gpt-image-3 (quality high, size 1024x1024) may cost up to $0.3000" in (
        capfd.readouterr().out
    ), "3 images at the extra's $0.10 each"
    run = run_dag(
        dagbag, "models_today", model="gpt-image-3", quality="high", size="1536x1024", n="1", max_cost_usd="0.2"
    )
    assert run.state == "success"
    (record,) = return_values(run, "generate")[0]
    assert record["model"] == "gpt-image-3"
    usage = sidecar_of(s3, record)["provenance"]["usage"]
    assert record["cost_usd"] == pytest.approx(usage_cost(usage, 2.0, 3.0, 12.0), abs=1e-6)


def test_a_gif_answer_lands_with_every_frame_verified_and_its_first_frame_as_thumbnail(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    run = run_dag(dagbag, "models_today", model="gpt-image-2.5-flare", output_format="gif", frame_count="5",
                  quality="low", size="1024x1024")  # fmt: skip
    assert run.state == "success"
    (record,) = return_values(run, "generate")[0]
    assert (record["content_type"], record["frames"], record["key"][-4:]) == ("image/gif", 5, ".gif")
    objects = bucket_objects(s3)
    assert objects[record["key"]]["ContentType"] == "image/gif"
    with Image.open(io.BytesIO(objects[record["key"]]["Body"])) as gif:
        assert (gif.format, gif.n_frames) == ("GIF", 5)
        first = gif.convert("RGB")
        gif.seek(1)
        assert ImageChops.difference(first, gif.convert("RGB")).getbbox() is not None, "the frames differ"
    thumbnail = decode(objects[record["thumbnail_uri"].removeprefix(f"s3://{BUCKET}/")]["Body"]).convert("RGB")
    expected = first.resize(thumbnail.size)
    difference = ImageChops.difference(thumbnail, expected)
    assert max(channel for pixel in difference.getdata() for channel in pixel) < 60, "the thumbnail is frame 1"


def test_a_corrupt_gif_frame_never_reaches_s3(dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any) -> None:
    from airflow_provider_openai_images.testing import Fault

    images_api_emulator.inject(Fault.corrupt_image(times=3))
    run = run_dag(dagbag, "models_today", model="gpt-image-2.5-flare", output_format="gif", frame_count="4")
    assert run.state == "failed"
    assert not [key for key in bucket_objects(s3) if key.endswith(".gif")]


def test_an_svg_answer_lands_checked_and_never_rasterised(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    run = run_dag(dagbag, "models_today", model="gpt-image-2", output_format="svg", size="1536x1024")
    assert run.state == "success"
    (record,) = return_values(run, "generate")[0]
    assert (record["content_type"], record["key"][-4:]) == ("image/svg+xml", ".svg")
    assert (record["width"], record["height"]) == (1536, 1024)
    assert "thumbnail_uri" not in record, "an SVG gets no raster thumbnail"
    objects = bucket_objects(s3)
    assert objects[record["key"]]["ContentType"] == "image/svg+xml"
    assert objects[record["key"]]["Body"].lstrip().startswith((b"<?xml", b"<svg"))
    provenance = sidecar_of(s3, record)["provenance"]
    assert provenance["output_format"] == "svg"
    assert provenance["svg_usage"]["output_tokens"] > 0, "the SVG author's tokens are kept (not priced)"


@pytest.mark.parametrize(
    ("conf", "parameter"),
    [({"output_format": "svg", "n": "2"}, "n"), ({"frame_count": "5"}, "frame_count"),
     ({"output_format": "gif", "frame_count": "17"}, "frame_count"),
     ({"quality": "max", "model": "gpt-image-2"}, "quality"),
     ({"output_format": "svg", "max_cost_usd": "1"}, "max_cost_usd")],
)  # fmt: skip
def test_new_parameters_used_wrongly_fail_before_any_request(
    conf: dict[str, str], parameter: str, dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    run = run_dag(dagbag, "models_today", **conf)
    assert run.state == "failed"
    assert only_try(run).try_number == 1
    assert images_api_emulator.requests == []
    assert parameter in capfd.readouterr().out
