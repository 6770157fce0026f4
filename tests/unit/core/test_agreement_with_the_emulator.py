"""Our rules against the emulator's, which were written on their own from the official client (nothing of the
emulator is imported from ``core``): for every model both know, a parameter value we accept the emulator
accepts, and where a model's rules are published, what we refuse it refuses too. Where they are not (the 2.6
family), we check less than it does, never more.
"""

from __future__ import annotations

import typing
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types import image_generate_params

from airflow_provider_openai_images.core.catalogue import packaged_catalogue
from airflow_provider_openai_images.core.validation import validate_parameters
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.testing.emulator.images.model_rules import check_parameters
from airflow_provider_openai_images.testing.emulator.images.served_models import CATALOGUE
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected
from tests.unit.core.test_conformance import literal_values

SHARED = sorted(name for name in CATALOGUE if name in packaged_catalogue())
FLEXIBLE = [name for name in SHARED if packaged_catalogue().rules_for(name).size_rule == "flexible"]  # type: ignore[union-attr]
GENERATE_HINTS = typing.get_type_hints(image_generate_params.ImageGenerateParamsBase)


def ours(model: str, params: dict[str, Any]) -> bool:
    try:
        validate_parameters(model, "generations", {"prompt": "a fox", **params})
    except OpenAIImagesValidationError:
        return False
    return True


def theirs(model: str, params: dict[str, Any]) -> bool:
    try:
        check_parameters(CATALOGUE[model], "generations", {"prompt": "a fox", "model": model, **params})
    except RequestRejected:
        return False
    return True


def agree(model: str, params: dict[str, Any]) -> None:
    published = packaged_catalogue().rules_for(model).published  # type: ignore[union-attr]
    accepted, served = ours(model, params), theirs(model, params)
    if published:
        assert accepted == served, f"{model} {params}: we {'accept' if accepted else 'refuse'}, the emulator not"
    else:
        assert accepted or not served, f"{model} {params}: unpublished rules, yet we refuse what it takes"


def test_both_catalogues_know_the_same_models() -> None:
    assert set(CATALOGUE) == set(packaged_catalogue())


@pytest.mark.parametrize("model", SHARED)
@pytest.mark.parametrize("field", ["quality", "output_format", "style", "response_format", "background"])
def test_every_value_the_client_knows_is_accepted_alike(model: str, field: str) -> None:
    for value in sorted(literal_values(GENERATE_HINTS[field])):
        agree(model, {field: value, **({"n": 1} if value == "svg" else {})})


@pytest.mark.parametrize("model", SHARED)
def test_every_listed_size_is_accepted_alike(model: str) -> None:
    sizes = {size for name in SHARED for size in packaged_catalogue().rules_for(name).sizes}  # type: ignore[union-attr]
    for size in sorted(sizes | {"2048x1152", "3840x2160", "1000x1000"}):
        agree(model, {"size": size})


edge = st.sampled_from([16, 32, 1024, 1152, 1280, 2048, 2160, 2176, 2560, 3840, 3856, 4096])
side = st.one_of(edge, st.integers(min_value=1, max_value=5000), st.integers(1, 320).map(lambda k: 16 * k))


@given(model=st.sampled_from(FLEXIBLE), width=side, height=side)
def test_any_flexible_size_is_accepted_or_refused_alike(model: str, width: int, height: int) -> None:
    agree(model, {"size": f"{width}x{height}"})
