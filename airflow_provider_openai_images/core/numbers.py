"""Numbers read from loosely typed values, as templates, forms, connection extras and headers give them:
ASCII digits only (Python's ``int`` and ``float`` also read ``"²"``, ``"١٢"`` and ``"nan"``), and finite.

Pure Python, no Airflow and no HTTP.
"""

from __future__ import annotations

import math
import re
from typing import Any

_INTEGER = re.compile(r"[+]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def strict_int(value: Any) -> int | None:
    """``value`` as an integer: an ``int`` (not a ``bool``), an integral finite ``float``, or a string of ASCII
    digits (surrounding spaces allowed); ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def strict_float(value: Any) -> float | None:
    """``value`` as a finite number: an ``int`` or ``float`` (not a ``bool``), or a decimal string in ASCII;
    ``None`` for anything else (``nan``, ``inf`` and non-ASCII digits included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        return None
    return number if math.isfinite(number) else None
