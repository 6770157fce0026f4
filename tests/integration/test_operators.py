"""Operator behaviour that needs a task instance run more than once: `airflow tasks test` keeps the
run id stable, as a retry does, so the second try must find what the first one landed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_openai_images.inputs import resolve_images
from airflow_provider_openai_images.operators import (
    OpenAICreateImageVariationOperator,
    OpenAIEditImageOperator,
    OpenAIGenerateImageOperator,
)
from airflow_provider_openai_images.s3 import S3Location, read_object
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.imagefactory import picture

from .conftest import BUCKET, bucket_objects

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def tasks_test(dag_id: str, task_id: str, run_id: str) -> str:
    """Run one task again inside an existing DAG run, as a retry or a clear does; returns its output."""
    result = subprocess.run([AIRFLOW, "tasks", "test", dag_id, task_id, run_id], capture_output=True, text=True,
                            timeout=300, env=dict(os.environ), check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_a_retried_task_with_everything_landed_pays_for_nothing(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    run = dagbag.dags["openai_images_on_demand"].test(run_conf={"n": 2, "bucket": BUCKET})
    assert run.state == "success"
    assert len(images_api_emulator.requests_to("generations")) == 1
    landed = bucket_objects(s3)
    output = tasks_test("openai_images_on_demand", "generate", run.run_id)
    assert len(images_api_emulator.requests_to("generations")) == 1, "no new paid request"
    assert "2 of 2 images already landed" in output
    assert bucket_objects(s3).keys() == landed.keys()


def test_a_retry_after_a_partial_landing_asks_only_for_the_missing_images(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, s3: Any
) -> None:
    run = dagbag.dags["openai_images_on_demand"].test(run_conf={"n": 3, "model": "dall-e-2", "size": "256x256",
                                                                 "bucket": BUCKET})  # fmt: skip
    keys = sorted(k for k in bucket_objects(s3) if k.endswith(".png"))
    assert len(keys) == 3
    s3.delete_object(Bucket=BUCKET, Key=keys[1])
    output = tasks_test("openai_images_on_demand", "generate", run.run_id)
    first, second = images_api_emulator.requests_to("generations")
    assert (first.json or {})["n"] == 3
    assert (second.json or {})["n"] == 1
    assert "2 of 3 images already landed" in output
    assert sorted(k for k in bucket_objects(s3) if k.endswith(".png")) == keys
    assert images_api_emulator.billed_images == 4


def test_operators_declare_every_argument_for_partial_and_expand() -> None:
    """`.partial()/.expand()` validate names against __init__: nothing may hide in **kwargs."""
    OpenAIGenerateImageOperator.partial(task_id="g", s3_bucket="b", model="dall-e-2").expand(prompt=["a", "b"])
    OpenAIEditImageOperator.partial(task_id="e", s3_bucket="b", prompt="p").expand(image=["s3://b/1.png"])
    OpenAICreateImageVariationOperator.partial(task_id="v", s3_bucket="b", n=2).expand(image=["s3://b/1.png"])
    with pytest.raises(TypeError):
        OpenAIGenerateImageOperator.partial(task_id="x", s3_bucket="b").expand(promt=["typo"])


def test_inputs_resolve_from_uris_records_paths_and_lists(s3: Any, tmp_path: Path) -> None:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id="aws_default")

    def read_s3(location: S3Location, parameter: str) -> bytes:
        return read_object(hook, location, parameter=parameter)

    s3.put_object(Bucket=BUCKET, Key="in/a.png", Body=picture(64, 64))
    local = tmp_path / "b.jpg"
    local.write_bytes(picture(32, 32, image_format="JPEG"))
    files = resolve_images(
        [f"s3://{BUCKET}/in/a.png", {"s3_uri": f"s3://{BUCKET}/in/a.png"}, str(local), picture(8, 8)],
        parameter="image",
        read_s3=read_s3,
    )
    assert [(f.filename, f.content_type) for f in files] == [
        ("a.png", "image/png"), ("a.png", "image/png"), ("b.jpg", "image/jpeg"), ("image.png", "image/png")
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"Invalid image='s3://openai-images-demo/in/missing.png'"):
        resolve_images(f"s3://{BUCKET}/in/missing.png", parameter="image", read_s3=read_s3)
    with pytest.raises(ValueError, match="s3://bucket/key"):
        S3Location.parse("s3://only-bucket")
