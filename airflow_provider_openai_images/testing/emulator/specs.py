"""The packaged OpenAPI documents as JSON Schema validators: ``openai-images-openapi.yaml`` (the Images and
Models APIs) and ``openai-batch-files-openapi.yaml`` (the Files and Batch APIs), each read once, in a
registry of its own.

``jsonschema``, ``referencing`` and ``yaml`` are imported inside the functions, so importing the emulator
stays light.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected

_IMAGES_SPEC, _BATCH_SPEC = "openai-images-openapi.yaml", "openai-batch-files-openapi.yaml"


@cache
def spec_validator(schema: str) -> Any:
    """A JSON Schema validator for one schema of the packaged Images OpenAPI document
    (``CreateImageRequest``, ``ImagesResponse``...); the document is read once."""
    return _validator(_IMAGES_SPEC, schema)


@cache
def batch_spec_validator(schema: str) -> Any:
    """A JSON Schema validator for one schema of the packaged Batch and Files OpenAPI document
    (``CreateBatchRequest``, ``Batch``, ``OpenAIFile``...), in a registry of its own."""
    return _validator(_BATCH_SPEC, schema)


def check_against_batch_spec(schema: str, body: dict[str, Any]) -> None:
    """Raise :class:`RequestRejected` (400, naming the parameter) if ``body`` does not match ``schema`` of the
    Batch and Files document."""
    error = next(iter(batch_spec_validator(schema).iter_errors(body)), None)
    if error is not None:
        param = ".".join(str(part) for part in error.absolute_path) or None
        raise RequestRejected(400, f"Invalid request: {error.message}", param=param, code="invalid_value")


def _validator(document: str, schema: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator({"$ref": f"urn:{document}#/components/schemas/{schema}"}, registry=_registry(document))


@cache
def _registry(document: str) -> Any:
    import yaml
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec_file = resources.files("airflow_provider_openai_images.testing").joinpath(document)
    spec = yaml.load(spec_file.read_text("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return Registry().with_resource(f"urn:{document}", Resource.from_contents(spec, DRAFT202012))
