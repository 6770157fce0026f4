"""What each known image model accepts, and validation of requests against it.

Pure Python, no Airflow and no HTTP. Unknown model names pass through untouched: models change
faster than releases, and compatible servers name theirs freely.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from urllib.parse import urlsplit

from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

Endpoint = Literal["generations", "edits", "variations"]
Family = Literal["dall-e", "gpt-image"]

#: Parameters that only the GPT image models understand.
GPT_IMAGE_ONLY_PARAMETERS = (
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "input_fidelity",
)

#: Where OpenAI serves its own API: retirement warnings concern it only.
OPENAI_API_HOST = "api.openai.com"
_SIZE = re.compile(r"^(\d+)x(\d+)$")
_DATED_SNAPSHOT = re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}$")


def parse_size(size: str) -> tuple[int, int] | None:
    """``"1024x1536"`` -> ``(1024, 1536)``; ``None`` for ``"auto"`` or anything else."""
    match = _SIZE.match(size)
    return (int(match[1]), int(match[2])) if match else None


def _flexible_size_error(size: str) -> str | None:
    """gpt-image-2 takes any WIDTHxHEIGHT within its limits; returns why ``size`` is not one."""
    dimensions = parse_size(size)
    if dimensions is None:
        return "'auto' or WIDTHxHEIGHT"
    width, height = dimensions
    if width % 16 or height % 16:
        return "width and height divisible by 16"
    if not (1 / 3 <= width / height <= 3):
        return "an aspect ratio between 1:3 and 3:1"
    if max(width, height) > 3840 or width * height > 3840 * 2160:
        return "at most 3840x2160 (or 2160x3840)"
    return None


@dataclass(frozen=True)
class ModelRules:
    """The documented limits of one image model.

    :param sizes: accepted ``size`` values; ``None`` means any size that ``size_check`` accepts.
    :param prompt_limits: maximum prompt length per endpoint.
    :param response_formats: accepted ``response_format`` values; empty means the parameter is refused
        (GPT image models always return base64).
    :param max_input_images: how many images one edit may take.
    :param input_image_types: MIME types accepted for edit and variation inputs.
    :param shutdown: the day OpenAI shut the model down on its own API, if it did.
    :param replacement: the model OpenAI recommends instead.
    """

    name: str
    family: Family
    endpoints: frozenset[Endpoint]
    sizes: frozenset[str] | None
    max_n: int
    qualities: frozenset[str]
    prompt_limits: dict[Endpoint, int]
    styles: frozenset[str] = frozenset()
    response_formats: frozenset[str] = frozenset()
    max_input_images: int = 1
    input_image_types: frozenset[str] = frozenset({"image/png"})
    max_input_image_bytes: int = 4 * 1024 * 1024
    input_fidelity: bool = False
    size_check: Callable[[str], str | None] | None = field(default=None, compare=False)
    shutdown: date | None = None
    replacement: str | None = None

    @property
    def is_gpt_image(self) -> bool:
        return self.family == "gpt-image"

    @property
    def default_response_format(self) -> str | None:
        """What the API returns when ``response_format`` is not sent."""
        return "url" if self.response_formats else None


_GPT_SIZES = frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"})
_GPT_QUALITIES = frozenset({"low", "medium", "high", "auto"})
_GPT_INPUT_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})


def _gpt_image(name: str, *, sizes: frozenset[str] | None = _GPT_SIZES, input_fidelity: bool = True) -> ModelRules:
    return ModelRules(
        name=name,
        family="gpt-image",
        endpoints=frozenset({"generations", "edits"}),
        sizes=sizes,
        size_check=_flexible_size_error if sizes is None else None,
        max_n=10,
        qualities=_GPT_QUALITIES,
        prompt_limits={"generations": 32000, "edits": 32000},
        max_input_images=16,
        input_image_types=_GPT_INPUT_TYPES,
        max_input_image_bytes=50 * 1024 * 1024,
        input_fidelity=input_fidelity,
    )


_DALL_E_SHUTDOWN = date(2026, 5, 12)

KNOWN_MODELS: dict[str, ModelRules] = {
    rules.name: rules
    for rules in (
        # Shut down by OpenAI on 2026-05-12 (replacements as its deprecations page recommends); still
        # served by Azure OpenAI and self-hosted compatible servers.
        ModelRules(
            name="dall-e-2",
            family="dall-e",
            endpoints=frozenset({"generations", "edits", "variations"}),
            sizes=frozenset({"256x256", "512x512", "1024x1024"}),
            max_n=10,
            qualities=frozenset({"standard", "auto"}),
            prompt_limits={"generations": 1000, "edits": 1000},
            response_formats=frozenset({"url", "b64_json"}),
            shutdown=_DALL_E_SHUTDOWN,
            replacement="gpt-image-1-mini",
        ),
        ModelRules(
            name="dall-e-3",
            family="dall-e",
            endpoints=frozenset({"generations"}),
            sizes=frozenset({"1024x1024", "1792x1024", "1024x1792"}),
            max_n=1,
            qualities=frozenset({"standard", "hd", "auto"}),
            styles=frozenset({"vivid", "natural"}),
            prompt_limits={"generations": 4000},
            response_formats=frozenset({"url", "b64_json"}),
            shutdown=_DALL_E_SHUTDOWN,
            replacement="gpt-image-1",
        ),
        _gpt_image("gpt-image-1"),
        _gpt_image("gpt-image-1-mini", input_fidelity=False),
        _gpt_image("gpt-image-1.5"),
        _gpt_image("gpt-image-2", sizes=None),
        _gpt_image("chatgpt-image-latest"),
    )
}


def snapshot_base(model: str) -> str | None:
    """``gpt-image-2-2026-04-21`` -> ``gpt-image-2``; ``None`` for a name that is not a dated snapshot."""
    snapshot = _DATED_SNAPSHOT.match(model)
    return snapshot["base"] if snapshot else None


def rules_for(model: str) -> ModelRules | None:
    """The rules of a known model (dated snapshots such as ``gpt-image-2-2026-04-21`` included)."""
    return KNOWN_MODELS.get(model) or KNOWN_MODELS.get(snapshot_base(model) or "")


def retirement_notice(model: str, *, base_url: str, today: date) -> str | None:
    """A warning when ``model`` is called on OpenAI's own API after OpenAI shut it down.

    Azure OpenAI and compatible servers may still serve it, so elsewhere this says nothing.
    """
    rules = rules_for(model)
    if rules is None or rules.shutdown is None or today < rules.shutdown:
        return None
    if urlsplit(base_url).hostname != OPENAI_API_HOST:
        return None
    instead = f"; use {rules.replacement!r} instead" if rules.replacement else ""
    return f"OpenAI shut {model!r} down on {rules.shutdown.isoformat()}{instead} (it may still work elsewhere)."


def _allowed(values: Iterable[str]) -> str:
    return "one of " + ", ".join(repr(value) for value in sorted(values))


def _models_with(endpoint: Endpoint) -> str:
    return _allowed(name for name, rules in KNOWN_MODELS.items() if endpoint in rules.endpoints)


def validate_parameters(model: str, endpoint: Endpoint, params: dict[str, Any]) -> ModelRules | None:
    """Reject what ``model`` cannot do on ``endpoint``, naming the parameter, the value and what is allowed.

    ``params`` holds the request's scalar parameters (``None`` meaning "not sent"). Returns the model's
    rules, or ``None`` for an unknown model (which is passed through unchecked).
    """
    if not isinstance(model, str) or not model.strip():
        raise OpenAIImagesValidationError("model", model, "a non-empty model name")
    n = params.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10):
        raise OpenAIImagesValidationError("n", n, "an integer from 1 to 10")
    compression = params.get("output_compression")
    if compression is not None and (
        isinstance(compression, bool) or not isinstance(compression, int) or not 0 <= compression <= 100
    ):
        raise OpenAIImagesValidationError("output_compression", compression, "an integer from 0 to 100")

    rules = rules_for(model)
    if rules is None:
        return None
    if endpoint not in rules.endpoints:
        raise OpenAIImagesValidationError(
            "model", model, f"a model with an image {endpoint} endpoint: {_models_with(endpoint)}"
        )
    if n is not None and n > rules.max_n:
        allowed = "only 1" if rules.max_n == 1 else f"1 to {rules.max_n}"
        raise OpenAIImagesValidationError("n", n, allowed, model=model)
    prompt = params.get("prompt")
    limit = rules.prompt_limits.get(endpoint)
    if prompt is not None and limit is not None and len(prompt) > limit:
        raise OpenAIImagesValidationError(
            "prompt", f"<{len(prompt)} characters>", f"at most {limit} characters", model=model
        )
    size = params.get("size")
    if size is not None:
        if rules.sizes is not None and size not in rules.sizes:
            raise OpenAIImagesValidationError("size", size, _allowed(rules.sizes), model=model)
        if rules.size_check is not None and size != "auto" and (problem := rules.size_check(size)):
            raise OpenAIImagesValidationError("size", size, problem, model=model)
    quality = params.get("quality")
    if quality is not None and quality not in rules.qualities:
        raise OpenAIImagesValidationError("quality", quality, _allowed(rules.qualities), model=model)
    style = params.get("style")
    if style is not None and style not in rules.styles:
        allowed = _allowed(rules.styles) if rules.styles else "no style (only dall-e-3 takes one)"
        raise OpenAIImagesValidationError("style", style, allowed, model=model)
    response_format = params.get("response_format")
    if response_format is not None and response_format not in rules.response_formats:
        allowed = (
            _allowed(rules.response_formats)
            if rules.response_formats
            else "no response_format: GPT image models always return b64_json"
        )
        raise OpenAIImagesValidationError("response_format", response_format, allowed, model=model)
    if not rules.is_gpt_image:
        for name in GPT_IMAGE_ONLY_PARAMETERS:
            if params.get(name) is not None:
                raise OpenAIImagesValidationError(
                    name, params[name], "nothing: only GPT image models take it", model=model
                )
    elif params.get("input_fidelity") is not None and not rules.input_fidelity:
        raise OpenAIImagesValidationError(
            "input_fidelity", params["input_fidelity"], "nothing: this model does not take it", model=model
        )
    if (
        params.get("background") == "transparent"
        and params.get("output_format") is not None
        and params["output_format"] not in ("png", "webp")
    ):
        raise OpenAIImagesValidationError(
            "output_format", params["output_format"], "'png' or 'webp' with a transparent background"
        )
    return rules


#: What the hook and operators use when no model is named (always sent explicitly).
DEFAULT_MODEL = "gpt-image-1.5"
#: Variations exist only for dall-e-2 (on Azure and compatible servers since OpenAI retired it).
DEFAULT_VARIATION_MODEL = "dall-e-2"
