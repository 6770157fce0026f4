"""Checks of operator arguments that are not request parameters (those are checked by the request types):
numbers a template renders as strings, read strictly, and the arguments' allowed values. A bad one raises
:class:`~airflow_provider_openai_images.exceptions.OpenAIImagesValidationError` (a ``ValueError``), which
:func:`~airflow_provider_openai_images.operators.failures.bad_input_fails_at_once` turns into a failure
without retries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from airflow_provider_openai_images.core.numbers import strict_float, strict_int

#: what a safety-system rejection does (``on_content_policy_violation``)
ContentPolicyAction = Literal["fail", "skip", "record"]
CONTENT_POLICY_ACTIONS: tuple[ContentPolicyAction, ...] = ("fail", "skip", "record")


def positive(name: str, value: Any, kind: type[int] | type[float] = float, *, unit: str = "") -> Any:
    """``value`` (a rendered template gives a string) as a positive ``kind``, ``unit`` said in the error.

    :raises OpenAIImagesValidationError: (a ``ValueError``, which :func:`bad_input_fails_at_once` turns into
        a failure without retries) naming ``name``, for anything else.
    """
    number = strict_int(value) if kind is int else strict_float(value)
    if number is None or not number > 0:
        from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

        allowed = f"a positive {'integer' if kind is int else 'number'}{f' of {unit}' if unit else ''}"
        raise OpenAIImagesValidationError(name, value, allowed)
    return number


def seconds(name: str, value: Any) -> float:
    """``value`` as a positive number of seconds (see :func:`positive`)."""
    number: float = positive(name, value, float, unit="seconds")
    return number


def check_thumbnail_size(value: Any) -> None:
    """``None``, or a number of pixels from 16 to 2048 (checked when the DAG is parsed)."""
    longest = strict_int(value)
    if value is not None and (longest is None or not 16 <= longest <= 2048):
        raise ValueError(f"thumbnail_size={value!r}: allowed None or 16 to 2048 pixels")


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    """``value`` is one of ``choices`` (checked when the DAG is parsed)."""
    if value not in choices:
        shown = [repr(choice) for choice in choices]
        allowed = f"{', '.join(shown[:-1])} or {shown[-1]}" if len(shown) > 1 else shown[0]
        raise ValueError(f"{name}={value!r}: allowed {allowed}")
