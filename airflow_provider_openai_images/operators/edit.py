"""``OpenAIEditImageOperator``: images edited from a prompt, optionally inside a mask, landed in S3."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.operators.batch_mode import BaseOpenAIImagesBatchOperator
from airflow_provider_openai_images.operators.output_options import BaseOpenAIImagesOutputOperator
from airflow_provider_openai_images.operators.request_types import RequestTypeOf
from airflow_provider_openai_images.operators.with_inputs import BaseOpenAIImagesInputOperator

if TYPE_CHECKING:
    from airflow_provider_openai_images.media.preparation import Box, InputPreparation
    from airflow_provider_openai_images.media.sources import ImageInput


class OpenAIEditImageOperator(
    BaseOpenAIImagesInputOperator, BaseOpenAIImagesBatchOperator, BaseOpenAIImagesOutputOperator
):
    """Edit images guided by a prompt, optionally inside a mask, and land the results in S3 (``POST /images/edits``).

    Several ``image`` inputs are for GPT image models (up to 16).

    :param prompt: what to change (templated, rendered as Markdown in the UI).
    :param mask: what ``image`` accepts, resolving to one image (templated): an RGBA PNG (transparent =
        edit), or a black-and-white or greyscale painting (white = edit). It always gets the first
        image's final geometry.
    :param mask_box: instead of ``mask``, ``(left, top, right, bottom)`` or a list of boxes, in the
        source image's pixels.
    :param markup: instead of a mask (GPT Image 2.5 models): a transparent PNG drawn over the first image to
        guide the edit, of the same size (templated; what ``image`` accepts, resolving to one image; sent as
        it is).
    :param input_fidelity: ``high`` or ``low`` (GPT image models that take it).

    With ``use_batch_api=True`` (GPT image models), the prepared inputs go to the Batch API as data URLs.

    The other arguments are those of :class:`BaseOpenAIImagesInputOperator`,
    :class:`~airflow_provider_openai_images.operators.batch_mode.BaseOpenAIImagesBatchOperator`,
    :class:`BaseOpenAIImagesOutputOperator` and
    :class:`~airflow_provider_openai_images.operators.base.BaseOpenAIImagesOperator`.
    """

    template_fields: Sequence[str] = (
        "prompt",
        "mask",
        "markup",
        "input_fidelity",
    )
    request_type = RequestTypeOf("EditRequest")

    def __init__(
        self,
        *,
        prompt: str,
        mask: ImageInput | None = None,
        mask_box: Box | Sequence[Box] | None = None,
        markup: ImageInput | None = None,
        input_fidelity: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.mask = mask
        self.mask_box = mask_box
        self.markup = markup
        self.input_fidelity = input_fidelity

    def input_preparation(self) -> InputPreparation:
        from airflow_provider_openai_images.media.preparation import InputPreparation

        return InputPreparation(self.prepare, self.square_policy, self.mask_box, self.hook.catalogue)

    def load_inputs(self) -> dict[str, Any]:
        from airflow_provider_openai_images.media.sources import resolve_images, resolve_one

        images = resolve_images(self.image, parameter="image", read_s3=self.read_s3)
        mask = resolve_one(self.mask, parameter="mask", read_s3=self.read_s3) if self.mask else None
        markup = resolve_one(self.markup, parameter="markup", read_s3=self.read_s3) if self.markup else None
        return {"images": tuple(images), "mask": mask, "markup": markup}

    def input_image_count(self) -> int:
        return super().input_image_count() + (1 if self.markup else 0)

    def describe_inputs(self) -> list[str]:
        from airflow_provider_openai_images.media.sources import describe_sources

        masks = [f"mask: {source}" for source in describe_sources(self.mask)] if self.mask else []
        markups = [f"markup: {source}" for source in describe_sources(self.markup)] if self.markup else []
        return super().describe_inputs() + masks + markups
