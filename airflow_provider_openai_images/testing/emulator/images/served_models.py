"""The emulator's own catalogue of image models, as OpenAI's API stood on :data:`AS_OF` (2026-12-05).

Written from the official client ``openai`` 3.63.0 (``types/image_model.py``,
``image_generate_params.py``, ``image_edit_params.py``, ``image_create_variation_params.py``,
``images_response.py``), the packaged OpenAPI document and OpenAI's published prices and
deprecations; never from the provider's own tables, so that a stale rule in the provider shows up
against it. Data only: :mod:`.model_rules` applies the rules, :mod:`.usage` the token figures,
:mod:`.prices` the prices and :mod:`.serving` decides which names are served.

Per model: its family, endpoints, sizes rule, qualities, output formats, ``n`` limit, prompt limit,
``response_format``/``style``/``input_fidelity``/``markup`` support, release and shutdown dates (a
model whose shutdown date is on or before :data:`AS_OF` is no longer served by OpenAI), output token
figures and prices.

Published rules (client 3.63.0):

- Flexible sizes for ``gpt-image-2``, the ``gpt-image-2.5`` family and their snapshots: ``WIDTHxHEIGHT``,
  both divisible by 16, aspect ratio between 1:3 and 3:1, at most 3840x2160 (long side at most 3840,
  short side at most 2160; above 2560x1440 experimental but accepted). Every GPT image model takes
  ``auto``, ``1024x1024``, ``1536x1024`` and ``1024x1536``; the 1.x models nothing else.
- ``quality``: ``low``/``medium``/``high``/``auto`` for GPT image models, plus ``xhigh``/``max`` for the
  2.5 family; ``standard``/``hd`` for ``dall-e-3``, ``standard`` for ``dall-e-2``.
- ``input_fidelity``: ``high``/``low`` on ``gpt-image-1``, ``gpt-image-1.5`` and ``chatgpt-image-latest``,
  ``low`` only on ``gpt-image-1-mini``, refused on the 2.x families ("omit this parameter").
- ``markup``: GPT Image 2.5. ``response_format`` and ``style``: the legacy DALL·E models only.

The emulator's own assumptions, where nothing is published:

- The 2.6 family (``gpt-image-2.6-flare``, ``gpt-image-2.6-sunburst``) behaves exactly like the 2.5
  family in everything: flexible sizes, ``xhigh``/``max``, GIF and SVG, ``markup``, token figures,
  prices. Its release date (:data:`_RELEASED_2_6`) is assumed.
- The GIF and SVG previews (``output_format`` ``gif``/``svg``) are on the 2, 2.5 and 2.6 families,
  not on the 1.x models. A GIF's frames are at most :data:`GIF_MAX_SIDE` pixels a side (the "GIF
  size limits" are not published).
- The flexible-size rule has no minimum besides a positive multiple of 16 (none is published).
- Token figures for the 2.x families are the emulator's own (:data:`_TOKENS_2X`): per 1024x1024
  image, low 200, medium 1760, high 7040, xhigh 12000, max 20000, scaled by pixel area. The 1.x
  models use gpt-image-1's documented figures (:data:`_TOKENS_1X`).
- ``created`` dates in the Models API are release dates as publicly reported (2.6: assumed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal, NamedTuple

#: the day this catalogue describes: models shut down on or before it are no longer served by OpenAI
AS_OF = date(2026, 12, 5)

Endpoint = Literal["generations", "edits", "variations"]
Family = Literal[
    "dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-2", "gpt-image-2.5", "gpt-image-2.6", "stand-in"
]  # fmt: skip
#: ``fixed``: only the listed sizes; ``flexible``: those or any size the published WIDTHxHEIGHT rule
#: takes; ``any``: those or any WIDTHxHEIGHT up to :data:`STAND_IN_MAX_SIDE` (unknown names)
SizeRule = Literal["fixed", "flexible", "any"]

#: the flexible-size rule's limits
FLEXIBLE_MULTIPLE, FLEXIBLE_LONG_SIDE, FLEXIBLE_SHORT_SIDE, FLEXIBLE_MAX_RATIO = 16, 3840, 2160, 3
#: the emulator's assumed GIF size limit: at most this many pixels a side
GIF_MAX_SIDE = 1536
#: the largest side a name the catalogue does not know may ask for (compatible mode)
STAND_IN_MAX_SIDE = 4096


class TokenPrices(NamedTuple):
    """USD per million tokens; ``text_output`` 0 where text output is not billed."""

    text_input: float
    image_input: float
    image_output: float
    text_output: float = 0.0


@dataclass(frozen=True)
class ModelSpec:
    """One image model as the emulator serves it.

    :param sizes: the fixed ``size`` values it takes (``auto`` included where taken).
    :param size_rule: whether it also takes other ``WIDTHxHEIGHT`` sizes (see :data:`SizeRule`).
    :param output_formats: ``output_format`` values it takes; empty: the parameter is refused.
    :param prompt_limit: the longest prompt, in characters.
    :param response_formats: ``response_format`` values; empty: refused (GPT image models answer base64).
    :param input_fidelity: ``input_fidelity`` values; empty: refused.
    :param markup: whether an edit may carry a ``markup`` overlay.
    :param released: its release day (the Models API's ``created``).
    :param shutdown: the day OpenAI shut it down (or will), ``None`` if none is announced.
    :param output_tokens: quality -> output image tokens of one 1024x1024 image.
    :param oblong_tokens: quality -> output image tokens of one 1536x1024 or 1024x1536 image, where
        published; others scale the 1024x1024 figure by pixel area.
    :param token_prices: what its tokens cost; ``None`` for models priced per image.
    :param image_prices: quality -> size -> USD per image (DALL·E).
    :param known: ``False`` for the stand-in of a name the catalogue lacks (compatible mode).
    """

    name: str
    family: Family
    gpt_image: bool
    endpoints: frozenset[Endpoint]
    sizes: frozenset[str]
    qualities: frozenset[str]
    released: date
    size_rule: SizeRule = "fixed"
    output_formats: frozenset[str] = frozenset()
    max_n: int = 10
    prompt_limit: int = 32000
    response_formats: frozenset[str] = frozenset()
    styles: frozenset[str] = frozenset()
    input_fidelity: frozenset[str] = frozenset()
    markup: bool = False
    shutdown: date | None = None
    output_tokens: Mapping[str, int] = field(default_factory=dict)
    oblong_tokens: Mapping[str, int] = field(default_factory=dict)
    token_prices: TokenPrices | None = None
    image_prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    known: bool = True

    @property
    def served_by_openai(self) -> bool:
        """Whether OpenAI's own API still serves it on :data:`AS_OF`."""
        return self.shutdown is None or self.shutdown > AS_OF


_GPT_ENDPOINTS: frozenset[Endpoint] = frozenset({"generations", "edits"})
_STANDARD_SIZES = frozenset({"auto", "1024x1024", "1536x1024", "1024x1536"})
_QUALITIES = frozenset({"low", "medium", "high", "auto"})
_EXTENDED_QUALITIES = _QUALITIES | {"xhigh", "max"}
_RASTER = frozenset({"png", "jpeg", "webp"})
_PREVIEWS = _RASTER | {"gif", "svg"}
_URL_OR_BASE64 = frozenset({"url", "b64_json"})

#: gpt-image-1's documented output tokens (OpenAI's image generation guide)
_TOKENS_1X = {"low": 272, "medium": 1056, "high": 4160}
_OBLONG_TOKENS_1X = {"low": 408, "medium": 1584, "high": 6240}
#: the emulator's own figures for the 2.x families, per 1024x1024 image
_TOKENS_2X = {"low": 200, "medium": 1760, "high": 7040, "xhigh": 12000, "max": 20000}

#: OpenAI's published token prices; the 2.6 family assumed priced as the 2.5
_PRICES_2X = TokenPrices(text_input=5.0, image_input=8.0, image_output=30.0)
_PRICES_1 = TokenPrices(text_input=5.0, image_input=10.0, image_output=40.0)
_PRICES_1_MINI = TokenPrices(text_input=2.0, image_input=2.5, image_output=8.0)
_PRICES_1_5 = TokenPrices(text_input=5.0, image_input=8.0, image_output=32.0, text_output=10.0)

_DALL_E_SHUTDOWN, _GPT_IMAGE_1_SHUTDOWN, _GPT_IMAGE_1X_SHUTDOWN = (
    date(2026, 5, 12),
    date(2026, 10, 23),
    date(2026, 12, 1),
)
_RELEASED_2, _RELEASED_2_5, _RELEASED_2_6 = date(2026, 4, 21), date(2026, 9, 8), date(2026, 11, 17)


def _gpt_image_1x(
    name: str, released: date, shutdown: date, prices: TokenPrices, input_fidelity: frozenset[str]
) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="gpt-image-1",
        gpt_image=True,
        endpoints=_GPT_ENDPOINTS,
        sizes=_STANDARD_SIZES,
        qualities=_QUALITIES,
        released=released,
        output_formats=_RASTER,
        input_fidelity=input_fidelity,
        shutdown=shutdown,
        output_tokens=_TOKENS_1X,
        oblong_tokens=_OBLONG_TOKENS_1X,
        token_prices=prices,
    )


