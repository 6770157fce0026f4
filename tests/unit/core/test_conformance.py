"""The catalogue and the request types against the official client's types (``openai``, the ``test`` extra).

The client is generated from OpenAI's own API description: it is the oracle of the API's surface. When the pin
is raised, whatever changed (a new model, parameter, quality or format; a model shut down) fails here rather
than in a user's DAG.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from datetime import date
from typing import Any

import pytest

openai_types = pytest.importorskip("openai.types")

from openai.types import (  # noqa: E402
    image_create_variation_params,
    image_edit_params,
    image_generate_params,
    image_model,
    images_response,
)

from airflow_provider_openai_images.core.catalogue import packaged_catalogue  # noqa: E402
from airflow_provider_openai_images.core.requests import (  # noqa: E402
    EditRequest,
    GenerateRequest,
    ImageRequest,
    VariationRequest,
)
from airflow_provider_openai_images.core.validation import DELIBERATELY_REFUSED  # noqa: E402

#: The client's name of a request field -> ours, where they differ (several edit images go as ``image[]``).
RENAMED = {"image": "images"}
_MONTHS = {name: number for number, name in enumerate(
    ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
     "December"), start=1)}  # fmt: skip
_SHUT_DOWN = re.compile(
    r'- ((?:"[^"]+",?\s*)+): .*?(?:shut down|retired) on (\w+) (\d{1,2}), (\d{4})', re.DOTALL | re.IGNORECASE
)


def literal_values(hint: Any) -> set[str]:
    """Every string of the ``Literal`` types inside ``hint`` (through ``Optional``, ``Union``...)."""
    if typing.get_origin(hint) is typing.Literal:
        return {value for value in typing.get_args(hint) if isinstance(value, str)}
    return {value for argument in typing.get_args(hint) for value in literal_values(argument)}


def client_fields(params_type: Any) -> set[str]:
    return set(typing.get_type_hints(params_type))


def our_fields(request_type: type[ImageRequest]) -> set[str]:
    return {field.name for field in dataclasses.fields(request_type)} - {"extra_body"}


def client_shutdowns() -> dict[str, date]:
    """Model -> the day the client's docstrings say it was shut down or retired."""
    source = inspect.getsource(image_model)
    found: dict[str, date] = {}
    for names, month, day, year in _SHUT_DOWN.findall(source):
        for name in re.findall(r'"([^"]+)"', names):
            found[name] = date(int(year), _MONTHS[month], int(day))
    return found


def test_every_model_of_the_client_is_in_the_catalogue() -> None:
    models = literal_values(image_model.ImageModel)
    assert len(models) >= 14, "the client's ImageModel literal was read"
    missing = sorted(model for model in models if model not in packaged_catalogue())
    assert missing == [], f"models the official client knows and the catalogue does not: {missing}"


@pytest.mark.parametrize(
    ("params_type", "request_type"),
    [
        (image_generate_params.ImageGenerateParamsNonStreaming, GenerateRequest),
        (image_generate_params.ImageGenerateParamsStreaming, GenerateRequest),
        (image_edit_params.ImageEditParamsNonStreaming, EditRequest),
        (image_edit_params.ImageEditParamsStreaming, EditRequest),
        (image_create_variation_params.ImageCreateVariationParams, VariationRequest),
    ],
)
def test_every_request_field_of_the_client_is_accepted_or_refused_on_purpose(
    params_type: Any, request_type: type[ImageRequest]
) -> None:
    ours = our_fields(request_type)
    theirs = {name if name in ours else RENAMED.get(name, name) for name in client_fields(params_type)}
    unhandled = sorted(theirs - ours - set(DELIBERATELY_REFUSED))
    assert unhandled == [], f"{params_type.__name__} fields neither accepted nor refused on purpose: {unhandled}"
    assert all(reason.strip() for reason in DELIBERATELY_REFUSED.values()), "each refusal says why"
    assert not set(DELIBERATELY_REFUSED) & ours, "a field is either accepted or refused, not both"


def test_our_request_fields_exist_in_the_client() -> None:
    """Nothing we send is our own invention (beyond safety_identifier on variations, which the API ignores)."""
    for params_type, request_type in (
        (image_generate_params.ImageGenerateParamsNonStreaming, GenerateRequest),
        (image_edit_params.ImageEditParamsNonStreaming, EditRequest),
    ):
        ours = our_fields(request_type)
        theirs = {name if name in ours else RENAMED.get(name, name) for name in client_fields(params_type)}
        assert ours - theirs == set(), request_type.__name__


@pytest.mark.parametrize("field", ["quality", "output_format"])
def test_every_literal_value_of_quality_and_output_format_is_known(field: str) -> None:
    catalogue = packaged_catalogue()
    known: set[str] = set()
    for name in catalogue:
        rules = catalogue.rules_for(name)
        assert rules is not None
        known |= set((rules.qualities if field == "quality" else rules.output_formats) or ())
    for params_type in (image_generate_params.ImageGenerateParamsBase, image_edit_params.ImageEditParamsBase):
        values = literal_values(typing.get_type_hints(params_type)[field])
        assert values, f"{params_type.__name__}.{field} has literal values"
        assert values - known == set(), f"{field} values the client knows and no catalogue model takes"
    answered = literal_values(images_response.ImagesResponse.model_fields[field].annotation)
    assert answered - known == set(), f"{field} values an answer may carry that the catalogue does not know"


def test_every_model_the_client_calls_shut_down_has_that_shutdown_date() -> None:
    shutdowns = client_shutdowns()
    assert {"gpt-image-1", "dall-e-2", "dall-e-3"} <= set(shutdowns), "the client's docstrings were read"
    catalogue = packaged_catalogue()
    for model, day in shutdowns.items():
        rules = catalogue.rules_for(model)
        ours = rules.shutdown if rules is not None else "nothing (not in the catalogue)"
        assert ours == day, f"{model}: the client says it was shut down on {day}, the catalogue says {ours}"


def test_each_shut_down_model_names_replacements_that_are_served() -> None:
    catalogue = packaged_catalogue()
    as_of = date.fromisoformat(catalogue.as_of)
    for name in catalogue:
        rules = catalogue.rules_for(name)
        assert rules is not None
        if rules.shutdown is None:
            continue
        assert rules.replacements, f"{name} is shut down and names no replacement"
        for replacement in rules.replacements:
            served = catalogue.rules_for(replacement)
            assert served is not None, f"{name} -> {replacement}"
            assert not served.shut_down_by(as_of), f"{name} -> {replacement}"
