"""Template fields are merged, not hand-copied: a class lists only its own, and every base's reach it, so
forgetting one can no longer drop it silently."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_openai_images.operators import (
    BaseOpenAIImagesOperator,
    OpenAIBulkGenerateImagesOperator,
    OpenAICreateImageVariationOperator,
    OpenAIEditImageOperator,
    OpenAIGenerateImageOperator,
)
from airflow_provider_openai_images.operators.template_fields import BASE_TEMPLATE_FIELDS

OPERATORS = [OpenAIGenerateImageOperator, OpenAIEditImageOperator, OpenAICreateImageVariationOperator,
             OpenAIBulkGenerateImagesOperator]  # fmt: skip


@pytest.mark.parametrize("cls", OPERATORS, ids=lambda cls: cls.__name__)
def test_every_operator_templates_what_each_of_its_bases_templates(cls: type[Any]) -> None:
    for base in cls.__mro__:
        if isinstance(base, type) and issubclass(base, BaseOpenAIImagesOperator):
            assert set(base.template_fields) <= set(cls.template_fields), base.__name__
    assert set(BASE_TEMPLATE_FIELDS) <= set(cls.template_fields)
    assert len(set(cls.template_fields)) == len(cls.template_fields), "each field once"


def test_a_new_base_s_templated_field_reaches_every_subclass_that_lists_only_its_own() -> None:
    class Watermarked(BaseOpenAIImagesOperator):
        template_fields = ("watermark",)

    class Captioned(Watermarked, OpenAIGenerateImageOperator):
        template_fields = ("caption",)

        def __init__(self, *, watermark: str, caption: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.watermark, self.caption = watermark, caption

    fields = set(Captioned.template_fields)
    assert {"caption", "watermark", "prompt", "quality", "poll_interval", "conn_id", "s3_key_prefix"} <= fields
    operator = Captioned(task_id="t", s3_bucket="b", prompt="p {{ ds }}", watermark="w {{ ds }}", caption="c {{ ds }}")
    operator.render_template_fields({"ds": "2026-12-05"})
    assert (operator.prompt, operator.watermark, operator.caption) == ("p 2026-12-05", "w 2026-12-05", "c 2026-12-05")