def _gpt_image_2x(name: str, family: Family, released: date) -> ModelSpec:
    extended = family in ("gpt-image-2.5", "gpt-image-2.6")
    return ModelSpec(
        name=name,
        family=family,
        gpt_image=True,
        endpoints=_GPT_ENDPOINTS,
        sizes=_STANDARD_SIZES,
        size_rule="flexible",
        qualities=_EXTENDED_QUALITIES if extended else _QUALITIES,
        released=released,
        output_formats=_PREVIEWS,
        markup=extended,
        output_tokens=_TOKENS_2X,
        token_prices=_PRICES_2X,
    )


_HIGH_OR_LOW = frozenset({"high", "low"})

#: every model of the catalogue, by name (dated snapshots are models of their own)
CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="dall-e-2",
            family="dall-e-2",
            gpt_image=False,
            endpoints=frozenset({"generations", "edits", "variations"}),
            sizes=frozenset({"256x256", "512x512", "1024x1024"}),
            qualities=frozenset({"standard", "auto"}),
            released=date(2022, 11, 3),
            prompt_limit=1000,
            response_formats=_URL_OR_BASE64,
            shutdown=_DALL_E_SHUTDOWN,
            image_prices={"standard": {"256x256": 0.016, "512x512": 0.018, "1024x1024": 0.02}},
        ),
        ModelSpec(
            name="dall-e-3",
            family="dall-e-3",
            gpt_image=False,
            endpoints=frozenset({"generations"}),
            sizes=frozenset({"1024x1024", "1792x1024", "1024x1792"}),
            qualities=frozenset({"standard", "hd", "auto"}),
            released=date(2023, 11, 6),
            max_n=1,
            prompt_limit=4000,
            response_formats=_URL_OR_BASE64,
            styles=frozenset({"vivid", "natural"}),
            shutdown=_DALL_E_SHUTDOWN,
            image_prices={
                "standard": {"1024x1024": 0.04, "1792x1024": 0.08, "1024x1792": 0.08},
                "hd": {"1024x1024": 0.08, "1792x1024": 0.12, "1024x1792": 0.12},
            },
        ),
        _gpt_image_1x("gpt-image-1", date(2025, 4, 23), _GPT_IMAGE_1_SHUTDOWN, _PRICES_1, _HIGH_OR_LOW),
        _gpt_image_1x(
            "gpt-image-1-mini", date(2025, 10, 6), _GPT_IMAGE_1X_SHUTDOWN, _PRICES_1_MINI, frozenset({"low"})
        ),
        _gpt_image_1x("gpt-image-1.5", date(2025, 12, 16), _GPT_IMAGE_1X_SHUTDOWN, _PRICES_1_5, _HIGH_OR_LOW),
        _gpt_image_1x("chatgpt-image-latest", date(2025, 12, 16), _GPT_IMAGE_1X_SHUTDOWN, _PRICES_1_5, _HIGH_OR_LOW),
        _gpt_image_2x("gpt-image-2", "gpt-image-2", _RELEASED_2),
        _gpt_image_2x("gpt-image-2-2026-04-21", "gpt-image-2", _RELEASED_2),
        _gpt_image_2x("gpt-image-2.5-flare", "gpt-image-2.5", _RELEASED_2_5),
        _gpt_image_2x("gpt-image-2.5-flare-2026-09-08", "gpt-image-2.5", _RELEASED_2_5),
        _gpt_image_2x("gpt-image-2.5-sunburst", "gpt-image-2.5", _RELEASED_2_5),
        _gpt_image_2x("gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.5", _RELEASED_2_5),
        _gpt_image_2x("gpt-image-2.6-flare", "gpt-image-2.6", _RELEASED_2_6),
        _gpt_image_2x("gpt-image-2.6-sunburst", "gpt-image-2.6", _RELEASED_2_6),
    )
}

