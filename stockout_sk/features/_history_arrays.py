"""The array machinery of :class:`~stockout_sk.features.history.HistoryFeatures`.

A history is held as running sums per branch×item and day (:class:`State`): the sum over any
window is two lookups. This module builds them, finds the rows of a batch in them (IDs → row of a
sorted array, branch×item → row of ``keys_``), and checks and stands in for the flow tables.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stockout_sk.contract import FLOW_COLUMNS, TRANSFER_COLUMNS
from stockout_sk.features.columns import Columns, as_columns, column, factorize, n_rows

#: Up to this many values a lookup compares them all; above, each distinct value once.
SMALL_LOOKUP = 64
#: Joins a branch and an item into one key (a control character no ID contains).
KEY_SEP = "\x1f"
#: The attribute an estimator keeps its :class:`State` in for the process (see
#: :func:`cached_state`); it leaves it out of its pickled state.
STATE_CACHE = "_state_cache"


@dataclass
class State:
    """History arrays; column ``j`` of a running sum covers days ``[start, start + j)``."""

    start: int
    cum_inflow: np.ndarray
    cum_outflow: np.ndarray
    cum_sold: np.ndarray
    cum_inflow_days: np.ndarray
    last_inflow_day: np.ndarray
    truncated: bool
    # attr → (change-point codes, partner IDs) of the dominant source / destination.
    partners: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # Context beyond the branch×item: deliveries into each branch and into the whole chain
    # (a warehouse outage shows there first), units sold of each item across the chain
    # (a promotion shows there first). Rows follow ``branches_`` / ``items_``.
    cum_branch_inflow: np.ndarray | None = None
    cum_chain_inflow: np.ndarray | None = None
    cum_item_sold: np.ndarray | None = None
    # cum_inflow − cum_outflow − cum_sold: the past-stock walk-back needs only this one.
    cum_net: np.ndarray | None = None
    # Lookup structures derived from the arrays above on first use (see ``derived``).
    _derived: dict = field(default_factory=dict, repr=False)

    def derived(self, name: str, build: Callable[[], object]):
        """``build()``, computed once per state: search tables and views over its arrays."""
        value = self._derived.get(name)
        if value is None:
            value = self._derived[name] = build()
        return value

    @property
    def n_days(self) -> int:
        return self.cum_sold.shape[1] - 1

    @property
    def last_day(self) -> int:
        return self.start + self.n_days - 1


def cached_state(owner, sources: tuple, build: Callable[[], State]) -> State:
    """The :class:`State` ``build()`` makes of ``owner``'s fitted ``sources``, kept per process.

    It lives in ``owner.__dict__[STATE_CACHE]`` with its lookup tables (:meth:`State.derived`)
    and is rebuilt as soon as one of ``sources`` is another object (a refit replaces them).
    """
    cached = owner.__dict__.get(STATE_CACHE)
    if cached is not None and all(a is b for a, b in zip(cached[0], sources, strict=True)):
        return cached[1]
    state = build()
    owner.__dict__[STATE_CACHE] = (sources, state)
    return state


def daily_state(
    flows: pd.DataFrame,
    flow_keys: np.ndarray,
    flow_days: np.ndarray,
    keys: np.ndarray,
    *,
    start: int,
    n_days: int,
    partners: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[State, np.ndarray, np.ndarray]:
    """The whole history of ``flows`` as running sums over days ``start … start + n_days - 1``.

    ``flow_keys`` and ``flow_days`` are the key (in sorted ``keys``) and day number of each flow
    row (NaN: no date, left out). Returns ``(state, branches, items)``: the sorted distinct
    branches and items of ``keys``, which the rows of the branch and item context sums follow.
    """
    k = np.searchsorted(keys, flow_keys)
    valid = ~np.isnan(flow_days)
    d = flow_days[valid].astype(np.int64) - start
    k = k[valid]

    def dense(column: str) -> np.ndarray:
        daily = np.zeros((len(keys), n_days), dtype=np.float64)
        np.add.at(daily, (k, d), flows[column].to_numpy(dtype=np.float64)[valid])
        return daily

    inflow = dense("inflow")
    sold = dense("sold")
    had_inflow = inflow > 0
    day_grid = np.where(had_inflow, np.arange(n_days)[None, :] + start, -1)
    key_branch, key_item = split_keys(keys)
    branches, branch_of_key = np.unique(key_branch, return_inverse=True)
    items, item_of_key = np.unique(key_item, return_inverse=True)
    branch_inflow = np.zeros((len(branches), n_days))
    np.add.at(branch_inflow, branch_of_key, inflow)
    item_sold = np.zeros((len(items), n_days))
    np.add.at(item_sold, item_of_key, sold)
    cum_inflow = running_sum(inflow)
    cum_outflow = running_sum(dense("outflow"))
    cum_sold = running_sum(sold)
    state = State(
        start=start,
        cum_inflow=cum_inflow,
        cum_outflow=cum_outflow,
        cum_sold=cum_sold,
        cum_inflow_days=running_sum(had_inflow.astype(np.float64)),
        last_inflow_day=np.maximum.accumulate(day_grid, axis=1).astype(np.int32),
        truncated=False,
        partners=partners,
        cum_branch_inflow=running_sum(branch_inflow),
        cum_chain_inflow=running_sum(inflow.sum(axis=0, keepdims=True)),
        cum_item_sold=running_sum(item_sold),
        cum_net=cum_inflow - cum_outflow - cum_sold,
    )
    return state, branches, items


def in_blocks(
    X, compute: Callable[[Columns], Columns], *, inputs: set[str], block_rows: int
) -> Columns:
    """``compute`` on ``X``, a large table in blocks of ``block_rows`` rows.

    Every feature of a row depends on that row alone, so blocks give the same values while the
    working arrays (rows × windows, rows × lags, lookups) stay the size of one block: on a
    training table of millions of rows they, not the output, set the peak memory. Columns named
    in ``inputs`` pass through as they are.
    """
    n = n_rows(X)
    if n <= block_rows:
        return compute(X)
    X = as_columns(X)
    out: Columns | None = None
    for begin in range(0, n, block_rows):
        rows = slice(begin, min(begin + block_rows, n))
        block = compute(Columns({c: v[rows] for c, v in X.items()}))
        if out is None:
            out = Columns.following(X)
            for name, values in block.items():
                out[name] = X[name] if name in inputs else np.empty(n, dtype=values.dtype)
        for name, values in block.items():
            if name not in inputs:
                out[name][rows] = values
    return out


def carried_tail(cum: np.ndarray, *, first: int, small_ints: bool = False) -> np.ndarray:
    """Columns ``first …`` of a running sum, relative to the first of them: small and exact.

    float32; with ``small_ints``, int16 when every value is a whole number in int16's range and
    no row spans more than int16 holds, so that the difference of two columns of a row (a window
    sum) cannot overflow: half the memory of a large chain's carried history, the same features
    (window sums become float64 either way). Only for arrays read by window sums alone.
    """
    part = cum[:, first:]
    part = part - part[:, :1]
    limit = np.iinfo(np.int16)
    if small_ints and part.size:
        span = part.max(axis=1) - part.min(axis=1)
        whole = np.array_equal(part, np.round(part))
        if (
            whole
            and part.min() >= limit.min
            and part.max() <= limit.max
            and span.max() <= limit.max
        ):
            return part.astype(np.int16)
    return part.astype(np.float32)


def running_sum(daily: np.ndarray) -> np.ndarray:
    """Running sums with a leading zero column: ``out[:, j] = daily[:, :j].sum(axis=1)``."""
    out = np.zeros((daily.shape[0], daily.shape[1] + 1), dtype=np.float64)
    np.cumsum(daily, axis=1, out=out[:, 1:])
    return out


def trailing_windows(cum: np.ndarray, length: int) -> np.ndarray:
    """View ``w`` with ``w[key, j] = cum[key, max(j-length+1, 0) … j]`` (``length`` values).

    ``cum`` is padded on the left with copies of its first column, so a window reaching before
    the first day repeats it, exactly like clamping each lag at day 0.
    """
    padded = np.concatenate([np.repeat(cum[:, :1], length - 1, axis=1), cum], axis=1)
    return np.lib.stride_tricks.sliding_window_view(padded, length, axis=1)


def join_keys(branch, item) -> np.ndarray:
    """``BranchID␟ItemCode`` keys as a fixed-width unicode array (searchsorted-friendly)."""
    b = np.asarray(branch, dtype=object).astype(str)
    i = np.asarray(item, dtype=object).astype(str)
    return np.char.add(np.char.add(b, KEY_SEP), i)


def split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``BranchID␟ItemCode`` keys back into their two parts."""
    parts = np.char.partition(keys.astype(str), KEY_SEP)
    return parts[:, 0], parts[:, 2]


