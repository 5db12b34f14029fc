"""The outlook a planner reads beside the probability: when safety stock is crossed, by how much.

Both numbers come from features the model already computes for the row (its history step), so
the morning list and ``POST /predict?explain=true`` give the same answer:

* ``d`` — the expected daily demand, ``max(velocity, velocity_short)``: the larger of the sales
  rates over the longest and the shortest trailing window, the rate the model's own
  ``projected_headroom`` feature uses (a recent surge counts at once, a recent lull does not hide
  the usual rate);
* ``h`` — the headroom over safety stock, ``CurrentQuantity − ReservedQuantity −
  SafetyStockLevel``;
* ``N`` — the model's horizon in days.

If nothing arrives and the item keeps selling ``d`` units a day, its end-of-day headroom after
``k`` days is ``h − k·d``; the label counts the item at risk on the first day that is below 0
(``S − R < SS``). Hence:

* **days to safety stock** ``= 0`` when ``h < 0`` (already below), ``⌊h / d⌋ + 1`` when
  ``d > 0``, and none (the item does not cross at the current sales rate) when ``d = 0``;
* **expected shortfall** over the horizon ``= max(0, N·d − h)``: the units missing at the end of
  the horizon to stay at the safety stock — what an order placed now must cover, on top of any
  delivery already on its way.

Both are unknown (NaN) when the sales rate is (a row dated before the history the model
carries), and for the rule baseline, which has no sales rate; a branch×item the model has never
seen has no recorded sales (``d = 0``). They ignore deliveries: the export has no open orders,
and the reasons say when deliveries run late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from stockout_sk.features.columns import Columns
from stockout_sk.pipeline import features_of
from stockout_sk.serving.snapshot import Snapshot

__all__ = [
    "Outlook",
    "outlook_of",
    "outlook_of_features",
    "outlook_rows",
    "stock_outlook",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outlook:
    """Days until each row crosses its safety stock and its shortfall over the horizon.

    Attributes
    ----------
    daily_demand : ndarray of float64
        ``d``, units a day (NaN: unknown).
    days_to_safety_stock : ndarray of float64
        Whole days; 0 when already below; NaN when the row does not cross at the current sales
        rate (then ``expected_shortfall`` is 0) or when it is unknown (then that is NaN too).
    expected_shortfall : ndarray of float64
        Units below the safety stock at the end of the horizon if nothing arrives (≥ 0).
    horizon : int
        ``N``, days.
    """

    daily_demand: np.ndarray
    days_to_safety_stock: np.ndarray
    expected_shortfall: np.ndarray
    horizon: int

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as JSON-ready numbers (``None`` for NaN)."""

        def plain(values: np.ndarray, digits: int) -> float | None:
            value = float(values[i])
            return round(value, digits) if np.isfinite(value) else None

        return {
            "days_to_safety_stock": plain(self.days_to_safety_stock, 0),
            "expected_shortfall": plain(self.expected_shortfall, 2),
            "daily_demand": plain(self.daily_demand, 3),
            "horizon_days": self.horizon,
        }


def stock_outlook(*, velocity: Any, velocity_short: Any, headroom: Any, horizon: int) -> Outlook:
    """The outlook of rows from their sales rates and headroom (formulas in the module docstring).

    Parameters
    ----------
    velocity, velocity_short : array-like of float
        Units sold a day over the longest and the shortest trailing window (NaN: unknown).
    headroom : array-like of float
        ``CurrentQuantity − ReservedQuantity − SafetyStockLevel``.
    horizon : int
        ``N``, days.

    Returns
    -------
    Outlook

    Examples
    --------
    30 on hand, 4 reserved, safety stock 10 (``h = 16``), selling 2 a day over 28 days and 3 a
    day over the last 7 (``d = 3``), horizon 7: below safety stock on day ``⌊16/3⌋ + 1 = 6``,
    short by ``7·3 − 16 = 5`` units at the end of the horizon.

    >>> o = stock_outlook(velocity=[2.0], velocity_short=[3.0], headroom=[16.0], horizon=7)
    >>> o.row(0)
    {'days_to_safety_stock': 6.0, 'expected_shortfall': 5.0, 'daily_demand': 3.0, 'horizon_days': 7}
    """
    long_rate = np.asarray(velocity, dtype=np.float64)
    short_rate = np.asarray(velocity_short, dtype=np.float64)
    h = np.asarray(headroom, dtype=np.float64)
    # fmax: one rate missing still leaves the other; both missing is unknown.
    d = np.fmax(long_rate, short_rate)
    unknown = np.isnan(d) | np.isnan(h)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.floor(h / d) + 1.0
    days = np.where(h < 0, 0.0, np.where(d > 0, crossing, np.nan))
    shortfall = np.maximum(float(horizon) * d - h, 0.0)
    return Outlook(
        daily_demand=np.where(unknown, np.nan, d),
        days_to_safety_stock=np.where(unknown, np.nan, days),
        expected_shortfall=np.where(unknown, np.nan, shortfall),
        horizon=int(horizon),
    )


def outlook_of(snapshot: Snapshot, X: Columns | Any) -> Outlook | None:
    """The outlook of raw rows from the snapshot's history step; ``None`` for the rule baseline.

    Parameters
    ----------
    snapshot : Snapshot
    X : Columns or DataFrame
        Raw rows (:func:`~stockout_sk.serving.to_frame`).

    Raises
    ------
    Exception
        Whatever the history step raises (callers that must not fail catch it).
    """
    pipeline = snapshot.pipeline
    history = None if pipeline is None else pipeline.named_steps.get("history")
    if history is None:
        return None
    return outlook_of_features(features_of(pipeline, "history").transform(X), history.horizon)


def outlook_of_features(features: Any, horizon: int) -> Outlook:
    """The outlook from the history step's output (a DataFrame or ``Columns``)."""
    return stock_outlook(
        velocity=features["velocity"],
        velocity_short=features["velocity_short"],
        headroom=features["headroom"],
        horizon=horizon,
    )


def outlook_rows(snapshot: Snapshot, X: Columns | Any, n_rows: int) -> list[dict[str, Any] | None]:
    """:meth:`Outlook.row` of every row, for a response; ``None`` each when there is none.

    What the API's ``explain=true`` adds to each answer. It never raises: with the rule
    baseline there is no outlook, and a history step that fails is logged (the prediction
    stands, as with a failed explanation).
    """
    try:
        found = outlook_of(snapshot, X)
    except Exception:  # the prediction is good; only its outlook is lost
        logger.exception(
            "the outlook of %d row(s) with version %s failed", n_rows, snapshot.version
        )
        found = None
    if found is None:
        return [None] * n_rows
    return [found.row(i) for i in range(n_rows)]
