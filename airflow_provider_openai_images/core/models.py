"""What one image model accepts (:class:`ModelRules`), the size rules, and the default models.

Pure Python, no Airflow and no HTTP. The rules of each known model are data, in the packaged
catalogue (:mod:`~airflow_provider_openai_images.core.catalogue`); requests are checked against them
in :mod:`~airflow_provider_openai_images.core.validation`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Endpoint = Literal["generations", "edits", "variations"]
Family = Literal["dall-e", "gpt-image"]
#: ``fixed``: only the sizes listed; ``flexible``: the 2 and 2.5 families' WIDTHxHEIGHT rule; ``any``: any
#: WIDTHxHEIGHT (rules not published)
SizeRule = Literal["fixed", "flexible", "any"]

#: The generation model when none is named: OpenAI's fast everyday model.
DEFAULT_MODEL = "gpt-image-2.5-flare"
#: The edit model when none is named: OpenAI's model for precise edits.
DEFAULT_EDIT_MODEL = "gpt-image-2.5-sunburst"
#: Variations exist only for dall-e-2 (on Azure and compatible servers since OpenAI retired it).
DEFAULT_VARIATION_MODEL = "dall-e-2"

#: Every GPT image model takes these sizes.
STANDARD_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536")
#: The flexible-size rule (gpt-image-2 and the 2.5 family), from the official client's docstring.
FLEXIBLE_SIZE_MULTIPLE = 16
FLEXIBLE_MAX_LONG_SIDE, FLEXIBLE_MAX_SHORT_SIDE = 3840, 2160
FLEXIBLE_MAX_RATIO = 3
#: Sizes over this many pixels are experimental (still accepted).
EXPERIMENTAL_ABOVE_PIXELS = 2560 * 1440

_SIZE = re.compile(r"^([1-9]\d{0,5})x([1-9]\d{0,5})$")
_DATED_SNAPSHOT = re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}$")


def parse_size(size: str) -> tuple[int, int] | None:
    """``"1024x1536"`` -> ``(1024, 1536)``; ``None`` for ``"auto"`` or anything else."""
    match = _SIZE.match(size) if isinstance(size, str) else None
    return (int(match[1]), int(match[2])) if match else None


def size_problem(rule: SizeRule, size: str) -> str | None:
    """Why ``size`` breaks ``rule`` (what is allowed), or ``None`` if it does not (``auto`` always passes)."""
    if size == "auto" or rule == "fixed":
        return None
    dimensions = parse_size(size)
    if dimensions is None:
        return "'auto' or WIDTHxHEIGHT"
    if rule == "any":
        return None
    width, height = dimensions
    if width % FLEXIBLE_SIZE_MULTIPLE or height % FLEXIBLE_SIZE_MULTIPLE:
        return f"width and height both multiples of {FLEXIBLE_SIZE_MULTIPLE}"
    if max(width, height) > FLEXIBLE_MAX_RATIO * min(width, height):
        return f"an aspect ratio between 1:{FLEXIBLE_MAX_RATIO} and {FLEXIBLE_MAX_RATIO}:1"
    long_side, short_side = FLEXIBLE_MAX_LONG_SIDE, FLEXIBLE_MAX_SHORT_SIDE
    if max(width, height) > long_side or min(width, height) > short_side:
        return f"at most {long_side}x{short_side} (or {short_side}x{long_side})"
    return None


def is_experimental_size(size: str | None) -> bool:
    """Whether ``size`` is over 2560x1440 pixels: accepted by the flexible-size models, but experimental."""
    dimensions = parse_size(size or "")
    return dimensions is not None and dimensions[0] * dimensions[1] > EXPERIMENTAL_ABOVE_PIXELS


def snapshot_base(model: str) -> str | None:
    """``gpt-image-2-2026-04-21`` -> ``gpt-image-2``; ``None`` for a name that is not a dated snapshot."""
    snapshot = _DATED_SNAPSHOT.match(model)
    return snapshot["base"] if snapshot else None


@dataclass(frozen=True)
class ModelRules:
    """The documented limits of one image model, as the catalogue states them.

    A rule set to ``None`` is not published, so it is not checked: the server decides.

    :param sizes: the sizes listed for the model (with ``size_rule="fixed"``, the only ones accepted).
    :param size_rule: ``fixed``, ``flexible`` (any WIDTHxHEIGHT within the 2 and 2.5 families' limits) or ``any``.
    :param qualities: accepted ``quality`` values.
    :param output_formats: accepted ``output_format`` values; empty means the parameter is refused (DALL-E).
    :param prompt_limits: maximum prompt length per endpoint.
    :param response_formats: accepted ``response_format`` values; empty means the parameter is refused
        (GPT image models always return base64).
    :param input_fidelity: accepted ``input_fidelity`` values; empty means the parameter is refused.
    :param markup: whether edits take a ``markup`` image.
    :param shutdown: the day OpenAI shut the model down (or will) on its own API.
    :param replacements: the models OpenAI recommends instead, the first one first.
    :param published: whether OpenAI published the model's rules (the 2.6 family's are not: only what every
        GPT image model shares is checked).
    """

    name: str
    family: Family
    endpoints: frozenset[Endpoint]
    sizes: frozenset[str]
    max_n: int
    qualities: frozenset[str] | None
    prompt_limits: dict[Endpoint, int]
    size_rule: SizeRule = "fixed"
    output_formats: frozenset[str] | None = None
    styles: frozenset[str] = frozenset()
    response_formats: frozenset[str] = frozenset()
    max_input_images: int = 1
    input_image_types: frozenset[str] = frozenset({"image/png"})
    max_input_image_bytes: int = 4 * 1024 * 1024
    input_fidelity: frozenset[str] | None = frozenset()
    markup: bool | None = False
    shutdown: date | None = None
    replacements: tuple[str, ...] = ()
    published: bool = True
    note: str = field(default="", compare=False)

    @property
    def is_gpt_image(self) -> bool:
        return self.family == "gpt-image"

    @property
    def replacement(self) -> str | None:
        """The model OpenAI recommends first instead of this one."""
        return self.replacements[0] if self.replacements else None

    @property
    def default_response_format(self) -> str | None:
        """What the API returns when ``response_format`` is not sent."""
        return "url" if self.response_formats else None

    def shut_down_by(self, today: date) -> bool:
        """Whether OpenAI has shut this model down on its own API by ``today``."""
        return self.shutdown is not None and self.shutdown <= today
