"""What a task tells Airflow about its images: OpenLineage facets (inputs, outputs, model, parameters,
the prompt only when allowed), extra links, and the records asset events are made from."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_openai_images.operators import (
    OpenAIBulkGenerateImagesOperator,
    OpenAIEditImageOperator,
    OpenAIGenerateImageOperator,
)
from airflow_provider_openai_images.operators.links import OpenAIImagesGalleryLink, OpenAIImagesS3Link
from airflow_provider_openai_images.records import landed_records

LANDED = {"status": "landed", "s3_uri": "s3://out/run/edit/000.png", "model": "gpt-image-2.5-flare", "cost_usd": 0.04}
REJECTED = {"status": "rejected", "s3_uri": None, "model": "gpt-image-2.5-flare", "cost_usd": 0.0}


class Key:
    dag_id, run_id, task_id, map_index, try_number = "d", "manual__2026-01-01T00:00:00+00:00", "edit", 3, 1


def test_landed_records_are_found_in_single_and_bulk_results() -> None:
    assert landed_records([LANDED, REJECTED]) == [LANDED]
    assert landed_records([[LANDED], [REJECTED], [LANDED, LANDED]]) == [LANDED] * 3
    assert landed_records(None) == []


def test_openlineage_facets_name_s3_inputs_landed_outputs_and_the_model_but_not_the_prompt() -> None:
    edit = OpenAIEditImageOperator(
        task_id="edit", s3_bucket="out", image=["s3://in/shots/1.jpg", "/local/2.png"], prompt="secret launch",
        model="gpt-image-2.5-flare", quality="low",
    )  # fmt: skip
    lineage = _facets(edit, [LANDED, REJECTED])
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://in", "shots/1.jpg")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("s3://out", "run/edit/000.png")]
    facet = lineage.run_facets["openai_images"]
    assert (facet.model, facet.images, facet.cost_usd) == ("gpt-image-2.5-flare", 1, 0.04)
    assert facet.parameters["quality"] == "low"
    assert "prompt" not in facet.parameters
    assert "secret launch" not in repr(lineage)


def test_the_prompt_is_in_the_facets_only_when_the_dag_allows_it() -> None:
    generate = OpenAIGenerateImageOperator(task_id="g", s3_bucket="out", prompt="a lighthouse", lineage_prompt=True)
    assert _facets(generate, [LANDED]).run_facets["openai_images"].parameters["prompt"] == "a lighthouse"
    bulk = OpenAIBulkGenerateImagesOperator(task_id="b", s3_bucket="out", prompts=["x"], model="gpt-image-2.5-flare")
    assert "prompts" not in _facets(bulk, [LANDED]).run_facets["openai_images"].parameters


def _facets(operator: Any, records: list[dict[str, Any]]) -> Any:
    operator.landed_records = landed_records(records)
    return operator.get_openlineage_facets_on_complete(None)


def test_every_operator_links_to_its_gallery_view_and_its_s3_prefix() -> None:
    edit = OpenAIEditImageOperator(task_id="edit", s3_bucket="out", image="s3://in/1.png", prompt="p",
                                   s3_key_prefix="campaign/2026")  # fmt: skip
    assert {type(link) for link in edit.operator_extra_links} == {OpenAIImagesGalleryLink, OpenAIImagesS3Link}
    gallery = OpenAIImagesGalleryLink().get_link(edit, ti_key=Key())  # type: ignore[arg-type]
    assert gallery == (
        "/openai-images/gallery?dag_id=d&run_id=manual__2026-01-01T00%3A00%3A00%2B00%3A00&task_id=edit&map_index=3"
    )
    s3_link = OpenAIImagesS3Link().get_link(edit, ti_key=Key())  # type: ignore[arg-type]
    assert s3_link == "https://s3.console.aws.amazon.com/s3/buckets/out?prefix=campaign%2F2026%2Fedit%2Fmap-3%2F"


@pytest.mark.parametrize("size", [0, 8, 5000, True])
def test_a_thumbnail_size_out_of_range_is_refused_when_the_dag_is_parsed(size: Any) -> None:
    with pytest.raises(ValueError, match="thumbnail_size"):
        OpenAIGenerateImageOperator(task_id="g", s3_bucket="b", prompt="p", thumbnail_size=size)


def test_an_asset_alias_becomes_an_outlet_of_the_task() -> None:
    from airflow.sdk import AssetAlias

    generate = OpenAIGenerateImageOperator(task_id="g", s3_bucket="b", prompt="p", asset_alias="new_images")
    assert AssetAlias("new_images") in generate.outlets
