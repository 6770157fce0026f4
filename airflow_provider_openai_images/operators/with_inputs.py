"""``BaseOpenAIImagesInputOperator``: input images for edits and variations, loaded and prepared
before anything is paid for, through the same functions the hook uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.operators.base import BaseOpenAIImagesOperator

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.requests import ImageRequest
    from airflow_provider_openai_images.media.preparation import InputPreparation, SquarePolicy
    from airflow_provider_openai_images.media.sources import ImageInput
    from airflow_provider_openai_images.records import PreparationReport
    from airflow_provider_openai_images.s3 import S3Location


class BaseOpenAIImagesInputOperator(BaseOpenAIImagesOperator):
    """Operators that send input images.

    :param image: an ``s3://bucket/key`` URI, a local path, a record of an upstream operator of this
        provider (a dict with ``s3_uri``), or a list of these (templated), so
        ``.partial(...).expand(image=upstream.output)`` works.
    :param prepare: make inputs acceptable first (default): for DALL-E a square PNG under 4 MB of the
        requested ``size``; for GPT image models PNG/JPEG/WEBP are kept as they are. With ``False`` they
        are sent as they are, after a check that refuses what the endpoint would reject.
    :param square_policy: DALL-E inputs: ``"crop"`` keeps the centre, ``"pad"`` pads.

    Records carry ``prepared``: what preparation did.
    """

    template_fields: Sequence[str] = ("image",)

    def __init__(
        self,
        *,
        image: ImageInput | Sequence[ImageInput],
        prepare: bool = True,
        square_policy: SquarePolicy = "crop",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.prepare = prepare
        self.square_policy = square_policy

    def input_preparation(self) -> InputPreparation:
        """How this operator's inputs are prepared."""
        from airflow_provider_openai_images.media.preparation import InputPreparation

        return InputPreparation(self.prepare, self.square_policy, catalogue=self.hook.catalogue)

    def prepare_inputs(self, request: ImageRequest) -> tuple[ImageRequest, PreparationReport | None]:
        return self.input_preparation().apply(request)

    def describe_inputs(self) -> list[str]:
        from airflow_provider_openai_images.media.sources import describe_sources

        return describe_sources(self.image)

    def input_image_count(self) -> int:
        from airflow_provider_openai_images.media.sources import describe_sources

        return len(describe_sources(self.image))

    def read_s3(self, location: S3Location, parameter: str) -> bytes:
        """An input's bytes, through this operator's AWS connection."""
        from airflow_provider_openai_images.s3 import read_object

        return read_object(self.s3_hook, location, parameter=parameter)
