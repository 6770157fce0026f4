"""The model catalogue: each image model's rules, prices and lifecycle, as data.

The packaged ``catalogue.json`` holds what OpenAI published as of its ``as_of`` date, with its sources.
A connection's ``models`` extra adds or overrides entries in the same schema (:meth:`ModelCatalogue.with_entries`),
so a model released tomorrow, or a compatible server's own, is checked and priced without a release.

An entry (every field optional when it ``extends`` another entry, or overrides a packaged one):

- ``extends``: the entry it starts from (a packaged or earlier name);
- ``family``: ``gpt-image`` or ``dall-e`` (its ``family_defaults`` apply);
- ``endpoints``: of ``generations``, ``edits``, ``variations``;
- ``sizes``: a list of sizes, ``"flexible"`` (the 2 and 2.5 families' WIDTHxHEIGHT rule) or ``"any"``;
- ``qualities``, ``output_formats``, ``styles``, ``response_formats``, ``input_fidelity``: lists of accepted
  values (``null``: not published, not checked; ``[]``: refused);
- ``max_n``, ``prompt_limits`` (endpoint -> characters), ``max_input_images``, ``input_image_types``,
  ``max_input_image_mb``, ``markup`` (``true``/``false``/``null``);
- ``shutdown`` (``YYYY-MM-DD``), ``replacements`` (names), ``published`` (``false``: rules unknown), ``note``;
- ``prices``: see :class:`~airflow_provider_openai_images.core.pricing.PriceTable` (token prices in USD per
  million, ``per_image`` quality -> size -> USD, ``area_priced``), merged over what it extends.

Pure Python, no Airflow and no HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from airflow_provider_openai_images.core.models import STANDARD_GPT_SIZES, ModelRules, SizeRule, snapshot_base
from airflow_provider_openai_images.core.pricing import merged_sizes
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

_LIST_FIELDS = ("endpoints", "qualities", "output_formats", "styles", "response_formats", "input_fidelity",
                "input_image_types", "replacements")  # fmt: skip
_FIELDS = frozenset({*_LIST_FIELDS, "extends", "family", "sizes", "max_n", "prompt_limits", "max_input_images",
                     "max_input_image_mb", "markup", "shutdown", "published", "note", "prices"})  # fmt: skip
_ENDPOINTS = ("generations", "edits", "variations")
_FAMILIES = ("gpt-image", "dall-e")


class ModelCatalogue:
    """Image models by name: their :class:`ModelRules` and their entries' ``prices``.

    :param entries: name -> entry as written (``extends`` and family defaults are resolved here).
    :param family_defaults: family -> the fields its entries leave out.
    :param as_of: the day the packaged entries were true.
    :param sources: where they come from.
    :param parameter: where the entries come from, to name in errors.
    :raises OpenAIImagesValidationError: for an entry that is not in the schema, naming what is wrong.
    """

    def __init__(
        self,
        entries: Mapping[str, Mapping[str, Any]],
        family_defaults: Mapping[str, Mapping[str, Any]],
        *,
        as_of: str,
        sources: Mapping[str, str],
        parameter: str = "catalogue.json",
    ) -> None:
        self._written = dict(entries)
        self._family_defaults = family_defaults
        self.as_of = as_of
        self.sources = dict(sources)
        self._entries = _resolved(self._written, family_defaults, parameter)
        self._rules = {name: _rules(name, entry) for name, entry in self._entries.items()}

    def __contains__(self, model: object) -> bool:
        return model in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, model: str) -> Mapping[str, Any] | None:
        """The complete entry of ``model`` (a dated snapshot not listed falls back to its base model)."""
        return self._entries.get(model) or self._entries.get(snapshot_base(model) or "")

    def rules_for(self, model: str) -> ModelRules | None:
        """The rules of ``model``; ``None`` for an unknown model (passed through unchecked)."""
        return self._rules.get(model) or self._rules.get(snapshot_base(model) or "")

    def prices_entry(self, model: str) -> Mapping[str, Any] | None:
        """The ``prices`` of ``model``'s entry, if it has any."""
        entry = self.entry(model)
        return entry.get("prices") if entry else None

    def with_entries(self, extra: Mapping[str, Any] | None, *, parameter: str = "models") -> ModelCatalogue:
        """This catalogue with ``extra`` (name -> entry, as the connection's ``models`` extra holds it) on top.

        An entry for a known name changes only what it names, unless it ``extends`` another; a new name
        starts from ``extends``, or from nothing (then ``family`` is required).

        :raises OpenAIImagesValidationError: for an entry that is not in the schema, naming what is wrong.
        """
        if not extra:
            return self
        if not isinstance(extra, Mapping):
            raise OpenAIImagesValidationError(parameter, extra, "a JSON object: model name -> entry")
        written = dict(self._written)
        for name, entry in extra.items():
            if not isinstance(name, str) or not name.strip():
                raise OpenAIImagesValidationError(parameter, name, "model names as keys")
            _check_entry(f"{parameter}[{name!r}]", entry)
            known = name in written and "extends" not in entry
            written[name] = _merged(written[name], entry) if known else dict(entry)
        return ModelCatalogue(
            written, self._family_defaults, as_of=self.as_of, sources=self.sources, parameter=parameter
        )


@cache
def packaged_catalogue() -> ModelCatalogue:
    """The catalogue shipped with this release (``catalogue.json``)."""
    document = json.loads(resources.files(__package__).joinpath("catalogue.json").read_text("utf-8"))
    return ModelCatalogue(
        document["models"], document["family_defaults"], as_of=document["as_of"], sources=document["sources"]
    )


