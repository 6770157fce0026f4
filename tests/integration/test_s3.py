"""S3 through the amazon provider's hook, against moto's server: inputs read by URI and by record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_openai_images.media.sources import resolve_images
from airflow_provider_openai_images.s3 import S3Location, read_object
from tests.imagefactory import picture

from .conftest import BUCKET


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
