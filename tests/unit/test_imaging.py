"""Answers are checked to be complete images before anything is written."""

from __future__ import annotations

import pytest

from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError
from airflow_provider_openai_images.imaging import inspect_image
from tests.imagefactory import picture

PNG = picture(64, 48)
JPEG = picture(64, 48, image_format="JPEG")


@pytest.mark.parametrize(
    "damaged",
    [
        PNG[: len(PNG) // 2],
        PNG[:-12],
        PNG[:60] + bytes([PNG[60] ^ 1]) + PNG[61:],
        JPEG[: len(JPEG) // 2],
        b"\x89PNG\r\n\x1a\n",
    ],
    ids=["png cut in half", "png without its end", "png with a flipped bit", "jpeg cut in half", "a signature only"],
)
def test_cut_or_corrupt_images_are_refused(damaged: bytes) -> None:
    with pytest.raises(OpenAIImagesResponseError, match="is not a complete image"):
        inspect_image(damaged)


def test_complete_images_are_described() -> None:
    png, jpeg = inspect_image(PNG), inspect_image(JPEG)
    assert (png.content_type, png.extension, png.width, png.height) == ("image/png", "png", 64, 48)
    assert (jpeg.content_type, jpeg.extension, jpeg.width, jpeg.height) == ("image/jpeg", "jpg", 64, 48)