def _resolved(
    written: Mapping[str, Mapping[str, Any]], family_defaults: Mapping[str, Mapping[str, Any]], parameter: str
) -> dict[str, dict[str, Any]]:
    """Every entry with what it extends and its family's defaults filled in."""
    complete: dict[str, dict[str, Any]] = {}

    def resolve(name: str, seen: tuple[str, ...]) -> dict[str, Any]:
        if name in complete:
            return complete[name]
        entry = written[name]
        base: dict[str, Any] = {}
        if "extends" in entry:
            parent = entry["extends"]
            if parent not in written or parent in seen:
                allowed = "a known model name, without cycles"
                raise OpenAIImagesValidationError(f"{parameter}[{name!r}].extends", parent, allowed)
            base = resolve(parent, (*seen, name))
        own = {key: value for key, value in entry.items() if key != "extends"}
        merged = _merged(base, own)
        family = merged.get("family")
        if family not in _FAMILIES:
            raise OpenAIImagesValidationError(f"{parameter}[{name!r}].family", family, "'gpt-image' or 'dall-e'")
        complete[name] = _merged(dict(family_defaults.get(family, {})), merged)
        return complete[name]

    for name in written:
        resolve(name, ())
    return complete


def _merged(base: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """``entry`` over ``base``; their ``prices`` merged field by field, ``per_image`` quality by quality."""
    merged = {**base, **entry}
    if isinstance(base.get("prices"), Mapping) and isinstance(entry.get("prices"), Mapping):
        prices = {**base["prices"], **entry["prices"]}
        old, new = base["prices"].get("per_image") or {}, entry["prices"].get("per_image") or {}
        if old and new:
            prices["per_image"] = {**old, **{q: merged_sizes(old.get(q, {}), sizes) for q, sizes in new.items()}}
        merged["prices"] = prices
    return merged


def _check_entry(where: str, entry: Any) -> None:
    """Refuse an entry that is not in the schema, naming the field, the value and what is allowed."""
    if not isinstance(entry, Mapping):
        raise OpenAIImagesValidationError(where, entry, "an object (see the README's Models section)")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise OpenAIImagesValidationError(f"{where}.{unknown[0]}", entry[unknown[0]], f"one of {sorted(_FIELDS)}")
    for name in _LIST_FIELDS:
        value = entry.get(name)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise OpenAIImagesValidationError(f"{where}.{name}", value, "a list of strings, or null")
    endpoints = entry.get("endpoints") or []
    if set(endpoints) - set(_ENDPOINTS):
        raise OpenAIImagesValidationError(f"{where}.endpoints", endpoints, f"names among {list(_ENDPOINTS)}")
    sizes = entry.get("sizes")
    if sizes is not None and sizes not in ("flexible", "any") and not isinstance(sizes, list):
        raise OpenAIImagesValidationError(f"{where}.sizes", sizes, "a list of sizes, 'flexible' or 'any'")
    for name in ("max_n", "max_input_images", "max_input_image_mb"):
        value = entry.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise OpenAIImagesValidationError(f"{where}.{name}", value, "a positive number")
    limits = entry.get("prompt_limits")
    if limits is not None and (
        not isinstance(limits, Mapping) or not all(k in _ENDPOINTS and isinstance(v, int) for k, v in limits.items())
    ):
        raise OpenAIImagesValidationError(f"{where}.prompt_limits", limits, "endpoint -> number of characters")
    if "shutdown" in entry and entry["shutdown"] is not None:
        _date(f"{where}.shutdown", entry["shutdown"])
    if entry.get("markup") not in (None, True, False) or entry.get("published") not in (None, True, False):
        raise OpenAIImagesValidationError(f"{where}.markup/published", entry, "true, false or null")
    if "prices" in entry and entry["prices"] is not None and not isinstance(entry["prices"], Mapping):
        raise OpenAIImagesValidationError(f"{where}.prices", entry["prices"], "an object of prices")


def _date(where: str, value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise OpenAIImagesValidationError(where, value, "a date as YYYY-MM-DD") from None


def _optional_set(value: Any) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


def _rules(name: str, entry: Mapping[str, Any]) -> ModelRules:
    sizes = entry.get("sizes")
    size_rule: SizeRule = "flexible" if sizes == "flexible" else "any" if sizes == "any" else "fixed"
    listed = frozenset(sizes) if isinstance(sizes, list) else frozenset({*STANDARD_GPT_SIZES, "auto"})
    limits = entry.get("prompt_limits") or {}
    return ModelRules(
        name=name,
        family=entry["family"],
        endpoints=frozenset(entry.get("endpoints") or ("generations",)),
        sizes=listed,
        size_rule=size_rule,
        max_n=int(entry.get("max_n") or 10),
        qualities=_optional_set(entry.get("qualities")),
        output_formats=_optional_set(entry.get("output_formats")),
        prompt_limits={endpoint: int(limit) for endpoint, limit in limits.items()},
        styles=frozenset(entry.get("styles") or ()),
        response_formats=frozenset(entry.get("response_formats") or ()),
        max_input_images=int(entry.get("max_input_images") or 1),
        input_image_types=frozenset(entry.get("input_image_types") or ("image/png",)),
        max_input_image_bytes=int(float(entry.get("max_input_image_mb") or 4) * 1024 * 1024),
        input_fidelity=_optional_set(entry.get("input_fidelity")),
        markup=entry.get("markup"),
        shutdown=_date(f"models[{name!r}].shutdown", entry["shutdown"]) if entry.get("shutdown") else None,
        replacements=tuple(entry.get("replacements") or ()),
        published=entry.get("published", True) is not False,
        note=str(entry.get("note") or ""),
    )
