"""What a finished task tells Airflow about what it made: an asset event per landed image (through the
operator's ``asset_alias``), and OpenLineage facets (inputs, outputs, the model and its parameters; the
prompt only when ``lineage_prompt`` allows it)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_openai_images.records import ImageRecord

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_openai_images.operators.base import BaseOpenAIImagesOperator

#: what each asset event's extra carries (from the image's record)
ASSET_EXTRA_FIELDS = ("model", "sha256", "width", "height", "cost_usd")


def landed_records(result: Any) -> list[ImageRecord]:
    """The landed images' records of an operator's return value (a list, or a bulk task's list of lists)."""
    flat: Iterable[Any] = (
        record for entry in result for record in (entry if isinstance(entry, list) else [entry])
    ) if isinstance(result, list) else ()  # fmt: skip
    landed = [record for record in flat if isinstance(record, dict) and record.get("status") == "landed"]
    return cast("list[ImageRecord]", landed)


def announce(operator: BaseOpenAIImagesOperator, context: Context, result: Any) -> None:
    """Asset events for the landed images, if the operator has an ``asset_alias``; the records are kept
    for OpenLineage."""
    records = landed_records(result)
    operator.landed_records = records
    if operator.asset_alias:
        from airflow.sdk import Asset, AssetAlias

        events = context["outlet_events"][AssetAlias(operator.asset_alias)]
        for record in records:
            extra: dict[str, Any] = {name: record.get(name) for name in ASSET_EXTRA_FIELDS}
            events.add(Asset(str(record["s3_uri"])), extra=extra)


def openlineage_facets(operator: BaseOpenAIImagesOperator, records: Sequence[ImageRecord]) -> Any:
    """``OperatorLineage``: S3 inputs (edits, variations), the landed objects, and a facet with the model
    and the request's parameters (the prompt only with ``lineage_prompt=True``)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    inputs = [_dataset(Dataset, uri) for uri in operator.describe_inputs() if uri.startswith("s3://")]
    outputs = [_dataset(Dataset, str(record["s3_uri"])) for record in records]
    parameters = {name: value for name, value in operator.request_values().items() if value is not None}
    if not operator.lineage_prompt:
        parameters = {name: value for name, value in parameters.items() if name not in ("prompt", "prompts")}
    facet = _images_facet(
        model=parameters.pop("model", None), parameters=parameters, images=len(records),
        cost_usd=sum(record.get("cost_usd") or 0.0 for record in records),
    )  # fmt: skip
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets={"openai_images": facet})


def _dataset(dataset: Any, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return dataset(namespace=f"s3://{bucket}", name=key)


def _images_facet(**fields: Any) -> Any:
    return _facet_type()(**fields)


@functools.cache
def _facet_type() -> Any:
    """The custom run facet (defined once, on first use: the openlineage provider is optional)."""
    import attrs
    from airflow.providers.common.compat.openlineage.facet import RunFacet

    @attrs.define
    class OpenAIImagesRunFacet(RunFacet):
        """What the Images API was asked (model, parameters) and what it made (images, estimated cost)."""

        model: str | None = None
        parameters: dict[str, Any] = attrs.field(factory=dict)
        images: int = 0
        cost_usd: float = 0.0

    return OpenAIImagesRunFacet
