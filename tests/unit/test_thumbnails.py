"""Each landed image gets a small WEBP beside it, named in its record; images Pillow cannot shrink keep
none, and ``thumbnail_size=None`` makes none."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_openai_images.landing.lander import ImageLander
from tests.imagefactory import decode, picture, transparent_mask
from tests.unit.conftest import JOBS_BUCKET

PROVENANCE: Any = {"model": "gpt-image-2.5-flare", "request_id": "r", "cost_usd": 0.01}


@pytest.mark.parametrize(("size", "expected"), [((1536, 1024), (256, 171)), ((300, 900), (85, 256))])
def test_a_landed_image_has_a_webp_thumbnail_at_most_256_px_on_its_long_side(
    s3_hook: Any, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    record = ImageLander(s3_hook, JOBS_BUCKET, "run/t").land(0, picture(*size), PROVENANCE)
    assert record["thumbnail_uri"] == f"s3://{JOBS_BUCKET}/run/t/000.thumb.webp"
    stored = s3_hook.get_conn().get_object(Bucket=JOBS_BUCKET, Key="run/t/000.thumb.webp")
    assert stored["ContentType"] == "image/webp"
    thumb = decode(stored["Body"].read())
    assert (thumb.format, thumb.size) == ("WEBP", expected)


def test_transparency_is_kept_and_the_size_is_the_operator_s(s3_hook: Any) -> None:
    record = ImageLander(s3_hook, JOBS_BUCKET, "run/t", thumbnail_size=64).land(0, transparent_mask(), PROVENANCE)
    thumb = decode(s3_hook.get_conn().get_object(Bucket=JOBS_BUCKET, Key="run/t/000.thumb.webp")["Body"].read())
    assert record["thumbnail_uri"].endswith("000.thumb.webp")
    assert max(thumb.size) == 64
    assert "A" in thumb.getbands()


def test_without_thumbnail_size_no_thumbnail_is_made(s3_hook: Any) -> None:
    record = ImageLander(s3_hook, JOBS_BUCKET, "run/t", thumbnail_size=None).land(0, picture(64, 64), PROVENANCE)
    assert "thumbnail_uri" not in record
    keys = [item["Key"] for item in s3_hook.get_conn().list_objects_v2(Bucket=JOBS_BUCKET)["Contents"]]
    assert sorted(keys) == ["run/t/000.json", "run/t/000.png"]
