"""Whether a request's parameters are ones its model takes: the catalogue's rules (:mod:`.served_models`)
applied to the scalar parameters, each refusal in OpenAI's error shape, naming the parameter, the value
given and what is allowed.

Also the rules of the output formats, whatever the model: the GIF preview's ``frame_count`` (2-16,
default 9) and ``frame_duration_ms`` (default 200, rounded to 10 ms, capped at 655,350 ms), only with
``output_format=gif``, which refuses ``output_compression`` (and masks, see :mod:`.uploads`); the SVG
preview's ``svg`` object, only with ``output_format=svg``, which needs ``n=1`` and refuses
``output_compression``; a transparent background needs ``png`` or ``webp``. The emulator does not
stream: ``stream=true`` and ``partial_images`` are refused.

A name the catalogue does not know, served in compatible mode, is checked for nothing model-specific
but its size (at most :data:`~.served_models.STAND_IN_MAX_SIDE` a side).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from airflow_provider_openai_images.testing.emulator.images.served_models import (
    FLEXIBLE_LONG_SIDE,
    FLEXIBLE_MAX_RATIO,
    FLEXIBLE_MULTIPLE,
    FLEXIBLE_SHORT_SIDE,
    GIF_MAX_SIDE,
    STAND_IN_MAX_SIDE,
    Endpoint,
    ModelSpec,
)
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected

#: parameters only the GPT image models take
GPT_IMAGE_ONLY = (
    "background", "output_format", "output_compression", "moderation", "input_fidelity", "complexity",
    "safety_identifier", "frame_count", "frame_duration_ms", "svg",
)  # fmt: skip
COMPLEXITIES = ("low", "medium", "high")
SVG_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
MIN_FRAMES, MAX_FRAMES, DEFAULT_FRAMES = 2, 16, 9
DEFAULT_FRAME_MS, MAX_FRAME_MS = 200, 655_350
_SIZE = re.compile(r"^([1-9][0-9]{0,5})x([1-9][0-9]{0,5})$")
_FLEXIBLE_RULE = (
    f"WIDTHxHEIGHT with both sides multiples of {FLEXIBLE_MULTIPLE}, an aspect ratio between 1:3 and 3:1 "
    f"and at most {FLEXIBLE_LONG_SIDE}x{FLEXIBLE_SHORT_SIDE} or {FLEXIBLE_SHORT_SIDE}x{FLEXIBLE_LONG_SIDE}"
)


def parse_size(size: str) -> tuple[int, int] | None:
    """``"1536x864"`` -> ``(1536, 864)``; ``None`` for ``"auto"`` or anything not ``WIDTHxHEIGHT``."""
    match = _SIZE.match(size)
    return (int(match[1]), int(match[2])) if match else None


def flexible_size_problem(width: int, height: int) -> str | None:
    """Why the flexible-size rule refuses ``width`` x ``height``; ``None`` if it takes it."""
    if width % FLEXIBLE_MULTIPLE or height % FLEXIBLE_MULTIPLE:
        return f"Width and height must both be divisible by {FLEXIBLE_MULTIPLE}."
    if max(width, height) > FLEXIBLE_MAX_RATIO * min(width, height):
        return "The aspect ratio must be between 1:3 and 3:1."
    if max(width, height) > FLEXIBLE_LONG_SIDE or min(width, height) > FLEXIBLE_SHORT_SIDE:
        return (
            f"The maximum supported resolution is {FLEXIBLE_LONG_SIDE}x{FLEXIBLE_SHORT_SIDE}: the long side at most "
            f"{FLEXIBLE_LONG_SIDE}, the short side at most {FLEXIBLE_SHORT_SIDE}."
        )
    return None


def frame_duration(params: dict[str, Any]) -> int:
    """The delay a GIF frame is encoded with, in ms: the request's rounded to 10 ms, at least 10, capped."""
    requested = params.get("frame_duration_ms")
    requested = DEFAULT_FRAME_MS if requested is None else requested
    return min(MAX_FRAME_MS, max(10, (requested + 5) // 10 * 10))


def check_parameters(spec: ModelSpec, endpoint: Endpoint, params: dict[str, Any]) -> None:
    """Refuse (:class:`RequestRejected`) what ``spec`` cannot do on ``endpoint`` with ``params`` (the
    request's scalar parameters, ``None`` meaning not sent)."""
    _check_not_streaming(params)
    compression = params.get("output_compression")
    if compression is not None and (not _is_int(compression) or not 0 <= compression <= 100):
        raise invalid("output_compression", compression, "Supported values are integers from 0 to 100.")
    if spec.known:
        _check_model(spec, endpoint, params)
    elif (size := params.get("size")) not in (None, "auto"):
        dimensions = parse_size(size)
        if dimensions is None or max(dimensions) > STAND_IN_MAX_SIDE:
            allowed = f"'auto' or WIDTHxHEIGHT with sides of at most {STAND_IN_MAX_SIDE}."
            raise invalid("size", size, allowed, spec.name)
    _check_formats(params)


def invalid(param: str, value: Any, allowed: str, model: str | None = None) -> RequestRejected:
    """``invalid_value``: ``param`` was given ``value``; ``allowed`` says what it takes."""
    where = f" with model '{model}'" if model else ""
    return RequestRejected(
        400, f"Invalid value for '{param}'{where}: {shown(value)}. {allowed}", param=param, code="invalid_value"
    )


def unsupported(param: str, value: Any, why: str) -> RequestRejected:
    """``unsupported_parameter``: ``param`` (given ``value``) is refused altogether; ``why`` says when it is taken."""
    return RequestRejected(
        400, f"Unsupported parameter: '{param}' ({shown(value)}). {why}", param=param, code="unsupported_parameter"
    )


def shown(value: Any) -> str:
    """A value as the request carried it: strings in single quotes, anything else as JSON."""
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def supported(values: Iterable[str]) -> str:
    """``Supported values are: 'a', 'b' and 'c'.``"""
    quoted = [f"'{value}'" for value in sorted(values)]
    listing = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
    return f"Supported values are: {listing}."


def _check_not_streaming(params: dict[str, Any]) -> None:
    if params.get("stream"):
        raise unsupported("stream", True, "The emulator does not stream: send stream=false or omit it.")
    if params.get("partial_images") is not None:
        raise unsupported(
            "partial_images", params["partial_images"], "The emulator does not stream, so it makes no partial images."
        )


def _check_model(spec: ModelSpec, endpoint: Endpoint, params: dict[str, Any]) -> None:
    model = spec.name
    if endpoint not in spec.endpoints:
        endpoints = " and ".join(sorted(spec.endpoints))
        raise invalid("model", model, f"It does not support the image {endpoint} endpoint, only {endpoints}.")
    n = params.get("n")
    if n is not None and n > spec.max_n:
        raise invalid("n", n, f"Supported values are integers from 1 to {spec.max_n}.", model)
    prompt = params.get("prompt")
    if isinstance(prompt, str) and len(prompt) > spec.prompt_limit:
        raise RequestRejected(
            400,
            f"Invalid 'prompt' with model '{model}': string too long. Expected a string with maximum length "
            f"{spec.prompt_limit}, but got a string with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    _check_size(spec, params.get("size"))
    for param, allowed_values in (
        ("quality", spec.qualities),
        ("style", spec.styles),
        ("response_format", spec.response_formats),
        ("output_format", spec.output_formats),
        ("input_fidelity", spec.input_fidelity),
    ):
        value = params.get(param)
        if value is None or value in allowed_values:
            continue
        if allowed_values:
            raise invalid(param, value, supported(allowed_values), model)
        raise unsupported(param, value, f"Model '{model}' does not take it: omit this parameter.")
    if not spec.gpt_image:
        for param in GPT_IMAGE_ONLY:
            if params.get(param) is not None:
                raise unsupported(param, params[param], f"Only GPT image models take it, not '{model}'.")
    complexity = params.get("complexity")
    if complexity is not None and complexity not in COMPLEXITIES:
        raise invalid("complexity", complexity, supported(COMPLEXITIES), model)


def _check_size(spec: ModelSpec, size: Any) -> None:
    if size is None or size in spec.sizes:
        return
    dimensions = parse_size(size) if spec.size_rule == "flexible" else None
    if dimensions is None:
        allowed = supported(spec.sizes).removesuffix(".")
        allowed += f", or {_FLEXIBLE_RULE}." if spec.size_rule == "flexible" else "."
        raise invalid("size", size, allowed, spec.name)
    problem = flexible_size_problem(*dimensions)
    if problem is not None:
        allowed = supported(spec.sizes).removesuffix(".")
        raise invalid("size", size, f"{problem} {allowed}, or {_FLEXIBLE_RULE}.", spec.name)


def _check_formats(params: dict[str, Any]) -> None:
    output_format = params.get("output_format") or "png"
    for param in ("frame_count", "frame_duration_ms"):
        if params.get(param) is not None and output_format != "gif":
            raise unsupported(param, params[param], f"Only supported with output_format=gif, not '{output_format}'.")
    if params.get("svg") is not None and output_format != "svg":
        raise unsupported("svg", params["svg"], f"Only supported with output_format=svg, not '{output_format}'.")
    if output_format in ("gif", "svg") and params.get("output_compression") is not None:
        raise unsupported(
            "output_compression", params["output_compression"], f"{output_format.upper()} output takes no compression."
        )
    if params.get("background") == "transparent" and output_format not in ("png", "webp"):
        raise invalid("output_format", output_format, "A transparent background needs 'png' or 'webp'.")
    if output_format == "gif":
        _check_gif(params)
    elif output_format == "svg":
        _check_svg(params)


def _check_gif(params: dict[str, Any]) -> None:
    frames = params.get("frame_count")
    if frames is not None and (not _is_int(frames) or not MIN_FRAMES <= frames <= MAX_FRAMES):
        raise invalid("frame_count", frames, f"Supported values are integers from {MIN_FRAMES} through {MAX_FRAMES}.")
    duration = params.get("frame_duration_ms")
    if duration is not None and (not _is_int(duration) or duration < 1):
        raise invalid(
            "frame_duration_ms",
            duration,
            f"Supported values are positive integers (ms, rounded to 10 ms and capped at {MAX_FRAME_MS}).",
        )
    dimensions = parse_size(params.get("size") or "auto")
    if dimensions is not None and max(dimensions) > GIF_MAX_SIDE:
        raise invalid("size", params["size"], f"GIF output is at most {GIF_MAX_SIDE} pixels a side.")


def _check_svg(params: dict[str, Any]) -> None:
    n = params.get("n")
    if n is not None and n != 1:
        raise invalid("n", n, "SVG output requires n=1.")
    svg = params.get("svg")
    if svg is None:
        return
    if not isinstance(svg, dict) or not isinstance(svg.get("model"), str) or not svg["model"]:
        raise invalid("svg", svg, "An object whose 'model' is the name of the SVG author model.")
    reasoning = svg.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if reasoning is not None and (not isinstance(reasoning, dict) or effort not in (None, *SVG_EFFORTS)):
        raise RequestRejected(
            400,
            f"Invalid value for 'svg.reasoning.effort': {shown(effort)}. {supported(SVG_EFFORTS)}",
            param="svg.reasoning.effort",
            code="invalid_value",
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
