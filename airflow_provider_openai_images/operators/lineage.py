"""What a finished task tells Airflow about what it made: an asset event per landed image (through the
operator's ``asset_alias``), and OpenLineage facets (inputs, outputs, the model and its parameters; the
prompt only when ``lineage_prompt`` allows it)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.records import ImageRecord

if TYPE_CHECKING:
    from airflow.sdk import Context

#: what each asset event's extra carries (from the image's record)
ASSET_EXTRA_FIELDS = ("model", "sha256", "width", "height", "cost_usd")


def announce(asset_alias: str | None, context: Context, records: Sequence[ImageRecord]) -> None:
    """An asset event per landed image through ``AssetAlias(asset_alias)`` (nothing without an alias)."""
    if not asset_alias:
        return
    from airflow.sdk import Asset, AssetAlias

    events = context["outlet_events"][AssetAlias(asset_alias)]
    for record in records:
        extra: dict[str, Any] = {name: record.get(name) for name in ASSET_EXTRA_FIELDS}
        events.add(Asset(str(record["s3_uri"])), extra=extra)


def openlineage_facets(
    records: Sequence[ImageRecord], *, inputs: Sequence[str], parameters: Mapping[str, Any], lineage_prompt: bool
) -> Any:
    """``OperatorLineage``: S3 ``inputs`` (edits, variations), the landed objects, and a facet with the model
    and the request's ``parameters`` (the prompt only with ``lineage_prompt``)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    datasets = [_dataset(Dataset, uri) for uri in inputs if uri.startswith("s3://")]
    outputs = [_dataset(Dataset, str(record["s3_uri"])) for record in records]
    shown = {name: value for name, value in parameters.items() if value is not None}
    if not lineage_prompt:
        shown = {name: value for name, value in shown.items() if name not in ("prompt", "prompts")}
    facet = _images_facet(
        model=shown.pop("model", None), parameters=shown, images=len(records),
        cost_usd=sum(record.get("cost_usd") or 0.0 for record in records),
    )  # fmt: skip
    return OperatorLineage(inputs=datasets, outputs=outputs, run_facets={"openai_images": facet})


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
