"""Checks of a request's parameters against the API's rules and its model's, before anything is sent.

What every request must satisfy comes first (ranges, GIF and SVG options, parameters we refuse on
purpose), then what the model's catalogue entry says. An unknown model passes through with only the
first checks: models change faster than releases, and compatible servers name theirs freely.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_openai_images.core.catalogue import ModelCatalogue, packaged_catalogue
from airflow_provider_openai_images.core.models import Endpoint, ModelRules, is_experimental_size, size_problem
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

#: Request parameters this provider refuses on purpose, and why (the official client has them).
DELIBERATELY_REFUSED = {
    "stream": "streamed answers arrive as events; this provider lands each finished image in S3, so it asks for "
    "finished images only",
    "partial_images": "partial images exist only in streamed answers (see stream); the landing waits for the "
    "finished image",
}
#: Parameters only the GPT image models understand.
GPT_IMAGE_ONLY_PARAMETERS = (
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "input_fidelity",
    "complexity",
    "frame_count",
    "frame_duration_ms",
    "svg",
)
COMPLEXITIES = ("low", "medium", "high")
SVG_REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
GIF_FRAMES = (2, 16)
TRANSPARENT_FORMATS = ("png", "webp")


def validate_parameters(
    model: str, endpoint: Endpoint, params: Mapping[str, Any], catalogue: ModelCatalogue | None = None
) -> ModelRules | None:
    """Reject what ``model`` cannot do on ``endpoint``, naming the parameter, the value and what is allowed.

    ``params`` holds the request's parameters (``None`` meaning "not sent"). Returns the model's rules
    from ``catalogue`` (default: the packaged one), or ``None`` for an unknown model.
    """
    if not isinstance(model, str) or not model.strip():
        raise OpenAIImagesValidationError("model", model, "a non-empty model name")
    _check_shared(params)
    rules = (catalogue or packaged_catalogue()).rules_for(model)
    if rules is not None:
        _check_model(rules, endpoint, params, catalogue or packaged_catalogue())
    return rules


def refuse_deliberately_unsupported(names: Iterable[str], *, where: str = "") -> None:
    """Refuse any of :data:`DELIBERATELY_REFUSED` among ``names``, with the reason."""
    for name in names:
        if name in DELIBERATELY_REFUSED:
            raise OpenAIImagesValidationError(
                f"{where}{name}", "set", f"nothing: not supported, because {DELIBERATELY_REFUSED[name]}"
            )


def advisories(rules: ModelRules | None, params: Mapping[str, Any]) -> list[str]:
    """What is worth a warning in the task log about a request that passed the checks."""
    notes = []
    if rules is not None and rules.size_rule == "flexible" and is_experimental_size(params.get("size")):
        notes.append(f"size {params['size']} is above 2560x1440: {rules.name} treats it as experimental.")
    if rules is not None and not rules.published:
        notes.append(
            f"OpenAI has not published {rules.name}'s rules: only what every GPT image model shares was checked "
            "here; the API decides the rest."
        )
    return notes


def _integer(name: str, value: Any, low: int, high: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        allowed = f"an integer from {low} to {high}" if high is not None else f"an integer of at least {low}"
        raise OpenAIImagesValidationError(name, value, allowed)


def _check_shared(params: Mapping[str, Any]) -> None:
    """What every request must satisfy, whatever its model."""
    refuse_deliberately_unsupported(name for name, value in params.items() if value is not None)
    _integer("n", params.get("n"), 1, 10)
    _integer("output_compression", params.get("output_compression"), 0, 100)
    _integer("frame_count", params.get("frame_count"), *GIF_FRAMES)
    _integer("frame_duration_ms", params.get("frame_duration_ms"), 0, None)
    for name in ("safety_identifier", "user"):
        if params.get(name) is not None and not isinstance(params[name], str):
            raise OpenAIImagesValidationError(name, params[name], "a string (hash a username or email address)")
    complexity = params.get("complexity")
    if complexity is not None and complexity not in COMPLEXITIES:
        raise OpenAIImagesValidationError("complexity", complexity, _allowed(COMPLEXITIES))
    output_format = params.get("output_format")
    for name in ("frame_count", "frame_duration_ms"):
        if params.get(name) is not None and output_format != "gif":
            raise OpenAIImagesValidationError(name, params[name], "nothing unless output_format='gif'")
    if params.get("svg") is not None:
        if output_format != "svg":
            raise OpenAIImagesValidationError("svg", params["svg"], "nothing unless output_format='svg'")
        _check_svg_options(params["svg"])
    if output_format in ("gif", "svg") and params.get("output_compression") is not None:
        raise OpenAIImagesValidationError(
            "output_compression", params["output_compression"], f"nothing with output_format={output_format!r}"
        )
    if output_format == "svg" and (params.get("n") or 1) != 1:
        raise OpenAIImagesValidationError("n", params.get("n"), "1 with output_format='svg'")
    if params.get("background") == "transparent" and output_format not in (None, *TRANSPARENT_FORMATS):
        raise OpenAIImagesValidationError(
            "output_format", output_format, "'png' or 'webp' with a transparent background"
        )


def _check_svg_options(svg: Any) -> None:
    allowed = "an object {'model': '<author model>', 'reasoning': {'effort': ...}} (both optional)"
    if not isinstance(svg, Mapping) or set(svg) - {"model", "reasoning"}:
        raise OpenAIImagesValidationError("svg", svg, allowed)
    if svg.get("model") is not None and (not isinstance(svg["model"], str) or not svg["model"].strip()):
        raise OpenAIImagesValidationError("svg.model", svg["model"], "a model name")
    reasoning = svg.get("reasoning")
    if reasoning is None:
        return
    if not isinstance(reasoning, Mapping) or set(reasoning) - {"effort"}:
        raise OpenAIImagesValidationError("svg.reasoning", reasoning, "an object {'effort': ...}")
    effort = reasoning.get("effort")
    if effort is not None and effort not in SVG_REASONING_EFFORTS:
        raise OpenAIImagesValidationError("svg.reasoning.effort", effort, _allowed(SVG_REASONING_EFFORTS))


def _check_model(rules: ModelRules, endpoint: Endpoint, params: Mapping[str, Any], catalogue: ModelCatalogue) -> None:
    """What ``rules`` say about ``params`` on ``endpoint``."""
    model = rules.name
    if endpoint not in rules.endpoints:
        with_endpoint = (name for name in catalogue if endpoint in (catalogue.rules_for(name) or rules).endpoints)
        raise OpenAIImagesValidationError(
            "model", model, f"a model with an image {endpoint} endpoint: {_allowed(with_endpoint)}"
        )
    n = params.get("n")
    if n is not None and n > rules.max_n:
        raise OpenAIImagesValidationError("n", n, "only 1" if rules.max_n == 1 else f"1 to {rules.max_n}", model=model)
    prompt, limit = params.get("prompt"), rules.prompt_limits.get(endpoint)
    if prompt is not None and limit is not None and len(prompt) > limit:
        raise OpenAIImagesValidationError(
            "prompt", f"<{len(prompt)} characters>", f"at most {limit} characters", model=model
        )
    size = params.get("size")
    if size is not None:
        if rules.size_rule == "fixed" and size not in rules.sizes:
            raise OpenAIImagesValidationError("size", size, _allowed(rules.sizes), model=model)
        if problem := size_problem(rules.size_rule, size):
            raise OpenAIImagesValidationError("size", size, problem, model=model)
    _one_of(rules.qualities, "quality", params, model)
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
        return
    _one_of(rules.output_formats, "output_format", params, model)
    _one_of(rules.input_fidelity, "input_fidelity", params, model)


def _one_of(allowed: frozenset[str] | None, name: str, params: Mapping[str, Any], model: str) -> None:
    """``params[name]`` among ``allowed`` (``None``: not published, not checked; empty: refused)."""
    value = params.get(name)
    if value is None or allowed is None or value in allowed:
        return
    raise OpenAIImagesValidationError(
        name, value, _allowed(allowed) if allowed else "nothing: this model does not take it", model=model
    )


def _allowed(values: Iterable[str]) -> str:
    return "one of " + ", ".join(repr(value) for value in sorted(values))