def lookup(sorted_values: np.ndarray, X, name: str) -> np.ndarray:
    """Row of each value of column ``name`` in ``sorted_values`` (a sorted str array), ``-1``
    when absent.

    A batch repeats a few IDs many times: each distinct value is looked up once (the
    factorisation is shared with the hashing step, see :func:`factorize`).
    """
    values = np.asarray(column(X, name), dtype=object)
    if len(sorted_values) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    take = None
    if len(values) > SMALL_LOOKUP:
        codes, uniques = factorize(X, name)
        if not (codes < 0).any():  # a missing ID goes the long way (it becomes the text "None")
            values, take = uniques, codes
    query = values.astype(str)
    pos = np.minimum(np.searchsorted(sorted_values, query), len(sorted_values) - 1)
    found = np.where(sorted_values[pos] == query, pos, -1)
    return found if take is None else found[take]


def key_rows(
    state: State,
    keys: np.ndarray,
    branches: np.ndarray,
    items: np.ndarray,
    branch: np.ndarray,
    item: np.ndarray,
    *,
    dense_cells: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``(row of keys, known)`` of each row's branch×item (row 0 where unknown).

    ``branch`` and ``item`` are rows of ``branches`` and ``items`` (``-1`` when unseen). A key's
    integer code is ``branch row × len(items) + item row``. A catalogue of up to ``dense_cells``
    cells finds it in a dense table (one gather); a larger one searches the sorted codes.
    """
    n = len(branch)
    if not len(keys):
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    n_items = len(items)
    valid = (branch >= 0) & (item >= 0)
    query = np.where(valid, branch * n_items + item, 0)
    if len(branches) * n_items <= dense_cells:
        table = state.derived("key_table", lambda: _dense_key_table(keys, branches, items))
        rows = table.take(query)
        known = valid & (rows >= 0)
        return np.where(known, rows, 0).astype(np.int64, copy=False), known
    codes, order = state.derived("key_codes", lambda: _sorted_key_codes(keys, branches, items))
    pos = np.minimum(np.searchsorted(codes, query), len(codes) - 1)
    known = valid & (codes[pos] == query)
    return np.where(known, order[pos], 0), known


def _sorted_key_codes(keys, branches, items) -> tuple[np.ndarray, np.ndarray]:
    """``(sorted codes, row of keys of each)``."""
    key_branch, key_item = split_keys(keys)
    codes = np.searchsorted(branches, key_branch).astype(np.int64) * len(items) + np.searchsorted(
        items, key_item
    )
    order = np.argsort(codes, kind="stable")
    return codes[order], order


def _dense_key_table(keys, branches, items) -> np.ndarray:
    """Row of ``keys`` for every branch × item code, ``-1`` for pairs without history."""
    codes, order = _sorted_key_codes(keys, branches, items)
    table = np.full(len(branches) * len(items), -1, dtype=np.int32)
    table[codes] = order
    return table


def warn_missing(quantities: dict[str, np.ndarray]) -> None:
    """Say which request fields are missing: the stock features of those rows are NaN."""
    for name, values in quantities.items():
        bad = np.isnan(values)
        if bad.any():
            warnings.warn(
                f"{int(bad.sum())} row(s) have a missing {name!r} (first: row "
                f"{int(np.flatnonzero(bad)[0])}); their stock features (available, headroom, "
                "days of cover…) are NaN",
                UserWarning,
                stacklevel=4,
            )


def check_columns(frame: pd.DataFrame, name: str, required: tuple[str, ...]) -> None:
    """``frame`` is a DataFrame with the ``required`` columns (``name`` is used in messages)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"HistoryFeatures: {name} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(
            f"HistoryFeatures: {name} is missing column(s) {missing}; got {list(frame.columns)}. "
            "Pass ChainData.flows / ChainData.transfers from stockout_sk.ingest.load_chain"
        )


def empty_flows() -> pd.DataFrame:
    """Flows without a row: every key then has an empty history."""
    dtypes = (object, object, "datetime64[ns]", float, float, float)
    return pd.DataFrame(
        {name: pd.Series([], dtype=dtype) for name, dtype in zip(FLOW_COLUMNS, dtypes, strict=True)}
    )


def empty_transfers() -> pd.DataFrame:
    """Transfers without a row: no key has a dominant partner."""
    dtypes = ("datetime64[ns]", object, object, object, float)
    return pd.DataFrame(
        {
            name: pd.Series([], dtype=dtype)
            for name, dtype in zip(TRANSFER_COLUMNS, dtypes, strict=True)
        }
    )
