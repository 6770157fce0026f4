"""A model's lifecycle: what the Models API says, read with the catalogue's dates and replacements."""

from __future__ import annotations

from datetime import date

from airflow_provider_openai_images.core.catalogue import packaged_catalogue
from airflow_provider_openai_images.core.lifecycle import (
    ModelListing,
    checks_lifecycle,
    not_served_explanation,
    retirement_notice,
    verdict,
)

TODAY = date(2026, 12, 5)
RULES = packaged_catalogue().rules_for


def test_a_model_the_models_api_does_not_serve_is_refused_with_its_date_and_replacement() -> None:
    found = verdict(ModelListing("gpt-image-1.5", served=False), RULES("gpt-image-1.5"), TODAY)
    assert found.warning is None
    assert found.refusal == (
        "OpenAI does not serve 'gpt-image-1.5' (GET /models/gpt-image-1.5 answered 404 model_not_found); OpenAI shut "
        "it down on 2026-12-01: use 'gpt-image-2.5-sunburst' (or 'gpt-image-2.5-flare') instead. Nothing was sent "
        "to the Images API."
    )
    unknown = verdict(ModelListing("acme", served=False), RULES("acme"), TODAY)
    assert unknown.refusal is not None
    assert "use a model the Models API lists" in unknown.refusal


def test_a_shutdown_date_in_the_past_refuses_one_within_30_days_warns_later_ones_pass() -> None:
    rules = RULES("gpt-image-2")
    past = verdict(ModelListing("gpt-image-2", True, date(2026, 12, 5)), rules, TODAY)
    assert past.refusal is not None
    assert "shut 'gpt-image-2' down on 2026-12-05" in past.refusal
    soon = verdict(ModelListing("gpt-image-2", True, date(2027, 1, 4)), rules, TODAY)
    assert (soon.refusal, soon.warning) == (None, "OpenAI shuts 'gpt-image-2' down on 2027-01-04, in 30 days: use a "
                                                  "model the Models API lists (GET /models).")  # fmt: skip
    assert verdict(ModelListing("gpt-image-2", True, date(2027, 1, 5)), rules, TODAY) == verdict(
        ModelListing("gpt-image-2", True, None), rules, TODAY
    )
    assert verdict(ModelListing("gpt-image-2", True, None), rules, TODAY).refusal is None


def test_the_models_api_wins_over_the_catalogue() -> None:
    """A model the catalogue calls shut down but that is still listed without a date is let through."""
    still = verdict(ModelListing("gpt-image-1.5", True, None), RULES("gpt-image-1.5"), TODAY)
    assert (still.refusal, still.warning) == (None, None)


def test_lookups_happen_on_openai_s_api_or_where_the_connection_says() -> None:
    assert checks_lifecycle("auto", "https://api.openai.com/v1")
    assert not checks_lifecycle("auto", "https://me.openai.azure.com")
    assert not checks_lifecycle("auto", "http://127.0.0.1:8080/v1")
    assert checks_lifecycle("openai", "http://127.0.0.1:8080/v1")
    assert not checks_lifecycle("off", "https://api.openai.com/v1")


def test_a_404_is_explained_from_the_catalogue() -> None:
    assert not_served_explanation("dall-e-2", RULES("dall-e-2"), TODAY) == (
        "The endpoint does not serve model 'dall-e-2': OpenAI shut it down on 2026-05-12; use 'gpt-image-2.5-flare' "
        "instead (Azure and compatible servers may still serve it under a deployment)."
    )
    assert "use a model the Models API lists" in not_served_explanation("my-sdxl", None, TODAY)


def test_retirement_is_told_only_for_openai_s_own_api_and_only_after_the_shutdown() -> None:
    after, before = date(2026, 5, 12), date(2026, 5, 11)
    notice = retirement_notice("dall-e-2", RULES("dall-e-2"), base_url="https://api.openai.com/v1", today=after)
    assert notice == (
        "OpenAI shut 'dall-e-2' down on 2026-05-12: use 'gpt-image-2.5-flare' instead (it may work elsewhere)."
    )
    assert retirement_notice("dall-e-2", RULES("dall-e-2"), base_url="https://api.openai.com/v1", today=before) is None
    assert retirement_notice("dall-e-3", RULES("dall-e-3"), base_url="https://me.openai.azure.com", today=after) is None
    assert (
        retirement_notice("gpt-image-2", RULES("gpt-image-2"), base_url="https://api.openai.com/v1", today=after)
        is None
    )
    assert retirement_notice("my-sdxl", None, base_url="https://api.openai.com/v1", today=after) is None