#: how a name the catalogue does not know is served in compatible mode, checked for nothing
#: model-specific but its size (compatible servers name their models freely): as a GPT image model
#: (base64 answers, usage with gpt-image-1's figures, no price) or as a DALL·E-like one (URL answers)
_STAND_IN_GPT_IMAGE = ModelSpec(
    name="",
    family="stand-in",
    gpt_image=True,
    endpoints=frozenset({"generations", "edits", "variations"}),
    sizes=_STANDARD_SIZES,
    size_rule="any",
    qualities=_EXTENDED_QUALITIES,
    released=AS_OF,
    output_formats=_PREVIEWS,
    output_tokens=_TOKENS_1X,
    oblong_tokens=_OBLONG_TOKENS_1X,
    known=False,
)
_STAND_IN_DALL_E = replace(
    _STAND_IN_GPT_IMAGE,
    gpt_image=False,
    qualities=frozenset({"standard", "hd", "auto"}),
    output_formats=_RASTER,
    response_formats=_URL_OR_BASE64,
    output_tokens={},
    oblong_tokens={},
)


def stand_in(name: str) -> ModelSpec:
    """How compatible mode serves a name the catalogue lacks: ``gpt-image*``/``chatgpt-image*`` names as
    GPT image models, anything else DALL·E-like."""
    gpt_image = name.startswith(("gpt-image", "chatgpt-image"))
    return replace(_STAND_IN_GPT_IMAGE if gpt_image else _STAND_IN_DALL_E, name=name)
