"""Typed reads of environment variables: a bad value names the variable and what it holds."""

from __future__ import annotations

import math
from collections.abc import Mapping


def text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """The stripped value of ``name``, or ``default`` when unset or blank."""
    raw = env.get(name, "").strip()
    return raw or default


def number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """A finite float in ``[minimum, maximum]``; ``default`` when unset or blank."""
    raw = env.get(name, "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(_message(name, "a number", minimum, maximum, raw)) from exc
    if not math.isfinite(value) or not _inside(value, minimum, maximum):
        raise ValueError(_message(name, "a number", minimum, maximum, raw))
    return value


def integer(
    env: Mapping[str, str],
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """A whole number in ``[minimum, maximum]``; ``default`` when unset or blank."""
    raw = env.get(name, "").strip()
    if not raw:
        return int(default)
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(_message(name, "a whole number", minimum, maximum, raw)) from exc
    if not _inside(value, minimum, maximum):
        raise ValueError(_message(name, "a whole number", minimum, maximum, raw))
    return value


def _inside(value: float, minimum: float | None, maximum: float | None) -> bool:
    return (minimum is None or value >= minimum) and (maximum is None or value <= maximum)


def _message(name: str, kind: str, minimum: float | None, maximum: float | None, raw: str) -> str:
    if minimum is not None and maximum is not None:
        kind = f"{kind} in [{minimum}, {maximum}]"
    elif minimum is not None:
        kind = f"{kind} ≥ {minimum}"
    elif maximum is not None:
        kind = f"{kind} ≤ {maximum}"
    return f"{name} must be {kind}, got {raw!r}"
