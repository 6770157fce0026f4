"""Whether a parsed request is one the real Images API would accept: its body against the packaged
OpenAPI document, its model against the models served (:mod:`.serving`), its parameters against the
emulator's own model rules (:mod:`.model_rules`), its uploads against what the API takes
(:mod:`.uploads`), its prompt against the emulated safety system. Anything else raises
:class:`RequestRejected`, carrying the API's error answer.

Edits come as multipart uploads or as JSON (``EditImageBodyJsonParam``, images by data URL or file
id, see :mod:`.image_refs`); both go through the same upload checks. A multipart ``svg`` object comes
as ``svg[model]`` and ``svg[reasoning][effort]`` fields. The Batch and Files document
(``openai-batch-files-openapi.yaml``) has a registry of its own: :func:`batch_spec_validator`.

A request that names no model gets the OpenAPI document's default (``dall-e-2`` for generations and
variations, ``gpt-image-1.5`` for edits), which OpenAI has shut down: the emulator's assumption is
that OpenAI then answers ``404 model_not_found`` as for any model it no longer serves.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, cast

from airflow_provider_openai_images.testing.emulator.faults import Fault
from airflow_provider_openai_images.testing.emulator.image_refs import ReadFile, resolve_images
from airflow_provider_openai_images.testing.emulator.model_rules import check_parameters
from airflow_provider_openai_images.testing.emulator.records import RecordedRequest, UploadedFile
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected
from airflow_provider_openai_images.testing.emulator.served_models import Endpoint, ModelSpec
from airflow_provider_openai_images.testing.emulator.serving import ServingSettings, served_model
from airflow_provider_openai_images.testing.emulator.uploads import check_uploads

__all__ = [
    "SCHEMAS",
    "RequestRejected",
    "ValidatedRequest",
    "batch_spec_validator",
    "check_prompt",
    "spec_validator",
    "validate_image_request",
]

#: image endpoint -> its request schema in the OpenAPI document
SCHEMAS = {
    "generations": "CreateImageRequest",
    "edits": "CreateImageEditRequest",
    "variations": "CreateImageVariationRequest",
}
_INTEGER_FORM_FIELDS = ("n", "output_compression", "partial_images", "frame_count", "frame_duration_ms")
#: the spec's default model, by endpoint
DEFAULT_MODELS = {"generations": "dall-e-2", "edits": "gpt-image-1.5", "variations": "dall-e-2"}
#: request fields that are uploads, not scalar parameters
_UPLOAD_FIELDS = ("image", "images", "mask", "markup")
_IMAGES_SPEC, _BATCH_SPEC = "openai-images-openapi.yaml", "openai-batch-files-openapi.yaml"


@dataclass(frozen=True)
class ValidatedRequest:
    """An image request that passed every check: the model serving it, its parameters and its decoded
    Pillow images."""

    endpoint: str
    model: str
    spec: ModelSpec
    params: dict[str, Any]
    sources: list[Any] = field(default_factory=list)
    mask: Any = None
    markup: Any = None


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


def spec_validators() -> dict[str, Any]:
    """One JSON Schema validator per image endpoint, for its request schema."""
    return {endpoint: spec_validator(schema) for endpoint, schema in SCHEMAS.items()}


def validate_against_spec(endpoint: str, body: dict[str, Any], *, schema: str | None = None) -> None:
    """Raise :class:`RequestRejected` if ``body`` does not match the endpoint's request schema (or ``schema``)."""
    from jsonschema.exceptions import best_match

    validator = spec_validator(schema) if schema is not None else spec_validators()[endpoint]
    error = best_match(validator.iter_errors(body))  # the most specific error, not "not valid under anyOf"
    if error is not None:
        param = str(error.absolute_path[0]) if error.absolute_path else None
        raise RequestRejected(400, f"Invalid request body: {error.message}", param=param, code="invalid_value")


