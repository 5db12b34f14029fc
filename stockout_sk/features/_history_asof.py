"""The history features of a block of rows, each read from a :class:`State` as of its own day.

Pure array arithmetic: :func:`locate` finds where each row reads the state (its key's row and its
day's column), then each function returns a group of features as ``{name: values}``, in the order
of :func:`~stockout_sk.features.names.history_feature_names`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stockout_sk.contract import BRANCH_ID, DATE, ITEM_CODE
from stockout_sk.features._history_arrays import State, key_rows, lookup, trailing_windows
from stockout_sk.features.calendar import to_day_numbers
from stockout_sk.features.columns import column

#: Rows per chunk of :func:`past_stock`: bounds its (rows × lags) temporaries on large tables.
_PAST_STOCK_ROWS = 250_000


@dataclass(frozen=True)
class AsOf:
    """Where each row of a block reads the state.

    Attributes
    ----------
    branch, item : ndarray of int
        Row of the row's branch in ``branches_`` and of its item in ``items_`` (``-1``: unseen).
    k : ndarray of int
        Row of its branch×item in ``keys_`` (0 where unknown).
    known : ndarray of bool
        The branch×item has carried history.
    t : ndarray of int
        Its day (days since 1970-01-01), capped at the state's last day.
    j : ndarray of int
        Column of day ``t`` in the state, clipped into it.
    in_range : ndarray of bool
        It has a date, not before the state's first day.
    """

    branch: np.ndarray
    item: np.ndarray
    k: np.ndarray
    known: np.ndarray
    t: np.ndarray
    j: np.ndarray
    in_range: np.ndarray


def locate(X, state: State, keys, branches, items, *, dense_cells: int) -> AsOf:
    """The :class:`AsOf` of each row of ``X`` (see :func:`key_rows` for ``dense_cells``)."""
    branch = lookup(branches, X, BRANCH_ID)
    item = lookup(items, X, ITEM_CODE)
    k, known = key_rows(state, keys, branches, items, branch, item, dense_cells=dense_cells)
    days = to_day_numbers(column(X, DATE))
    has_day = ~np.isnan(days)
    # A request after the carried history uses the latest day the model has.
    t = np.minimum(np.where(has_day, days, state.start), state.last_day).astype(np.int64)
    j = t - state.start  # column of day t
    in_range = has_day & (j >= 0)
    j_safe = np.minimum(np.maximum(j, 0), state.n_days - 1)
    return AsOf(branch=branch, item=item, k=k, known=known, t=t, j=j_safe, in_range=in_range)


def flow_features(
    state: State,
    at: AsOf,
    *,
    windows: Sequence[int],
    horizon: int,
    max_cover_days: float,
    quantity: np.ndarray,
    reserved: np.ndarray,
    safety: np.ndarray,
) -> dict[str, np.ndarray]:
    """Window sums, velocities, the stock position and the inflow rhythm of each row."""
    k, known, t, j_safe, in_range = at.k, at.known, at.t, at.j, at.in_range
    out: dict[str, np.ndarray] = {}
    window_array = np.asarray(windows, dtype=np.int64)
    hi = j_safe + 1
    lo_all = hi[:, None] - window_array[None, :]  # rows × windows
    valid = in_range[:, None] & (lo_all >= 0 if state.truncated else True)
    lo_all = np.maximum(lo_all, 0)
    # Flat positions of the (key, day) cells, shared by every running sum (one shape): a
    # 1-D take is several times faster than 2-D fancy indexing over a large key table.
    row_start = k * state.cum_sold.shape[1]
    at_hi = row_start + hi
    at_lo = row_start[:, None] + lo_all

    def window_sums(cum: np.ndarray) -> np.ndarray:
        """Sums over every window at once: one gather per running sum (rows × windows)."""
        flat = cum.reshape(-1)
        value = flat.take(at_hi)[:, None] - flat.take(at_lo)
        if value.dtype.kind == "i":  # a carried int16 tail computes as its float32 form did
            value = value.astype(np.float32)
        value = np.where(known[:, None], value, 0.0)  # an unseen key has no recorded flows
        return np.where(valid, value, np.nan)

    sums = {
        "inflow": window_sums(state.cum_inflow),
        "outflow": window_sums(state.cum_outflow),
        "sold": window_sums(state.cum_sold),
    }
    for position, w in enumerate(windows):
        inflow = sums["inflow"][:, position]
        outflow = sums["outflow"][:, position]
        out[f"inflow_{w}d"] = inflow
        out[f"outflow_{w}d"] = outflow
        out[f"net_inflow_{w}d"] = inflow - outflow
        out[f"sold_{w}d"] = sums["sold"][:, position]

    long_w, short_w = max(windows), min(windows)
    velocity = out[f"sold_{long_w}d"] / long_w
    velocity_short = out[f"sold_{short_w}d"] / short_w
    available = quantity - reserved
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(velocity > 0, available / velocity, max_cover_days)
    unknown = np.isnan(velocity) | np.isnan(available)  # no sales is not a missing quantity
    cover = np.where(unknown, np.nan, np.minimum(np.maximum(cover, 0), max_cover_days))
    scale = np.maximum(safety, 1.0)
    projected = available - horizon * np.fmax(velocity, velocity_short) - safety

    last_inflow = (
        state.last_inflow_day.reshape(-1)
        .take(k * state.last_inflow_day.shape[1] + j_safe)
        .astype(np.float64)
    )
    since_inflow = np.where(known & in_range & (last_inflow >= 0), t - last_inflow, np.nan)
    out["velocity"] = velocity
    out["velocity_short"] = velocity_short
    out["available"] = available
    out["headroom"] = available - safety
    out["headroom_ratio"] = (available - safety) / scale
    out["days_of_cover"] = cover
    out["projected_headroom"] = projected
    out["projected_headroom_ratio"] = projected / scale
    out["days_since_inflow"] = since_inflow
    inflow_days = window_sums(state.cum_inflow_days)[:, int(np.argmax(window_array))]
    out[f"inflow_days_{long_w}d"] = inflow_days
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(inflow_days > 0, long_w / inflow_days, np.nan)
    out["inflow_gap"] = gap
    out["inflow_due_ratio"] = since_inflow / gap
    return out


def past_stock(
    state: State,
    at: AsOf,
    *,
    windows: Sequence[int],
    quantity: np.ndarray,
    reserved: np.ndarray,
    safety: np.ndarray,
) -> dict[str, np.ndarray]:
    """Stock walked back from the row's own CurrentQuantity through its flows.

    ``S(t−i) = CurrentQuantity − net(t−i+1 … t)``: point in time (flows up to t only) and
    telling — a branch×item that kept dipping under its safety stock will likely do so again.
    """
    k, known, j, in_range = at.k, at.known, at.j, at.in_range
    long_w, short_w = max(windows), min(windows)
    hi = j + 1
    result = {}
    scale = np.maximum(safety, 1.0)
    # S(t−i) = max(q − net_i, 0), so over the lags the lowest headroom is
    # max(q − max_i net_i, 0) − R − SS, and S(t−i) − R < SS  ⟺  net_i > q − R − SS (when
    # R + SS > 0; otherwise never): a max and a count over the net flows, no stock matrix.
    floor = reserved + safety
    threshold = np.where(floor > 0, quantity - floor, np.inf)
    max_short = np.empty(len(k))
    max_long = np.empty(len(k))
    below_short = np.empty(len(k))
    below_long = np.empty(len(k))
    # Each row's last long_w running net sums, cum_net[max(t-i, 0)] for lag i (reversed: the
    # row's own day last), are one contiguous slice of a sliding-window view.
    trailing = state.derived("net_windows", lambda: trailing_windows(state.cum_net, long_w))
    shorter = long_w - short_w  # lags ≥ short_w come first in a window
    for begin in range(0, len(k), _PAST_STOCK_ROWS):
        rows = slice(begin, begin + _PAST_STOCK_ROWS)
        window = trailing[k[rows], hi[rows]]
        net = window[:, -1:] - window  # net inflow over the last i days, i = long_w-1 … 0
        net[~known[rows]] = 0.0
        max_short[rows] = net[:, shorter:].max(axis=1)
        max_long[rows] = np.maximum(max_short[rows], net[:, :shorter].max(axis=1, initial=-np.inf))
        above = net > threshold[rows, None]
        below_short[rows] = above[:, shorter:].sum(axis=1)
        below_long[rows] = below_short[rows] + above[:, :shorter].sum(axis=1)
    exact_short = (hi >= short_w - 1 if state.truncated else True) & in_range
    exact_long = (hi >= long_w - 1 if state.truncated else True) & in_range
    min_short = np.where(exact_short, np.maximum(quantity - max_short, 0) - floor, np.nan)
    min_long = np.where(exact_long, np.maximum(quantity - max_long, 0) - floor, np.nan)
    invalid = ~in_range | np.isnan(min_long)
    result[f"min_headroom_ratio_{short_w}d"] = np.where(
        ~in_range | np.isnan(min_short), np.nan, min_short / scale
    )
    result[f"min_headroom_ratio_{long_w}d"] = np.where(invalid, np.nan, min_long / scale)
    result[f"days_below_safety_{short_w}d"] = np.where(
        ~in_range | np.isnan(min_short), np.nan, below_short
    )
    result[f"days_below_safety_{long_w}d"] = np.where(invalid, np.nan, below_long)
    return result


def context_rates(state: State, at: AsOf, *, windows: Sequence[int]) -> dict[str, np.ndarray]:
    """Recent-versus-usual rates of the row's branch, the chain and the row's item.

    ``rate over the short window / rate over the long window``: about 1 in normal times,
    near 0 while deliveries stop (an outage at the warehouse), above 1 while an item sells
    faster everywhere (a promotion). NaN when the long window saw nothing.
    """
    j, in_range = at.j, at.in_range
    long_w, short_w = max(windows), min(windows)
    hi = j + 1
    lo_short, lo_long = np.maximum(hi - short_w, 0), np.maximum(hi - long_w, 0)
    usable = (hi - long_w >= 0) & in_range if state.truncated else in_range
    chain_rows = np.zeros(len(j), dtype=np.int64)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, cum, rows in (
            ("branch_inflow_ratio", state.cum_branch_inflow, at.branch),
            ("chain_inflow_ratio", state.cum_chain_inflow, chain_rows),
            ("item_sales_ratio", state.cum_item_sold, at.item),
        ):
            known = rows >= 0
            flat, start = cum.reshape(-1), np.where(known, rows, 0) * cum.shape[1]
            now = flat.take(start + hi)
            short = now - flat.take(start + lo_short)
            usual = now - flat.take(start + lo_long)
            value = (short / short_w) / (usual / long_w)
            out[name] = np.where(known & usable & (usual > 0), value, np.nan)
    return out
