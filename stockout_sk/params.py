"""Checks of scalar arguments, with messages that name the argument, the caller and the value.

Not ``sklearn.utils.check_scalar``: it accepts ``True`` as an int (``bool`` subclasses ``int``),
and a ``horizon=True`` that silently means one day is exactly the mistake to catch.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_finite", "check_int"]


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int = 1,
    caller: str | None = None,
    type_error: type[Exception] = TypeError,
) -> int:
    """``value`` as an ``int`` of at least ``minimum``.

    Raises
    ------
    TypeError
        (or ``type_error``) ``value`` is not a whole number (``bool`` included).
    ValueError
        ``value < minimum``.
    """
    where = f"{caller}: " if caller else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise type_error(f"{where}{name} must be an int, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{where}{name} must be >= {minimum}, got {value!r}.")
    return int(value)


def check_finite(value: Any, name: str, *, caller: str | None = None) -> float:
    """``value`` as a finite ``float``.

    Raises
    ------
    TypeError
        ``value`` is not a real number (``bool`` included).
    ValueError
        ``value`` is NaN or infinite.
    """
    where = f"{caller}: " if caller else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}{name} must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"{where}{name} must be finite, got {value!r}.")
    return float(value)
