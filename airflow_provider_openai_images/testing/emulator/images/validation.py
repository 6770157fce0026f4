"""Whether a parsed request is one the real Images API would accept: its body against the packaged
OpenAPI document, its model against the models served (:mod:`.serving`), its parameters against the
emulator's own model rules (:mod:`.model_rules`), its uploads against what the API takes
(:mod:`.uploads`), its prompt against the emulated safety system. Anything else raises
:class:`RequestRejected`, carrying the API's error answer.

Edits come as multipart uploads or as JSON (``EditImageBodyJsonParam``, images by data URL or file
id, see :mod:`.image_refs`); both go through the same upload checks. A multipart request's fields are
typed by :mod:`.parameters`; the packaged documents' validators are in :mod:`..specs`.

A request that names no model gets the OpenAPI document's default (``dall-e-2`` for generations and
variations, ``gpt-image-1.5`` for edits), which OpenAI has shut down: the emulator's assumption is
that OpenAI then answers ``404 model_not_found`` as for any model it no longer serves.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, cast

from airflow_provider_openai_images.testing.emulator.faults import Fault
from airflow_provider_openai_images.testing.emulator.images.image_refs import ReadFile, resolve_images
from airflow_provider_openai_images.testing.emulator.images.model_rules import check_parameters
from airflow_provider_openai_images.testing.emulator.images.parameters import multipart_parameters
from airflow_provider_openai_images.testing.emulator.images.served_models import Endpoint, ModelSpec
from airflow_provider_openai_images.testing.emulator.images.serving import ServingSettings, served_model
from airflow_provider_openai_images.testing.emulator.images.uploads import check_uploads
from airflow_provider_openai_images.testing.emulator.recordings import RecordedRequest, UploadedFile
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected
from airflow_provider_openai_images.testing.emulator.specs import spec_validator

__all__ = ["SCHEMAS", "ValidatedRequest", "check_prompt", "validate_image_request"]

#: image endpoint -> its request schema in the OpenAPI document
SCHEMAS = {
    "generations": "CreateImageRequest",
    "edits": "CreateImageEditRequest",
    "variations": "CreateImageVariationRequest",
}
#: the spec's default model, by endpoint
DEFAULT_MODELS = {"generations": "dall-e-2", "edits": "gpt-image-1.5", "variations": "dall-e-2"}
#: request fields that are uploads, not scalar parameters
_UPLOAD_FIELDS = ("image", "images", "mask", "markup")


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
        params, uploads = multipart_parameters(record)
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
