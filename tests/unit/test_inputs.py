"""Resolving ``image``/``mask`` arguments, the same for the hook and the operators."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from airflow_provider_openai_images.core.requests import ImageFile
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.media.sources import describe_sources, resolve_images, resolve_one
from airflow_provider_openai_images.s3 import S3Location
from tests.imagefactory import picture


class FakeBucket:
    """Stands in for an operator's S3 reads: records what was read."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.reads: list[tuple[str, str]] = []

    def __call__(self, location: S3Location, parameter: str) -> bytes:
        self.reads.append((location.uri, parameter))
        return self.objects[location.uri]


def test_every_kind_of_input_resolves_in_order(tmp_path: Path) -> None:
    local = tmp_path / "b.jpg"
    local.write_bytes(picture(32, 32, image_format="JPEG"))
    bucket = FakeBucket({"s3://bk/in/a.png": picture(16, 16)})
    files = resolve_images(
        ["s3://bk/in/a.png", {"s3_uri": "s3://bk/in/a.png", "status": "landed"}, str(local), local,
         picture(8, 8, image_format="WEBP"), io.BytesIO(picture(8, 8)), ImageFile.from_bytes(picture(4, 4), "x.png")],
        parameter="image",
        read_s3=bucket,
    )  # fmt: skip
    assert [(f.filename, f.content_type) for f in files] == [
        ("a.png", "image/png"), ("a.png", "image/png"), ("b.jpg", "image/jpeg"), ("b.jpg", "image/jpeg"),
        ("image.webp", "image/webp"), ("image.png", "image/png"), ("x.png", "image/png"),
    ]  # fmt: skip
    assert bucket.reads == [("s3://bk/in/a.png", "image")] * 2


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ([], "at least one image"),
        ({"s3_uri": None, "status": "rejected"}, "a landed record"),
        ("s3://only-bucket", "s3://bucket/key"),
        (42, "an s3:// URI, a local path"),
        ("/no/such/file.png", "an existing local image file"),
        (b"%PDF-1.7", "PNG, JPEG or WEBP"),
    ],
)
def test_what_cannot_be_an_image_is_refused_by_name(value: object, allowed: str) -> None:
    with pytest.raises(OpenAIImagesValidationError) as raised:
        resolve_images(value, parameter="mask", read_s3=FakeBucket({}))  # type: ignore[arg-type]
    assert raised.value.parameter == "mask"
    assert allowed in str(raised.value)


def test_s3_inputs_need_a_reader() -> None:
    with pytest.raises(OpenAIImagesValidationError, match="s3:// needs an operator"):
        resolve_images("s3://bk/a.png", parameter="image")


def test_resolve_one_wants_exactly_one_image() -> None:
    assert resolve_one([picture(8, 8)], parameter="image").content_type == "image/png"
    with pytest.raises(OpenAIImagesValidationError, match=r"Invalid image='2 images'.*exactly one image"):
        resolve_one([picture(8, 8), picture(8, 8)], parameter="image")


def test_sources_are_described_for_provenance_without_bytes() -> None:
    assert describe_sources(["s3://b/k.png", {"s3_uri": "s3://b/r.png"}, b"\x89PNG", "/tmp/x.png"]) == [
        "s3://b/k.png", "s3://b/r.png", "<bytes>", "/tmp/x.png"
    ]  # fmt: skip