def validate_image_request(
    record: RecordedRequest, serving: ServingSettings, read_file: ReadFile | None = None
) -> ValidatedRequest:
    """Check a request to an image endpoint as the API would (raises :class:`RequestRejected`).

    :param serving: which models are served (the emulator's settings): others are answered
        ``404 model_not_found``.
    :param read_file: a Files API file's content by id, for JSON edits naming images by ``file_id``.
    """
    endpoint = _image_endpoint(record.endpoint)
    json_edit = endpoint == "edits" and record.json is not None
    uploads: dict[str, list[UploadedFile]] = {}
    if endpoint == "generations" or json_edit:
        params = dict(record.json) if record.json is not None else {}
    else:
        params, uploads = _multipart_parameters(record)
    validate_against_spec(endpoint, params, schema="EditImageBodyJsonParam" if json_edit else None)
    model = params.get("model") or DEFAULT_MODELS[endpoint]
    spec = served_model(model, serving)
    scalars = {key: value for key, value in params.items() if key not in _UPLOAD_FIELDS}
    check_parameters(spec, endpoint, scalars)
    if json_edit:
        if spec.family in ("dall-e-2", "dall-e-3"):
            raise RequestRejected(
                400, f"JSON edits take GPT image models only: {model} edits need a multipart upload.", param="model"
            )
        if params.get("markup") is not None:
            raise RequestRejected(
                400, "Invalid 'markup': send it as a file part of a multipart edit, not in JSON.", param="markup"
            )
        uploads = resolve_images(params, read_file)
    checked = check_uploads(spec, endpoint, params, uploads)
    return ValidatedRequest(endpoint, model, spec, params, checked.sources, checked.mask, checked.markup)


def _image_endpoint(endpoint: str | None) -> Endpoint:
    assert endpoint in SCHEMAS, f"not an image endpoint: {endpoint}"
    return cast("Endpoint", endpoint)


def check_prompt(prompt: Any, blocked_words: Collection[str]) -> None:
    """Refuse a prompt containing any of ``blocked_words`` (case-insensitive) as the GPT image models'
    safety system does: 400 ``moderation_blocked``."""
    if not isinstance(prompt, str) or not any(word and word.lower() in prompt.lower() for word in blocked_words):
        return
    error = Fault.content_policy("gpt-image").error or {}
    refusal = RequestRejected(400, error["message"], code=error["code"], error_type=error["type"])
    refusal.body = {"error": dict(error)}
    raise refusal


def _multipart_parameters(record: RecordedRequest) -> tuple[dict[str, Any], dict[str, list[UploadedFile]]]:
    params: dict[str, Any] = {}
    for name, values in record.form.items():
        value: Any = values[-1]
        if name in _INTEGER_FORM_FIELDS:
            try:
                value = int(value)
            except ValueError:
                raise RequestRejected(400, f"Invalid integer for '{name}': {value!r}", param=name) from None
        elif name == "stream":
            value = value == "true"
        if name.startswith("svg["):
            _set_svg_field(params, name, value)
        else:
            params[name] = value
    uploads: dict[str, list[UploadedFile]] = {}
    for upload in record.files:
        uploads.setdefault("image" if upload.field_name == "image[]" else upload.field_name, []).append(upload)
    multi = [upload for upload in record.files if upload.field_name == "image[]"]
    if multi:
        params["image"] = ["<binary>"] * len(multi)
    elif uploads.get("image"):
        params["image"] = "<binary>"
    for name in ("mask", "markup"):
        if uploads.get(name):
            params[name] = "<binary>"
    if len([u for u in record.files if u.field_name == "image"]) > 1:
        raise RequestRejected(400, "Several files in 'image': send them as repeated 'image[]' parts.", param="image")
    return params, uploads


def _set_svg_field(params: dict[str, Any], name: str, value: str) -> None:
    """``svg[model]`` and ``svg[reasoning][effort]`` fields into ``params["svg"]``, as the client sends them."""
    path = name.removeprefix("svg[").removesuffix("]").split("][")
    if path not in (["model"], ["reasoning", "effort"]):
        raise RequestRejected(400, f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    svg = params.setdefault("svg", {})
    if not isinstance(svg, dict):
        raise RequestRejected(400, "Invalid 'svg': send svg[model] and svg[reasoning][effort] fields.", param="svg")
    if path == ["model"]:
        svg["model"] = value
    else:
        svg.setdefault("reasoning", {})["effort"] = value
