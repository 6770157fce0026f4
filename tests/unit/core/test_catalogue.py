"""The model catalogue as data: the packaged file, and a connection's ``models`` extra on top of it."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from typing import Any

import pytest

from airflow_provider_openai_images.core.catalogue import packaged_catalogue
from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.responses import ImagesUsage
from airflow_provider_openai_images.core.validation import validate_parameters
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

SERVED_TODAY = {
    "gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-2.5-flare", "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.5-sunburst", "gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.6-flare", "gpt-image-2.6-sunburst",
}  # fmt: skip
ACME = {
    "extends": "gpt-image-2.5-flare",
    "sizes": ["1024x1024", "2048x2048"],
    "qualities": ["standard", "ultra"],
    "prices": {"text_input": 1.0, "image_input": 2.0, "image_output": 10.0, "per_image": {"ultra": {"*": 0.5}}},
}


def test_the_packaged_file_says_when_and_where_its_data_comes_from() -> None:
    document = json.loads(resources.files("airflow_provider_openai_images.core").joinpath("catalogue.json").read_text())
    catalogue = packaged_catalogue()
    assert catalogue.as_of == document["as_of"] == "2026-12-05"
    assert {"client", "shutdowns", "prices"} <= set(catalogue.sources)
    assert "openai-python 3.63.0" in catalogue.sources["client"]


def test_as_of_its_date_openai_serves_the_2_families_only() -> None:
    catalogue = packaged_catalogue()
    as_of = date.fromisoformat(catalogue.as_of)
    served = {name for name in catalogue if not catalogue.rules_for(name).shut_down_by(as_of)}  # type: ignore[union-attr]
    assert served == SERVED_TODAY
    assert catalogue.rules_for("gpt-image-1.5").shutdown == date(2026, 12, 1)  # type: ignore[union-attr]
    assert catalogue.rules_for("dall-e-3").replacement == "gpt-image-2.5-flare"  # type: ignore[union-attr]


def test_the_2_6_family_is_marked_unpublished_and_checked_only_for_what_gpt_models_share() -> None:
    rules = packaged_catalogue().rules_for("gpt-image-2.6-sunburst")
    assert rules is not None
    assert not rules.published
    assert (rules.size_rule, rules.input_fidelity, rules.markup) == ("any", None, None)
    assert "Unverified" in (packaged_catalogue().prices_entry("gpt-image-2.6-sunburst") or {})["note"]


def test_the_2_and_2_5_families_are_priced_at_the_published_token_prices() -> None:
    table = PriceTable()
    for model in ("gpt-image-2", "gpt-image-2.5-flare", "gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.6-flare"):
        prices = table.for_model(model)
        assert prices is not None
        assert (prices.text_input, prices.image_input, prices.image_output) == (5.0, 8.0, 30.0), model
    usage = ImagesUsage(100, 20000, 20100, {"text_tokens": 100, "image_tokens": 0}, {"image_tokens": 20000})
    cost = table.answer_cost("gpt-image-2.5-flare", images=1, usage=usage, quality="max", size="2048x1152")
    assert cost == pytest.approx(100 * 5 / 1e6 + 20000 * 30 / 1e6)


def test_a_model_named_only_in_the_models_extra_is_checked_and_priced_from_it() -> None:
    catalogue = packaged_catalogue().with_entries({"acme-image-1": ACME})
    assert "acme-image-1" not in packaged_catalogue()
    assert validate_parameters("acme-image-1", "generations", {"prompt": "p", "quality": "ultra"}, catalogue)
    with pytest.raises(OpenAIImagesValidationError) as raised:
        validate_parameters("acme-image-1", "generations", {"prompt": "p", "size": "1536x1024"}, catalogue)
    assert (raised.value.parameter, raised.value.allowed) == ("size", "one of '1024x1024', '2048x2048'")
    with pytest.raises(OpenAIImagesValidationError):
        validate_parameters("acme-image-1", "generations", {"prompt": "p", "quality": "high"}, catalogue)
    assert validate_parameters("acme-image-1", "generations", {"prompt": "p", "output_format": "gif"}, catalogue)
    table = PriceTable(catalogue=catalogue)
    usage = ImagesUsage(10, 1000, 1010, {"text_tokens": 10}, {"image_tokens": 1000})
    assert table.answer_cost("acme-image-1", images=1, usage=usage, quality=None, size=None) == pytest.approx(
        10 * 1.0 / 1e6 + 1000 * 10.0 / 1e6
    )
    assert table.worst_case("acme-image-1", images=2, quality="ultra", size=None) == pytest.approx(1.0)
    assert table.worst_case("acme-image-1", images=1, quality=None, size=None) is None, "'standard' has no price"


def test_an_entry_for_a_known_model_changes_only_what_it_names() -> None:
    catalogue = packaged_catalogue().with_entries(
        {"gpt-image-2": {"shutdown": "2027-03-01", "replacements": ["gpt-image-2.5-flare"]}}
    )
    before, after = packaged_catalogue().rules_for("gpt-image-2"), catalogue.rules_for("gpt-image-2")
    assert after is not None
    assert before is not None
    assert (after.shutdown, after.replacement) == (date(2027, 3, 1), "gpt-image-2.5-flare")
    assert (after.qualities, after.size_rule, after.output_formats) == (
        before.qualities, before.size_rule, before.output_formats
    )  # fmt: skip
    snapshot = catalogue.rules_for("gpt-image-2-2026-04-21")
    assert snapshot is not None
    assert snapshot.shutdown == date(2027, 3, 1), "entries extending it follow it"
    overridden = PriceTable(
        catalogue=packaged_catalogue().with_entries({"gpt-image-2": {"prices": {"image_output": 40}}})
    )
    prices = overridden.for_model("gpt-image-2")
    assert prices is not None
    assert (prices.image_output, prices.text_input) == (40.0, 5.0)
    assert prices.per_image["high"]["1024x1024"] == 0.211
    flat = PriceTable(catalogue=packaged_catalogue().with_entries(
        {"gpt-image-2": {"prices": {"per_image": {"high": {"*": 0.3}}}}}
    ))  # fmt: skip
    assert flat.worst_case("gpt-image-2", images=1, quality="high", size="1024x1024") == 0.3, "'*' replaces the sizes"
    assert flat.worst_case("gpt-image-2", images=1, quality="low", size="1024x1024") == 0.006, "other qualities stay"
    in_prices_extra = PriceTable({"gpt-image-2": {"per_image": {"high": {"*": 0.3}}}})
    assert in_prices_extra.worst_case("gpt-image-2", images=1, quality="high", size="2048x2048") == 0.3


@pytest.mark.parametrize(
    ("entry", "field", "allowed"),
    [
        ("big", "models['m']", "an object"),
        ({"family": "gpt-image", "colour": "red"}, "models['m'].colour", "one of"),
        ({"family": "diffusion"}, "models['m'].family", "'gpt-image' or 'dall-e'"),
        ({"sizes": "2048x2048", "family": "gpt-image"}, "models['m'].sizes", "'flexible' or 'any'"),
        ({"extends": "gpt-image-9"}, "models['m'].extends", "a known model name"),
        ({"extends": "gpt-image-2", "qualities": "high"}, "models['m'].qualities", "a list of strings"),
        ({"extends": "gpt-image-2", "max_n": 0}, "models['m'].max_n", "a positive number"),
        ({"extends": "gpt-image-2", "shutdown": "next year"}, "models['m'].shutdown", "YYYY-MM-DD"),
        ({"extends": "gpt-image-2", "endpoints": ["videos"]}, "models['m'].endpoints", "names among"),
        ({"extends": "gpt-image-2", "prices": {"image_output": "a lot"}}, "models['m'].prices", "token prices"),
        ({"extends": "gpt-image-2", "prices": {"image_output": float("nan")}}, "models['m'].prices", "token prices"),
        ({"extends": "gpt-image-2", "prices": {"image_output": -1}}, "models['m'].prices", "token prices"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_field(entry: Any, field: str, allowed: str) -> None:
    with pytest.raises(OpenAIImagesValidationError) as raised:
        PriceTable(catalogue=packaged_catalogue().with_entries({"m": entry}))
    assert raised.value.parameter == field
    assert allowed in raised.value.allowed


def test_extends_cycles_are_refused() -> None:
    with pytest.raises(OpenAIImagesValidationError) as raised:
        packaged_catalogue().with_entries({"a": {"extends": "b"}, "b": {"extends": "a"}})
    assert raised.value.parameter.endswith(".extends")
