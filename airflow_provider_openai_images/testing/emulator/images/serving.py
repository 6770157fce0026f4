"""Which model names the emulator serves under its settings, and the Models API's answers.

By default the emulator is OpenAI's API on :data:`~.served_models.AS_OF`: it serves the catalogue's
models that OpenAI has not shut down, and answers any other name (a retired model, a name it does
not know) ``404 model_not_found``, billing nothing. The settings, read at every request:

- ``compatible_server``: serve every catalogue model, DALL·E and retired GPT image models included,
  as Azure OpenAI and self-hosted compatible servers do, and serve unknown names too (as
  :func:`~.served_models.stand_in` describes).
- ``extra_models``: new names served in either mode, each behaving exactly as the catalogue model it
  names (a model released tomorrow).
- ``shutdown_dates``: the ``shutdown_date`` the Models API reports for a model, instead of OpenAI's
  (default mode) or none (compatible mode).
- ``unavailable_models``: names always answered 404, on top of everything else.

The Models API lists the catalogue's served models and the extra ones; it retrieves exactly those
(a name served only as a compatible-mode stand-in is not listed, nor retrieved). It is never billed.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import date
from typing import Literal, Protocol

from typing_extensions import TypedDict

from airflow_provider_openai_images.testing.emulator.images.served_models import AS_OF, CATALOGUE, ModelSpec, stand_in
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected

#: who the Models API says owns every model
OWNED_BY = "system"


class ServingSettings(Protocol):
    """What decides whether a model name is served, read at every request."""

    @property
    def compatible_server(self) -> bool:
        """Serve every catalogue model and unknown names, as compatible servers do."""

    @property
    def extra_models(self) -> Mapping[str, str]:
        """New model name -> the catalogue model it behaves as."""

    @property
    def shutdown_dates(self) -> Mapping[str, str | None]:
        """Model name -> the ``shutdown_date`` the Models API reports (ISO date or ``None``)."""

    @property
    def unavailable_models(self) -> Collection[str]:
        """Names always answered ``404 model_not_found``."""


class ModelJSON(TypedDict):
    """The spec's ``Model``."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    shutdown_date: str | None


class ModelListJSON(TypedDict):
    """The spec's ``ListModelsResponse``."""

    object: Literal["list"]
    data: list[ModelJSON]


def model_not_found(name: str) -> RequestRejected:
    """OpenAI's answer for a model it does not serve (shut down, or never known)."""
    return RequestRejected(
        404, f"The model `{name}` does not exist or you do not have access to it.", code="model_not_found"
    )


def check_serving_settings(extra_models: Mapping[str, str], shutdown_dates: Mapping[str, str | None]) -> None:
    """Raise :class:`ValueError` for an extra model naming no catalogue model, or a date not ``YYYY-MM-DD``."""
    for name, target in extra_models.items():
        if target not in CATALOGUE:
            raise ValueError(f"extra_models[{name!r}] = {target!r} names no model of the emulator's catalogue")
    for name, day in shutdown_dates.items():
        if day is not None:
            try:
                date.fromisoformat(day)
            except (TypeError, ValueError):
                raise ValueError(f"shutdown_dates[{name!r}] = {day!r} is not an ISO date (YYYY-MM-DD)") from None


def served_model(name: str, settings: ServingSettings) -> ModelSpec:
    """The model serving ``name`` under ``settings``; :class:`RequestRejected` 404 if none does."""
    if name in settings.unavailable_models:
        raise model_not_found(name)
    extra = _extra(name, settings)
    if extra is not None:
        return extra
    spec = CATALOGUE.get(name)
    if settings.compatible_server:
        return spec if spec is not None else stand_in(name)
    if spec is None or not spec.served_by_openai:
        raise model_not_found(name)
    return spec


def _extra(name: str, settings: ServingSettings) -> ModelSpec | None:
    target = settings.extra_models.get(name)
    if target is None:
        return None
    if target not in CATALOGUE:
        raise RequestRejected(
            500,
            f"The emulator's extra_models maps {name!r} to {target!r}, which is no model of its catalogue.",
            error_type="server_error",
        )
    return replace(CATALOGUE[target], name=name, released=AS_OF, shutdown=None)


def listed_models(settings: ServingSettings) -> list[ModelSpec]:
    """The models ``GET /models`` lists: the catalogue's served ones, then the extra ones."""
    names = [
        name
        for name, spec in CATALOGUE.items()
        if (settings.compatible_server or spec.served_by_openai) and name not in settings.extra_models
    ]
    names += list(settings.extra_models)
    return [served_model(name, settings) for name in names if name not in settings.unavailable_models]


def model_json(spec: ModelSpec, settings: ServingSettings) -> ModelJSON:
    """One ``Model``: OpenAI's shutdown date in default mode, none in compatible mode or for an extra
    model, unless ``shutdown_dates`` says otherwise."""
    if spec.name in settings.shutdown_dates:
        shutdown = settings.shutdown_dates[spec.name]
    elif settings.compatible_server or spec.shutdown is None:
        shutdown = None
    else:
        shutdown = spec.shutdown.isoformat()
    return ModelJSON(
        id=spec.name,
        object="model",
        created=calendar.timegm(spec.released.timetuple()),
        owned_by=OWNED_BY,
        shutdown_date=shutdown,
    )


def models_list(settings: ServingSettings) -> ModelListJSON:
    """``GET /models``."""
    return ModelListJSON(object="list", data=[model_json(spec, settings) for spec in listed_models(settings)])


def model_object(name: str, settings: ServingSettings) -> ModelJSON:
    """``GET /models/{model}``: a listed model, else 404 ``model_not_found``."""
    for spec in listed_models(settings):
        if spec.name == name:
            return model_json(spec, settings)
    raise model_not_found(name)
