"""Numbers and structures made safe for JSON and for MLflow: plain Python, no NaN."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["jsonable", "plain"]


def plain(value: Any) -> float | int | None:
    """A JSON-safe number: numpy scalars unwrapped, ``bool`` as ``int``, NaN/inf and None → None.

    Examples
    --------
    >>> plain(np.float32(0.5)), plain(np.int64(3)), plain(float("nan")), plain(True)
    (0.5, 3, None, 1)
    """
    if value is None:
        return None
    if isinstance(value, bool | numbers.Integral | np.bool_):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


def jsonable(value: Any) -> Any:
    """``value`` with every number :func:`plain`, every key a string, paths and others as text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        return plain(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)
