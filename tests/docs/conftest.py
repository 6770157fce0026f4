"""What the docs' samples run against: the offline Images API emulator (``openai_images_default``) and a second
one serving as compatible servers do (``openai_images_compatible``), moto's S3 server behind ``aws_default``
with the bucket ``my-creatives``, a migrated metadata database, and a working directory holding the files the
samples name."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from airflow_provider_openai_images.testing.pytest_plugin import fresh_moto_bucket

#: the bucket the samples write to
BUCKET = "my-creatives"


def _picture(width: int, height: int, mode: str = "RGB") -> Image.Image:
    image = Image.new("RGB", (width, height), (40, 110, 190))
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 5, height // 4, width // 2, height * 3 // 4), fill=(240, 200, 30))
    draw.ellipse((width // 2, height // 5, width * 4 // 5, height // 2), fill=(200, 60, 60))
    return image.convert(mode)


def _mask(width: int, height: int) -> Image.Image:
    """Black, white where the edit goes (a painted mask)."""
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rectangle((width // 3, height // 3, width * 2 // 3, height * 2 // 3), fill=255)
    return mask


def _scribble(width: int, height: int) -> Image.Image:
    """A transparent sheet with a few red strokes: markup for GPT Image 2.5 edits."""
    sheet = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(sheet).line((width // 4, height // 2, width * 3 // 4, height // 2), fill=(255, 0, 0, 255), width=9)
    return sheet


#: file name -> (image, format): what the samples may name, in their working directory
FILES: dict[str, tuple[Any, str]] = {
    "lotion.png": (lambda: _picture(1024, 1024), "PNG"),
    "soap.jpg": (lambda: _picture(1024, 1024), "JPEG"),
    "room.png": (lambda: _picture(1536, 1024), "PNG"),
    "mask.png": (lambda: _mask(1536, 1024), "PNG"),
    "scribble.png": (lambda: _scribble(1536, 1024), "PNG"),
    "logo.png": (lambda: _picture(1024, 1024, "RGBA"), "PNG"),
    "shoe.jpg": (lambda: _picture(1536, 1024), "JPEG"),
}
#: key -> file name: what the samples may read from ``s3://my-creatives/``
OBJECTS = {"hero.png": "logo.png", "products/shoe.jpg": "shoe.jpg", "products/room.png": "room.png"}


def _encoded(name: str) -> bytes:
    make, image_format = FILES[name]
    buffer = io.BytesIO()
    make().save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture
def docs_s3(moto_s3_server: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty moto S3 with the bucket ``my-creatives`` and its few input objects, behind ``aws_default``."""
    client = fresh_moto_bucket(moto_s3_server, monkeypatch, BUCKET).client
    for key, name in OBJECTS.items():
        client.put_object(Bucket=BUCKET, Key=key, Body=_encoded(name))
    return client


@pytest.fixture
def sample_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    airflow_db: None,
    docs_s3: Any,
    images_api_emulator: ImagesAPIEmulator,
    compatible_images_api_emulator: ImagesAPIEmulator,
) -> Iterator[Path]:
    """A working directory with the samples' input files; the emulators, S3 and the database ready."""
    for name in FILES:
        (tmp_path / name).write_bytes(_encoded(name))
    monkeypatch.chdir(tmp_path)
    # the batch samples' templated poll interval, as the nightly example DAG reads it
    monkeypatch.setenv("AIRFLOW_VAR_OPENAI_IMAGES_BATCH_POLL_SECONDS", "0.2")
    yield tmp_path
    images_api_emulator.wait_until_idle()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """After a run that ran the samples: how many there are, and which opted out and why."""
    from tests.docs.samples import python_samples

    ran = [
        report
        for outcome in ("passed", "failed", "skipped", "error")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "nodeid", "").startswith("tests/docs/test_samples.py::test_the_sample_runs")
    ]
    if not ran:
        return
    samples = python_samples()
    opted_out = [sample for sample in samples if sample.opt_out]
    terminalreporter.section("docs samples")
    terminalreporter.write_line(f"{len(samples)} Python samples, {len(opted_out)} opted out")
    for sample in opted_out:
        terminalreporter.write_line(f"  {sample.id}: {sample.opt_out}: {sample.reason}")
