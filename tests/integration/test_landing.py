"""``ImageLander`` against moto's S3 server: what lands, what an earlier try is credited with, and that
no paid image is lost when one of a batch cannot land."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError
from airflow_provider_openai_images.landing.lander import ImageLander, PaidImage
from airflow_provider_openai_images.records import Provenance
from tests.imagefactory import picture

from .conftest import BUCKET, bucket_objects, images_in

PROVENANCE: Provenance = {
    "model": "gpt-image-2.5-flare",
    "prompt": "a fox",
    "request_id": "req_1",
    "created": 1_800_000_000,
    "parameters": {"n": 2},
    "usage": None,
    "inputs": [],
    "task": {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "try_number": 1},
}


@pytest.fixture
def lander(s3: Any) -> Iterator[ImageLander]:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    lander = ImageLander(S3Hook(aws_conn_id="aws_default"), BUCKET, "p/t/")
    yield lander
    for index in range(5):
        lander.spill.discard(index)


def paid(index: int, content: bytes) -> PaidImage:
    return PaidImage(index, lambda: content, PROVENANCE)


def test_an_image_lands_with_its_type_digest_metadata_and_sidecar(lander: ImageLander, s3: Any) -> None:
    content = picture(64, 48, image_format="JPEG")
    record = lander.land(2, content, PROVENANCE)
    assert record["key"] == "p/t/002.jpg"
    assert (record["width"], record["height"], record["content_type"]) == (64, 48, "image/jpeg")
    stored = bucket_objects(s3)
    image = stored["p/t/002.jpg"]
    assert image["Body"] == content
    assert image["ContentType"] == "image/jpeg"
    assert image["Metadata"] == {"model": "gpt-image-2.5-flare", "request-id": "req_1", "image-index": "2",
                                 "sha256": hashlib.sha256(content).hexdigest()}  # fmt: skip
    sidecar = json.loads(stored["p/t/002.json"]["Body"])
    assert sidecar["record"] == record
    assert sidecar["provenance"]["prompt"] == "a fox"


def test_only_complete_images_count_as_already_landed(lander: ImageLander, s3: Any) -> None:
    lander.land(0, picture(32, 32), PROVENANCE)
    lander.land(1, picture(32, 32), PROVENANCE)
    s3.put_object(Bucket=BUCKET, Key="p/t/001.png", Body=b"half an image")  # the image no longer matches its sidecar
    lander.land(3, picture(32, 32), PROVENANCE)
    landed = lander.already_landed(3)
    assert sorted(landed) == [0], "1 is incomplete, 2 never landed, 3 is beyond the count asked for"
    assert landed[0]["s3_uri"] == f"s3://{BUCKET}/p/t/000.png"


def test_one_image_that_cannot_land_does_not_take_the_others_with_it(lander: ImageLander, s3: Any) -> None:
    def expired() -> bytes:
        raise OpenAIImagesResponseError("The image URL answered 403: it has expired")

    report = lander.land_each(
        [
            paid(0, picture(16, 16)),
            PaidImage(1, expired, PROVENANCE),
            paid(2, b"\x89PNG corrupt"),
            paid(3, picture(8, 8)),
        ]
    )
    assert sorted(report.landed) == [0, 3]
    assert report.paid == 4
    assert [problem.split(":")[0] for problem in report.problems] == ["image 1", "image 2"]
    assert "2 of 4 paid images did not land" in report.failure_message()
    assert sorted(images_in(s3)) == ["p/t/000.png", "p/t/003.png"]


def test_images_kept_on_the_worker_are_offered_again_unless_they_landed(lander: ImageLander) -> None:
    lander.spill.save(0, picture(8, 8), PROVENANCE)
    lander.spill.save(1, picture(8, 8), PROVENANCE)
    lander.spill.save(4, picture(8, 8), PROVENANCE)
    kept = lander.kept_images(3, landed=[1])
    assert [image.index for image in kept] == [0]
    report = lander.land_each(kept)
    assert sorted(report.landed) == [0]
    assert sorted(lander.spill.load()) == [1, 4], "a landed image leaves the spill"
