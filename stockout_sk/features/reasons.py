"""Reasons as a planner reads them: one feature's push on a row's risk, with the row's value.

The words are the phrases written beside each feature in :mod:`stockout_sk.features.names`;
:func:`reason_text` picks the one for a model column and fills it in. The morning list (page and
CSV) and ``POST /predict?explain=true`` both call it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from stockout_sk.features.names import ID_HASHES, feature_label, find_feature
from stockout_sk.features.phrases import format_number

__all__ = ["reason_text"]


def reason_text(
    name: str,
    value: float | None,
    contribution: float,
    *,
    windows: Sequence[int] = (7, 14, 28),
) -> str:
    """One feature's push on a row's risk, as a planner reads it, with the row's value.

    Parameters
    ----------
    name : str
        The model column (``headroom``, ``sold_7d``, …) or :data:`ID_HASHES`.
    value : float or None
        The row's value of that column (``None`` or NaN: unknown, e.g. no delivery in the
        carried history).
    contribution : float
        Its push on the score: > 0 raises the risk, otherwise lowers it.
    windows : sequence of int
        The history step's trailing windows (its ``windows``), for phrases that name them.

    Returns
    -------
    str

    Examples
    --------
    >>> reason_text("headroom", 0.0, 2.02)
    'only 0 units above safety stock'
    >>> reason_text("headroom", -18.0, 1.5)
    'already 18 units below safety stock'
    >>> reason_text("branch_inflow_ratio", 0.42, 0.24)
    'deliveries to this branch are slower than usual (42% of the usual rate)'
    >>> reason_text("sold_7d", 40.0, -0.3, windows=(7, 28))
    'only 40 units sold in the last 7 days'
    """
    raises = contribution > 0
    direction = "raises" if raises else "lowers"
    found = find_feature(name)
    if found is None or found[0].phrase is None:
        label = feature_label(name)
        shown = "" if value is None or not math.isfinite(value) else f": {format_number(value)}"
        return f"{label}{shown} ({direction} the risk)"
    feature, window = found
    phrase = feature.phrase
    if value is None or not math.isfinite(value):
        if name == ID_HASHES:
            return phrase.raises if raises else phrase.lowers
        return f"{feature_label(name)} not known ({direction} the risk)"
    short, long = _extremes(tuple(int(w) for w in windows))
    return phrase.fill(float(value), raises, {"short": short, "long": long, **window})


@lru_cache(maxsize=16)
def _extremes(windows: tuple[int, ...]) -> tuple[int, int]:
    """The shortest and the longest window (a list explains every row with the same ones)."""
    return (min(windows), max(windows)) if windows else (0, 0)
