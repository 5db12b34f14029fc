"""Censored demand: what the stock-outs of the last weeks hid from the sales.

On a day that ended with no stock, the sales are what was on the shelf, not what was asked for:
a velocity over such days understates demand, and an item that keeps running out looks like a
slow mover. The stock of each past day is walked back from the row's own ``CurrentQuantity``
through its flows, exactly as :func:`~stockout_sk.features._history_asof.past_stock` does
(``S(t−i) = max(CurrentQuantity − net(t−i+1 … t), 0)``), so the features are point in time and
the same code serves training rows and requests. A day is **out of stock** when it ended with
less than :data:`OUT_OF_STOCK_BELOW` unit.

Every feature is monotone in ``CurrentQuantity`` (more stock on hand: fewer days read as out of
stock), so the model's monotone constraints keep holding:

* ``out_of_stock_share_{w}d`` — share of the last *w* days (short and long window) that ended
  out of stock (more stock: lower);
* ``instock_velocity`` — units sold per in-stock day over the long window, taken as the highest
  such rate at this or any larger quantity (more stock: never higher; the plain in-stock average
  can move either way as days change side);
* ``lost_sales_{long}d`` — the estimated units lost: on each out-of-stock day,
  ``max(instock_velocity − sold, 0)`` (more stock: lower);
* ``demand_velocity`` — sold plus lost units per day of the long window (more stock: lower);
* ``demand_projected_headroom_ratio`` — ``(available − N·max(demand_velocity, velocity_short) −
  safety) / max(safety, 1)``: the projected headroom at the demand rate (more stock: higher).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from stockout_sk.features._history_arrays import State, trailing_windows
from stockout_sk.features._history_asof import AsOf

__all__ = ["OUT_OF_STOCK_BELOW", "censored_demand"]

#: A day that ended with less than this many units on hand counts as out of stock.
OUT_OF_STOCK_BELOW = 1.0
#: Rows per chunk: bounds the (rows × lags) temporaries on large tables.
_CHUNK_ROWS = 200_000


def censored_demand(
    state: State,
    at: AsOf,
    windows: Sequence[int],
    horizon: int,
    features: Mapping[str, np.ndarray],
    *,
    quantity: np.ndarray,
    reserved: np.ndarray,
    safety: np.ndarray,
) -> dict[str, np.ndarray]:
    """The censored-demand features of each row (see the module docstring), NaN where unknown.

    ``features`` are the row's features computed so far (``velocity_short`` is read).

    A row without a date inside the state, or (in the carried tail) without a full long window
    of history before it, gets NaN; in the full training history the window is cut at the
    history's first day.
    """
    long_w, short_w = max(windows), min(windows)
    n = len(at.k)
    share_short = np.full(n, np.nan)
    share_long = np.full(n, np.nan)
    instock = np.full(n, np.nan)
    lost = np.full(n, np.nan)
    demand = np.full(n, np.nan)
    net_view = state.derived("net_windows", lambda: trailing_windows(state.cum_net, long_w))
    sold_view = state.derived("sold_windows", lambda: trailing_windows(state.cum_sold, long_w + 1))
    hi = at.j + 1
    usable = at.in_range & (hi >= long_w - 1 if state.truncated else True)
    lag = np.arange(long_w - 1, -1, -1)  # lag of each column of a window, oldest first
    for begin in range(0, n, _CHUNK_ROWS):
        rows = slice(begin, begin + _CHUNK_ROWS)
        k, h = at.k[rows], hi[rows]
        cum = net_view[k, h]
        net = cum[:, -1:] - cum  # net inflow over the last i days, oldest lag first
        sold_cum = sold_view[k, h]
        sold = np.diff(sold_cum, axis=1)  # units sold on each of the last long_w days
        net[~at.known[rows]] = 0.0
        sold[~at.known[rows]] = 0.0
        # Lags before the history's first day carry no flow: left out of every count.
        valid = lag[None, :] <= (h[:, None] - 1)
        q = quantity[rows, None]
        out = (np.maximum(q - net, 0.0) < OUT_OF_STOCK_BELOW) & valid
        n_valid = valid.sum(axis=1)
        short_valid = valid[:, -short_w:].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share_short[rows] = out[:, -short_w:].sum(axis=1) / short_valid
            share_long[rows] = out.sum(axis=1) / n_valid
        rate = _instock_envelope(net, sold, valid, q)
        shortfall = np.where(out, np.maximum(rate[:, None] - sold, 0.0), 0.0)
        lost[rows] = shortfall.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            demand[rows] = (np.where(valid, sold, 0.0).sum(axis=1) + lost[rows]) / n_valid
        instock[rows] = rate
    bad = ~usable | np.isnan(quantity)
    result = {
        f"out_of_stock_share_{short_w}d": share_short,
        f"out_of_stock_share_{long_w}d": share_long,
        "instock_velocity": instock,
        f"lost_sales_{long_w}d": lost,
        "demand_velocity": demand,
    }
    for values in result.values():
        values[bad] = np.nan
    scale = np.maximum(safety, 1.0)
    velocity_short = features["velocity_short"]
    projected = quantity - reserved - horizon * np.fmax(demand, velocity_short) - safety
    result["demand_projected_headroom_ratio"] = np.where(bad, np.nan, projected / scale)
    return result


def _instock_envelope(
    net: np.ndarray, sold: np.ndarray, valid: np.ndarray, q: np.ndarray
) -> np.ndarray:
    """Per row, the highest in-stock sales rate at this or any larger quantity.

    Day *i* is in stock at quantity *x* when ``x − net_i ≥ OUT_OF_STOCK_BELOW``: as *x* grows,
    days join in increasing order of ``net_i``. With the days in that order, the in-stock rate
    once the first *m* have joined is ``cumsum(sold)[m] / m``; the rate at this quantity and
    above is the largest of those rates from the current *m* on (a suffix maximum), taken only
    where a group of equal ``net_i`` is complete.
    """
    rows, width = net.shape
    key = np.where(valid, net, np.inf)  # invalid lags never join
    order = np.argsort(key, axis=1, kind="stable")
    net_sorted = np.take_along_axis(key, order, axis=1)
    sold_sorted = np.take_along_axis(np.where(valid, sold, 0.0), order, axis=1)
    joined = np.arange(1, width + 1)[None, :]
    rate = np.cumsum(sold_sorted, axis=1) / joined
    group_end = np.ones_like(net_sorted, dtype=bool)
    group_end[:, :-1] = net_sorted[:, 1:] != net_sorted[:, :-1]
    rate = np.where(group_end & np.isfinite(net_sorted), rate, -np.inf)
    suffix = np.maximum.accumulate(rate[:, ::-1], axis=1)[:, ::-1]
    in_stock_now = (q - net_sorted >= OUT_OF_STOCK_BELOW).sum(axis=1)
    at = np.clip(in_stock_now, 1, width) - 1
    best = suffix[np.arange(rows), at]
    return np.where(np.isfinite(best), best, np.nan)
