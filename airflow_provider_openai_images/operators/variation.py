"""``OpenAICreateImageVariationOperator``: variations of one image, landed in S3."""

from __future__ import annotations

from typing import Any

from airflow_provider_openai_images.operators.request_types import RequestTypeOf
from airflow_provider_openai_images.operators.with_inputs import BaseOpenAIImagesInputOperator


class OpenAICreateImageVariationOperator(BaseOpenAIImagesInputOperator):
    """Create variations of one image and land them in S3 (``POST /images/variations``).

    Variations exist for ``dall-e-2`` (the default model here), on Azure OpenAI and compatible servers.
    ``image`` must resolve to exactly one image; with ``prepare=True`` (default) it is made the square
    PNG under 4 MB the endpoint wants. The arguments are those of :class:`BaseOpenAIImagesInputOperator`
    and :class:`~airflow_provider_openai_images.operators.base.BaseOpenAIImagesOperator`.
    """

    request_type = RequestTypeOf("VariationRequest")

    def load_inputs(self) -> dict[str, Any]:
        from airflow_provider_openai_images.media.sources import resolve_one

        return {"image": resolve_one(self.image, parameter="image", read_s3=self.read_s3)}
