"""How monitoring writes a number in words (reasons, the HTML report, plot titles)."""

from __future__ import annotations

from typing import Any

from stockout_sk.jsonable import plain

__all__ = ["fmt"]


def fmt(value: Any, spec: str = ".3f") -> str:
    """``value`` formatted with ``spec``; ``"n/a"`` for None, NaN and infinities.

    Examples
    --------
    >>> fmt(0.12345), fmt(None), fmt(float("nan")), fmt(3.0, ".0f")
    ('0.123', 'n/a', 'n/a', '3')
    """
    number = plain(value)
    return "n/a" if number is None else format(number, spec)
