"""A model's lifecycle: whether OpenAI still serves it, when it stops, and what to use instead.

Two sources: the catalogue's ``shutdown`` and ``replacements``, and what the Models API
(``GET /models/{model}``, free) says now, which wins. Pure Python, no Airflow and no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal
from urllib.parse import urlsplit

from airflow_provider_openai_images.core.models import ModelRules

#: Where OpenAI serves its own API: its shutdown dates concern it only.
OPENAI_API_HOST = "api.openai.com"
#: A shutdown this close (in days) is worth a warning in every task log.
WARN_WITHIN_DAYS = 30
#: ``auto``: check the Models API on api.openai.com only; ``openai``: wherever (a gateway in front of
#: OpenAI); ``off``: never (Azure, compatible servers)
LifecycleMode = Literal["auto", "openai", "off"]
LIFECYCLE_MODES: tuple[LifecycleMode, ...] = ("auto", "openai", "off")


@dataclass(frozen=True)
class ModelListing:
    """What the Models API says of one model: whether it is served, and its announced ``shutdown_date``."""

    model: str
    served: bool
    shutdown_date: date | None = None


@dataclass(frozen=True)
class LifecycleVerdict:
    """``refusal``: why the model must not be called (nothing sent yet); ``warning``: what to log."""

    refusal: str | None = None
    warning: str | None = None


def checks_lifecycle(mode: LifecycleMode, base_url: str) -> bool:
    """Whether a connection with ``model_lifecycle=mode`` reads the Models API before using a model."""
    if mode == "off":
        return False
    return mode == "openai" or urlsplit(base_url).hostname == OPENAI_API_HOST


def instead(model: str, rules: ModelRules | None) -> str:
    """``use 'a' (or 'b') instead``, from the catalogue; a generic hint for a model it does not know."""
    replacements = [name for name in (rules.replacements if rules else ()) if name != model]
    if not replacements:
        return "use a model the Models API lists (GET /models)"
    alternatives = "".join(f" (or {name!r})" for name in replacements[1:])
    return f"use {replacements[0]!r}{alternatives} instead"


def verdict(listing: ModelListing, rules: ModelRules | None, today: date) -> LifecycleVerdict:
    """What to do about calling ``listing.model`` today, given what the Models API said of it."""
    model = listing.model
    known = rules.shutdown if rules else None
    if not listing.served:
        when = f"; OpenAI shut it down on {known.isoformat()}" if known and known <= today else ""
        return LifecycleVerdict(
            refusal=f"OpenAI does not serve {model!r} (GET /models/{model} answered 404 model_not_found){when}: "
            f"{instead(model, rules)}. Nothing was sent to the Images API."
        )
    shutdown = listing.shutdown_date
    if shutdown is not None and shutdown <= today:
        return LifecycleVerdict(
            refusal=f"OpenAI shut {model!r} down on {shutdown.isoformat()} (GET /models/{model}): "
            f"{instead(model, rules)}. Nothing was sent to the Images API."
        )
    if shutdown is not None and (shutdown - today).days <= WARN_WITHIN_DAYS:
        days = (shutdown - today).days
        return LifecycleVerdict(
            warning=f"OpenAI shuts {model!r} down on {shutdown.isoformat()}, in {days} day{'s' if days != 1 else ''}: "
            f"{instead(model, rules)}."
        )
    return LifecycleVerdict()


def not_served_explanation(model: str, rules: ModelRules | None, today: date) -> str:
    """What to say about a ``404 model_not_found`` answer for ``model``, from the catalogue."""
    if rules is not None and rules.shutdown is not None and rules.shutdown <= today:
        return (
            f"The endpoint does not serve model {model!r}: OpenAI shut it down on {rules.shutdown.isoformat()}; "
            f"{instead(model, rules)} (Azure and compatible servers may still serve it under a deployment)."
        )
    return f"The endpoint does not serve model {model!r}: {instead(model, rules)}."


def retirement_notice(model: str, rules: ModelRules | None, *, base_url: str, today: date) -> str | None:
    """A warning when ``model`` is called on OpenAI's own API after the catalogue says OpenAI shut it down.

    Azure OpenAI and compatible servers may still serve it, so elsewhere this says nothing.
    """
    if rules is None or rules.shutdown is None or today < rules.shutdown:
        return None
    if urlsplit(base_url).hostname != OPENAI_API_HOST:
        return None
    return (
        f"OpenAI shut {model!r} down on {rules.shutdown.isoformat()}: {instead(model, rules)} (it may work elsewhere)."
    )
