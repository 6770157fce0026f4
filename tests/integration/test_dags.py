"""Every example DAG imports cleanly and runs end to end (dag.test()) against the emulator and moto's
S3 server over real HTTP; assertions are on what is really in the bucket and in XCom."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import pytest

from airflow_provider_openai_images.core.catalogue import packaged_catalogue
from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.conftest import EXAMPLE_DAGS_FOLDER
from tests.imagefactory import decode

from .conftest import BUCKET, bucket_objects, return_values

RECORD_FIELDS = {"s3_uri", "bucket", "key", "content_type", "width", "height", "sha256", "model", "revised_prompt"}
EXAMPLE_DAGS = {
    "openai_images_content_pipeline",
    "openai_images_edit_pipeline",
    "openai_images_variations_ab_test",
    "openai_images_on_demand",
    "openai_images_nightly_batch",
    "openai_images_review_pipeline",
    "openai_images_on_new_images",
}


def assert_records_match_bucket(records: list[dict[str, Any]], objects: dict[str, dict[str, Any]]) -> None:
    for record in records:
        assert set(record) >= RECORD_FIELDS
        text = json.dumps(record)
        assert len(text) < 1500, "records stay small"
        assert "b64_json" not in text
        stored = objects[record["key"]]
        assert record["s3_uri"] == f"s3://{BUCKET}/{record['key']}"
        assert hashlib.sha256(stored["Body"]).hexdigest() == record["sha256"]
        assert stored["ContentType"] == record["content_type"]
        image = decode(stored["Body"])
        assert image.size == (record["width"], record["height"])
        assert f"image/{image.format.lower()}" == record["content_type"]
        assert stored["Metadata"]["sha256"] == record["sha256"]
        sidecar = json.loads(objects[record["metadata_uri"].removeprefix(f"s3://{BUCKET}/")]["Body"])
        assert sidecar["record"] == record
        assert sidecar["provenance"]["request_id"] == record["request_id"]


def test_every_dag_imports_without_errors(dagbag: Any) -> None:
    from airflow.dag_processing.dagbag import DagBag

    assert dagbag.import_errors == {}
    examples = DagBag(str(EXAMPLE_DAGS_FOLDER))
    assert examples.import_errors == {}
    assert set(examples.dag_ids) == EXAMPLE_DAGS
    assert {path.stem for path in EXAMPLE_DAGS_FOLDER.glob("*.py")} == {
        "content_pipeline", "edit_pipeline", "variations_ab_test", "on_demand", "nightly_batch", "review_pipeline",
        "on_new_images",
    }  # fmt: skip


def test_content_pipeline_generates_the_day_s_prompts_in_one_deferred_bulk_task(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    run = dagbag.dags["openai_images_content_pipeline"].test()
    assert run.state == "success"
    assert "[DAG TEST] running trigger in line" in caplog.text
    (per_item,) = return_values(run, "generate_images")
    assert len(per_item) == 50
    assert all(len(records) == 1 for records in per_item)
    objects = bucket_objects(s3)
    records = [records[0] for records in per_item]
    assert_records_match_bucket(records, objects)
    day = run.logical_date.strftime("%Y-%m-%d")
    run_prefix = f"content/{day}/{key_segment(run.run_id)}"
    assert [r["key"] for r in records] == [f"{run_prefix}/generate_images/item-{i:05d}/000.png" for i in range(50)]
    assert all((r["width"], r["height"], r["model"]) == (1024, 1024, "gpt-image-2.5-flare") for r in records)
    assert {request.json["model"] for request in images_api_emulator.requests_to("generations")} == {  # type: ignore[index]
        "gpt-image-2.5-flare"
    }, "a model OpenAI serves today"
    index = json.loads(objects[f"content/{day}/index.json"]["Body"])
    assert sorted(image["s3_uri"] for image in index["images"]) == sorted(r["s3_uri"] for r in records)
    assert return_values(run, "publish_index") == [{"index_uri": f"s3://{BUCKET}/content/{day}/index.json",
                                                    "images": 50}]  # fmt: skip
    assert images_api_emulator.billed_images == 50
    sent = {(request.json or {})["prompt"] for request in images_api_emulator.requests_to("generations")}
    assert len(sent) == 50, "every prompt of the file, once"
    assert "A lighthouse at dawn, watercolour, soft morning light" in sent


def test_nightly_batch_lands_the_same_prompts_through_one_batch_and_logs_what_it_saved(
    dagbag: Any,
    images_api_emulator: ImagesAPIEmulator,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_OPENAI_IMAGES_BATCH_POLL_SECONDS", "0.2")
    monkeypatch.setattr(images_api_emulator, "batch_phase_seconds", 0.05)
    run = dagbag.dags["openai_images_nightly_batch"].test()
    assert run.state == "success"
    (per_item,) = return_values(run, "generate_images")
    records = [records[0] for records in per_item]
    assert len(records) == 50
    assert_records_match_bucket(records, bucket_objects(s3))
    assert len(images_api_emulator.batches) == 1
    assert images_api_emulator.requests_to("generations") == [], "no synchronous request"
    assert images_api_emulator.batch_billed_images == 50
    day = run.logical_date.strftime("%Y-%m-%d")
    assert records[0]["key"] == f"nightly/{day}/{key_segment(run.run_id)}/generate_images/item-00000/000.png"
    (summary,) = return_values(run, "publish_index")
    assert summary["images"] == 50
    assert summary["batch_cost_usd"] == pytest.approx(images_api_emulator.batch_billed_usd, abs=1e-3)
    assert summary["saved_usd"] == pytest.approx(summary["batch_cost_usd"], abs=1e-3), "half of the synchronous price"
    output = capfd.readouterr().out
    saved = [line for line in output.splitlines() if "at Batch API prices" in line]
    assert saved, "the task log says what the batch saved"
    assert "saved $" in saved[0]


def test_edit_pipeline_inpaints_jpeg_shots_with_painted_masks(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    run = dagbag.dags["openai_images_edit_pipeline"].test()
    assert run.state == "success"
    shots = return_values(run, "product_shots")[0]
    edits = [records[0] for records in return_values(run, "replace_background")]
    assert [(shot["content_type"], shot["width"], shot["height"]) for shot in shots] == [("image/jpeg", 1536, 1024)] * 2
    assert len(edits) == 2
    assert_records_match_bucket(shots + edits, bucket_objects(s3))
    sent = images_api_emulator.requests_to("edits")
    assert len(sent) == 2
    for request in sent:
        assert request.form["model"] == ["gpt-image-2.5-sunburst"], "OpenAI's model for precise edits"
        image_part, mask_part = request.files
        assert (image_part.field_name, image_part.content_type, mask_part.field_name) == ("image", "image/jpeg", "mask")
        image, mask = decode(image_part.content), decode(mask_part.content)
        assert (image.format, image.size) == ("JPEG", (1536, 1024)), "a GPT image model takes the JPEG as it is"
        assert (mask.format, mask.mode, mask.size) == ("PNG", "RGBA", (1536, 1024))
        assert mask.getpixel((5, 1019))[3] == 0, "the painted white band became transparent"
        assert mask.getpixel((5, 5))[3] == 255
    for record in edits:
        assert (record["width"], record["height"], record["content_type"]) == (1536, 1024, "image/jpeg")
        assert record["prepared"]["mask"] == {"mask_from": "greyscale (white = edit)"}


def test_variations_dag_prepares_the_jpeg_and_downloads_url_answers_without_the_key(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, compatible_images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    """The hero from OpenAI (a model it serves), the dall-e-2 variations from a compatible server."""
    run = dagbag.dags["openai_images_variations_ab_test"].test()
    assert run.state == "success"
    hero = return_values(run, "hero_creative")[0]
    variants = return_values(run, "variants")[0]
    assert len(hero) == 1
    assert len(variants) == 4
    assert_records_match_bucket(hero + variants, bucket_objects(s3))
    assert images_api_emulator.requests_to("variations") == [], "OpenAI makes no variations any more"
    (request,) = compatible_images_api_emulator.requests_to("variations")
    sent = decode(request.files[0].content)
    assert (sent.format, sent.size) == ("PNG", (512, 512))
    assert variants[0]["prepared"]["image"]["padded"] is True
    assert len(compatible_images_api_emulator.downloads) == 4, "each url answer fetched once"
    for download in compatible_images_api_emulator.downloads:
        assert download.status == 200
        assert "authorization" not in download.headers
        assert "api-key" not in download.headers
    plan = return_values(run, "ab_test_plan")[0]
    assert plan["arms"]["A"] == hero[0]["s3_uri"]
    assert len(plan["arms"]) == 5
    assert sum(plan["traffic_split"].values()) == pytest.approx(1, abs=0.001)


def test_on_demand_dag_runs_with_the_trigger_form_values(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    dag = dagbag.dags["openai_images_on_demand"]
    form = {"prompt": "A red kite over the sea", "model": "gpt-image-2.5-sunburst", "size": "1152x2048",
            "quality": "high", "n": 1, "bucket": BUCKET}  # fmt: skip
    run = dag.test(run_conf=form)
    assert run.state == "success"
    (record,) = return_values(run, "generate")[0]
    assert (record["width"], record["height"], record["model"]) == (1152, 2048, "gpt-image-2.5-sunburst")
    assert ":" in run.run_id
    assert record["key"] == f"on-demand/{key_segment(run.run_id)}/generate/000.png"
    assert not set(record["key"]) & set(":+ "), "a safe key, whatever the run id holds"
    assert images_api_emulator.requests_to("generations")[0].json == {
        "prompt": "A red kite over the sea", "model": "gpt-image-2.5-sunburst", "n": 1, "size": "1152x2048",
        "quality": "high", "output_format": "png",
    }  # fmt: skip
    assert_records_match_bucket([record], bucket_objects(s3))


def test_trigger_form_params_describe_a_usable_form(dagbag: Any) -> None:
    params = dagbag.dags["openai_images_on_demand"].params
    assert set(params) == {"prompt", "model", "size", "quality", "output_format", "n", "max_cost_usd", "bucket"}
    assert params.get_param("n").schema == {"type": "integer", "minimum": 1, "maximum": 10, "title": "Number of images"}
    assert params["model"] == "gpt-image-2.5-flare"
    catalogue = packaged_catalogue()
    for model in params.get_param("model").schema["enum"]:
        rules = catalogue.rules_for(model)
        assert rules is not None, model
        assert rules.shutdown is None, f"{model}: the form offers only models OpenAI serves"
    assert set(params.get_param("output_format").schema["enum"]) == {"png", "jpeg", "webp", "gif", "svg"}


def test_an_impossible_form_value_fails_before_any_paid_call(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    dag = dagbag.dags["openai_images_on_demand"]
    assert dag.get_task("generate").retries == 2
    run = dag.test(run_conf={"output_format": "svg", "n": 3, "bucket": BUCKET})
    assert run.state == "failed"
    (task_instance,) = run.get_task_instances()
    assert (task_instance.state, task_instance.try_number) == ("failed", 1), "failed at once, retries unused"
    assert images_api_emulator.requests == []
    assert bucket_objects(s3) == {}


def test_an_expired_url_fails_clearly_and_leaves_no_object(
    dagbag: Any,
    images_api_emulator: ImagesAPIEmulator,
    s3: Any,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    compatible_images_api_emulator: ImagesAPIEmulator,
) -> None:
    monkeypatch.setattr(compatible_images_api_emulator, "url_ttl", -1)
    run = dagbag.dags["openai_images_variations_ab_test"].test()
    assert run.state == "failed"
    assert "expired" in capfd.readouterr().out
    assert compatible_images_api_emulator.downloads[0].status == 403
    landed = bucket_objects(s3)
    assert any("/hero_creative/" in key for key in landed)
    assert not any("/variants/" in key for key in landed), "nothing half-landed from the expired URL"


def test_the_trigger_form_budget_stops_an_expensive_run_before_any_request(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    form = {"model": "gpt-image-2.5-flare", "quality": "high", "size": "1536x1024", "n": 10, "max_cost_usd": 0.5,
            "bucket": BUCKET}  # fmt: skip
    run = dagbag.dags["openai_images_on_demand"].test(run_conf=form)
    assert run.state == "failed"
    (task_instance,) = run.get_task_instances()
    assert task_instance.try_number == 1, "over budget: no Airflow retries either"
    assert images_api_emulator.requests == []
