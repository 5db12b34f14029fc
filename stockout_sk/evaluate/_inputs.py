"""Labels and scores as checked 1-D arrays, with messages that name the caller and the argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["as_labels", "as_scores", "check_unit_interval", "float_array"]


def float_array(values: ArrayLike, caller: str, name: str) -> np.ndarray:
    """1-D float array from a list, array or Series (nullable dtypes too); NA becomes NaN."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).reshape(-1))
    try:
        return series.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{caller}: {name} must be numeric, got dtype {series.dtype!s} ({error}); pass numbers."
        ) from error


def as_labels(values: ArrayLike, caller: str, name: str, *, n: int | None = None) -> np.ndarray:
    """Non-empty 0/1 labels as int64 (``n`` values when given)."""
    array = float_array(values, caller, name)
    if n is not None and len(array) != n:
        raise ValueError(f"{caller}: {name} has {len(array)} values, expected {n} (one per row).")
    if len(array) == 0:
        raise ValueError(f"{caller}: {name} is empty; there is nothing to evaluate.")
    bad = ~np.isin(array, (0.0, 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{caller}: {name} must hold 0/1 labels, found {float(array[first])!r} at position "
            f"{first} ({int(bad.sum())} bad value(s)); pass the binary label column."
        )
    return array.astype(np.int64)


def as_scores(values: ArrayLike, caller: str, name: str, n: int) -> np.ndarray:
    """``n`` finite float scores, one per label."""
    array = float_array(values, caller, name)
    if len(array) != n:
        raise ValueError(
            f"{caller}: {name} has {len(array)} values but there are {n} labels; pass one score "
            "per row, in the same order."
        )
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{caller}: {name} has {int(bad.sum())} missing or infinite value(s), first at "
            f"position {first}; scores must be finite."
        )
    return array


def check_unit_interval(values: np.ndarray, caller: str, name: str, hint: str) -> None:
    """Reject values outside [0, 1]; ``hint`` ends the message with how to fix it."""
    if values.min() < 0.0 or values.max() > 1.0:
        raise ValueError(
            f"{caller}: {name} must lie in [0, 1], got values in [{values.min():.4g}, "
            f"{values.max():.4g}]; {hint}"
        )
