"""Whether a parsed request is one the real Images API would accept: its body against the packaged
OpenAPI document, its parameters against the provider's model rules, its uploads against what the
API takes, its prompt against the emulated safety system. Anything else raises
:class:`RequestRejected`, carrying the API's error answer.

Edits come as multipart uploads or as JSON (``EditImageBodyJsonParam``, images by data URL or file
id, see :mod:`.image_refs`); both go through the same upload checks. The Batch and Files document
(``openai-batch-files-openapi.yaml``) has a registry of its own: :func:`batch_spec_validator`.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from airflow_provider_openai_images.core.models import ModelRules, validate_parameters
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.testing.emulator.faults import Fault
from airflow_provider_openai_images.testing.emulator.image_refs import ReadFile, resolve_images
from airflow_provider_openai_images.testing.emulator.records import RecordedRequest, UploadedFile
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected

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
_SUPPORTED_UPLOAD_TYPES = ("image/png", "image/jpeg", "image/webp")
_INTEGER_FORM_FIELDS = ("n", "output_compression", "partial_images")
_IMAGES_SPEC, _BATCH_SPEC = "openai-images-openapi.yaml", "openai-batch-files-openapi.yaml"


@dataclass(frozen=True)
class ValidatedRequest:
    """An image request that passed every check: its parameters and its decoded Pillow images."""

    endpoint: str
    model: str
    rules: ModelRules | None
    params: dict[str, Any]
    sources: list[Any] = field(default_factory=list)
    mask: Any = None


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
    validator = spec_validator(schema) if schema is not None else spec_validators()[endpoint]
    error = next(iter(validator.iter_errors(body)), None)
    if error is not None:
        param = str(error.absolute_path[0]) if error.absolute_path else None
        raise RequestRejected(400, f"Invalid request body: {error.message}", param=param, code="invalid_value")


def validate_image_request(
    record: RecordedRequest, unavailable_models: Collection[str] = (), read_file: ReadFile | None = None
) -> ValidatedRequest:
    """Check a request to an image endpoint as the API would (raises :class:`RequestRejected`).

    :param unavailable_models: models the endpoint no longer serves: answered ``404 model_not_found``.
    :param read_file: a Files API file's content by id, for JSON edits naming images by ``file_id``.
    """
    endpoint = record.endpoint
    assert endpoint in SCHEMAS
    json_edit = endpoint == "edits" and record.json is not None
    uploads: dict[str, list[UploadedFile]] = {}
    if endpoint == "generations" or json_edit:
        params = dict(record.json) if record.json is not None else {}
    else:
        params, uploads = _multipart_parameters(record)
    validate_against_spec(endpoint, params, schema="EditImageBodyJsonParam" if json_edit else None)
    model = params.get("model") or ("dall-e-2" if endpoint != "edits" else "gpt-image-1.5")
    if model in unavailable_models:
        raise RequestRejected(
            404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
        )
    scalars = {key: value for key, value in params.items() if key not in ("image", "image[]", "images", "mask")}
    try:
        rules = validate_parameters(model, endpoint, scalars)  # type: ignore[arg-type]
    except OpenAIImagesValidationError as error:
        raise RequestRejected(400, error.message, param=error.parameter, code="invalid_value") from None
    if json_edit:
        if rules is not None and not rules.is_gpt_image:
            raise RequestRejected(
                400, f"JSON edits take GPT image models only: {model} edits need a multipart upload.", param="model"
            )
        uploads = resolve_images(params, read_file)
    sources = [_open_upload(upload, "image") for upload in uploads.get("image", [])]
    mask = _open_upload(uploads["mask"][0], "mask") if uploads.get("mask") else None
    _check_uploads(
        rules.name if rules else model, rules is not None and not rules.is_gpt_image, endpoint, sources, mask
    )
    return ValidatedRequest(endpoint, model, rules, params, sources, mask)


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
        params[name] = value
    uploads: dict[str, list[UploadedFile]] = {}
    for upload in record.files:
        uploads.setdefault("image" if upload.field_name == "image[]" else upload.field_name, []).append(upload)
    multi = [upload for upload in record.files if upload.field_name == "image[]"]
    if multi:
        params["image"] = ["<binary>"] * len(multi)
    elif uploads.get("image"):
        params["image"] = "<binary>"
    if uploads.get("mask"):
        params["mask"] = "<binary>"
    if len([u for u in record.files if u.field_name == "image"]) > 1:
        raise RequestRejected(400, "Several files in 'image': send them as repeated 'image[]' parts.", param="image")
    return params, uploads


def _check_uploads(model: str, dall_e: bool, endpoint: str, sources: list[Any], mask: Any) -> None:
    if dall_e and endpoint in ("edits", "variations"):
        if len(sources) != 1:
            raise RequestRejected(400, f"{model} takes exactly one image.", param="image")
        if sources[0].format != "PNG" or sources[0].width != sources[0].height:
            raise RequestRejected(
                400,
                "Invalid input image - format must be a square PNG.",
                param="image",
                code="invalid_image_format",
            )
    if mask is not None:
        if mask.format != "PNG" or ("A" not in mask.getbands() and mask.mode != "P"):
            raise RequestRejected(
                400,
                "Invalid mask image - format must be a PNG with an alpha channel.",
                param="mask",
                code="invalid_image_format",
            )
        if mask.size != sources[0].size:
            raise RequestRejected(
                400,
                f"Invalid mask: size {mask.width}x{mask.height} does not match image "
                f"{sources[0].width}x{sources[0].height}.",
                param="mask",
            )


def _open_upload(upload: UploadedFile, parameter: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    if upload.content_type not in _SUPPORTED_UPLOAD_TYPES:
        raise RequestRejected(
            400,
            f"Invalid file '{parameter}': unsupported mimetype ('{upload.content_type}'). Supported file "
            "formats are 'image/png', 'image/jpeg', and 'image/webp'.",
            param=parameter,
            code="invalid_image_format",
        )
    if not upload.filename:
        raise RequestRejected(400, f"Invalid file '{parameter}': a filename is required.", param=parameter)
    try:
        image = Image.open(io.BytesIO(upload.content))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise RequestRejected(
            400, f"Invalid image file '{parameter}': {error}", param=parameter, code="invalid_image"
        ) from None
    declared = upload.content_type.split("/")[1]
    if (image.format or "").lower() != declared:
        raise RequestRejected(
            400,
            f"Invalid file '{parameter}': content is {image.format}, declared {declared}.",
            param=parameter,
            code="invalid_image_format",
        )
    return image
