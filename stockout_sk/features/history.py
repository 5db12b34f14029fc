"""Branch×item history aggregates as of each row's date: learned in fit, joined in transform.

Like skrub's ``AggJoiner``, the auxiliary table (the daily flows from ingestion) is aggregated in
``fit`` and joined to the rows in ``transform``. It is given through fit params —
``pipeline.fit(X, y, history__flows=..., history__transfers=...)`` — so the estimator's
parameters stay small and the fitted object carries only a bounded tail of compact per-key arrays:
running sums per day (window sums are two lookups), the day of the last inflow, and the change
points of the dominant source/destination. ``fit_transform`` computes the training rows' features
from the whole history with the same code ``transform`` uses on the carried tail, so a training row
and the same raw row sent alone get the same features whenever its date is inside the tail.

Point in time: the features of a row dated ``t`` use flows of days ``≤ t`` only. A request dated
after the carried history uses the latest day the model has (see :meth:`staleness_days`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from stockout_sk.contract import RAW_FIELDS
from stockout_sk.features.calendar import to_day_numbers
from stockout_sk.features.columns import (
    Columns,
    as_columns,
    check_input,
    check_same_columns,
    column,
    ensure_fitted,
    factorize,
    float_column,
    n_rows,
    remember_factorized,
)
from stockout_sk.features.names import history_feature_names, risk_directions

REQUIRED_COLUMNS: tuple[str, ...] = RAW_FIELDS
NO_PARTNER = "<none>"
#: Rows per block of a large transform (bounds the working arrays; see ``_transform``).
_BLOCK_ROWS = 500_000
#: Up to this many values a lookup compares them all; above, each distinct value once.
_SMALL_LOOKUP = 64
_KEY_SEP = "\x1f"
# Composite (key, day) codes of the dominant-partner change points (day numbers < 2**24).
_DAY_BITS = 24
#: Up to this many cells a lookup uses a dense int32 table kept per process (at most 32 MB each):
#: the key of a branch × item, and the dominant partners of each key × carried day. Larger
#: catalogues and histories are searched instead (same values).
_DENSE_KEY_CELLS = 8_000_000
# Fitted attributes a carried-history state is built from (see ``HistoryFeatures._state``).
_STATE_ATTRS = (
    "start_day_",
    "cum_inflow_",
    "cum_outflow_",
    "cum_sold_",
    "cum_inflow_days_",
    "last_inflow_day_",
    "cum_branch_inflow_",
    "cum_chain_inflow_",
    "cum_item_sold_",
    "cum_net_",
    "dominant_from_index_",
    "dominant_from_ids_",
    "dominant_to_index_",
    "dominant_to_ids_",
    "keys_",
    "branches_",
    "items_",
)


@dataclass
class _State:
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

    def derived(self, name: str, build):
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


class HistoryFeatures(TransformerMixin, BaseEstimator):
    """Stock-movement and sales aggregates per branch×item, as of each row's ``Date``.

    Parameters
    ----------
    windows : tuple of int, default=(7, 14, 28)
        Trailing windows in days: inflow, outflow, net inflow and units sold over each.
    history_days : int, default=35
        As-of days the fitted object answers exactly; it keeps
        ``history_days + max(windows)`` days per branch×item.
    horizon : int, default=7
        N, used by the projected-headroom feature (stock left after N days at the current velocity).
    max_cover_days : float, default=365.0
        Cap on days of cover (no sales means unbounded cover).

    Attributes
    ----------
    keys_ : ndarray of str
        Sorted ``BranchID␟ItemCode`` keys with carried history.
    start_day_, last_day_ : int
        Days since 1970-01-01 of the first and last carried day.
    history_start_, history_end_ : pd.Timestamp
        The same as dates; ``history_end_`` is the freshest day a request can use.
    feature_names_in_ : ndarray of str

    Notes
    -----
    A branch×item the fitted object carries no history for (an unseen key) has no recorded flows:
    its window sums, velocities and inflow days are 0, ``days_of_cover`` is ``max_cover_days``,
    ``days_since_inflow`` is NaN and the dominant partners are ``"<none>"``. A row dated before
    the carried tail, or without a parseable date, gets NaN history features; a missing quantity
    gives NaN stock features (available, headroom, days of cover…) and a warning.

    Examples
    --------
    >>> import pandas as pd
    >>> flows = pd.DataFrame({"BranchID": ["B1"] * 2, "ItemCode": ["I1"] * 2,
    ...     "Date": pd.to_datetime(["2024-04-01", "2024-04-02"]), "inflow": [10.0, 0.0],
    ...     "outflow": [0.0, 0.0], "sold": [2.0, 3.0]})
    >>> X = pd.DataFrame({"BranchID": ["B1"], "ItemCode": ["I1"], "Date": ["2024-04-02"],
    ...     "CurrentQuantity": [5.0], "ReservedQuantity": [0.0], "SafetyStockLevel": [4.0]})
    >>> HistoryFeatures(windows=(7,)).fit(X, flows=flows).transform(X)["sold_7d"].tolist()
    [5.0]
    """

    def __init__(
        self,
        *,
        windows: tuple[int, ...] = (7, 14, 28),
        history_days: int = 35,
        horizon: int = 7,
        max_cover_days: float = 365.0,
    ) -> None:
        self.windows = windows
        self.history_days = history_days
        self.horizon = horizon
        self.max_cover_days = max_cover_days

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: pd.DataFrame,
        y=None,
        *,
        flows: pd.DataFrame | None = None,
        transfers: pd.DataFrame | None = None,
    ) -> HistoryFeatures:
        """Aggregate ``flows`` and ``transfers`` into compact per-key arrays (bounded tail).

        Parameters
        ----------
        X : DataFrame
            Raw rows (the six request fields; more columns pass through).
        y : ignored
        flows : DataFrame, optional
            Daily flows ``BranchID, ItemCode, Date, inflow, outflow, sold`` (``ChainData.flows``).
            Without it every key has an empty history.
        transfers : DataFrame, optional
            Daily movements ``Date, FromBranchID, ToBranchID, ItemCode, QuantityMoved``
            (``ChainData.transfers``), for the dominant source and destination.
        """
        self._fit(X, flows, transfers)
        return self

    def fit_transform(
        self,
        X: pd.DataFrame,
        y=None,
        *,
        flows: pd.DataFrame | None = None,
        transfers: pd.DataFrame | None = None,
    ) -> Columns:
        """Fit, and compute the rows' features from the whole history given (not just the tail)."""
        full = self._fit(X, flows, transfers)
        return self._transform(X, full)

    def _fit(self, X, flows, transfers) -> _State:
        check_input(X, self, REQUIRED_COLUMNS)
        self._validate_params()
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)

        flows = _empty_flows() if flows is None else flows
        transfers = _empty_transfers() if transfers is None else transfers
        _check_columns(
            flows, "flows", ("BranchID", "ItemCode", "Date", "inflow", "outflow", "sold")
        )
        _check_columns(
            transfers,
            "transfers",
            ("Date", "FromBranchID", "ToBranchID", "ItemCode", "QuantityMoved"),
        )

        flow_keys = _join_keys(flows["BranchID"], flows["ItemCode"])
        row_keys = _join_keys(column(X, "BranchID"), column(X, "ItemCode"))
        self.keys_ = np.unique(np.concatenate([flow_keys, row_keys]).astype(str))

        flow_days = to_day_numbers(flows["Date"])
        row_days = to_day_numbers(column(X, "Date"))
        known = np.concatenate([flow_days, row_days])
        known = known[~np.isnan(known)]
        if len(known) == 0:
            raise ValueError(
                "HistoryFeatures: no usable date in the rows or the flows; check the Date columns"
            )
        start, last = int(known.min()), int(known.max())
        if len(flow_days) and not np.isnan(flow_days).all():
            start = min(start, int(np.nanmin(flow_days)))
        n_days = last - start + 1

        k = np.searchsorted(self.keys_, flow_keys)
        valid = ~np.isnan(flow_days)
        d = flow_days[valid].astype(np.int64) - start
        k = k[valid]

        def dense(column: str) -> np.ndarray:
            daily = np.zeros((len(self.keys_), n_days), dtype=np.float64)
            np.add.at(daily, (k, d), flows[column].to_numpy(dtype=np.float64)[valid])
            return daily

        inflow = dense("inflow")
        sold = dense("sold")
        had_inflow = inflow > 0
        day_grid = np.where(had_inflow, np.arange(n_days)[None, :] + start, -1)
        key_branch, key_item = _split_keys(self.keys_)
        self.branches_, branch_of_key = np.unique(key_branch, return_inverse=True)
        self.items_, item_of_key = np.unique(key_item, return_inverse=True)
        branch_inflow = np.zeros((len(self.branches_), n_days))
        np.add.at(branch_inflow, branch_of_key, inflow)
        item_sold = np.zeros((len(self.items_), n_days))
        np.add.at(item_sold, item_of_key, sold)
        cum_inflow = _running_sum(inflow)
        cum_outflow = _running_sum(dense("outflow"))
        cum_sold = _running_sum(sold)
        full = _State(
            start=start,
            cum_inflow=cum_inflow,
            cum_outflow=cum_outflow,
            cum_sold=cum_sold,
            cum_inflow_days=_running_sum(had_inflow.astype(np.float64)),
            last_inflow_day=np.maximum.accumulate(day_grid, axis=1).astype(np.int32),
            truncated=False,
            # Every change point: training rows older than the carried tail need theirs too.
            partners=self._fit_partners(transfers),
            cum_branch_inflow=_running_sum(branch_inflow),
            cum_chain_inflow=_running_sum(inflow.sum(axis=0, keepdims=True)),
            cum_item_sold=_running_sum(item_sold),
            cum_net=cum_inflow - cum_outflow - cum_sold,
        )
        self._keep_tail(full)
        return full

    def _fit_partners(self, transfers: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Change points of the dominant source (into b) and destination (out of b) per key.

        The dominant partner as of day t is the one with the largest cumulative quantity moved up
        to t (earliest to reach it wins ties). Cumulative totals only grow, so it changes only on
        days when the partner moving that day reaches the running maximum.
        """
        days = to_day_numbers(transfers["Date"])
        qty = transfers["QuantityMoved"].to_numpy(dtype=np.float64)
        frame = pd.DataFrame(
            {
                "day": days,
                "from": transfers["FromBranchID"].astype(str).to_numpy(),
                "to": transfers["ToBranchID"].astype(str).to_numpy(),
                "item": transfers["ItemCode"].astype(str).to_numpy(),
                "qty": qty,
            }
        ).dropna(subset=["day"])
        partners = {}
        for side, partner, attr in (("to", "from", "dominant_from"), ("from", "to", "dominant_to")):
            keys = _join_keys(frame[side], frame["item"])
            k = np.searchsorted(self.keys_, keys)
            k = np.clip(k, 0, max(len(self.keys_) - 1, 0))
            known = (self.keys_[k] == keys) if len(self.keys_) else np.zeros(len(keys), bool)
            part = pd.DataFrame(
                {
                    "k": k[known],
                    "day": frame["day"].to_numpy()[known].astype(np.int64),
                    "partner": frame[partner].to_numpy()[known],
                    "qty": frame["qty"].to_numpy()[known],
                }
            )
            part = part.groupby(["k", "day", "partner"], sort=True, as_index=False)["qty"].sum()
            part["cum"] = part.groupby(["k", "partner"], sort=False)["qty"].cumsum()
            # Per key and day: the partner with the largest running total after that day.
            part = part.sort_values(
                ["k", "day", "cum"], ascending=[True, True, False], kind="stable"
            )
            daily = part.drop_duplicates(["k", "day"], keep="first").reset_index(drop=True)
            before = daily.groupby("k", sort=False)["cum"].cummax()
            before = before.groupby(daily["k"], sort=False).shift(1).fillna(-np.inf)
            # It leads from that day on only if it beats every earlier total (earliest wins ties).
            leader = daily[daily["cum"].to_numpy() > before.to_numpy()]
            changed = (leader["k"] != leader["k"].shift()) | (
                leader["partner"] != leader["partner"].shift()
            )
            leader = leader[changed.to_numpy()]
            code = (leader["k"].to_numpy(np.int64) << _DAY_BITS) + leader["day"].to_numpy(np.int64)
            partners[attr] = (code, leader["partner"].to_numpy().astype(str))
        return partners

    def _keep_tail(self, full: _State) -> None:
        """Keep ``history_days + max(windows)`` days of the state as fitted attributes."""
        keep = min(self.history_days + max(self.windows), full.n_days)
        first = full.n_days - keep  # column offset of the tail's first day
        base_cols = slice(first, full.n_days + 1)

        def tail(cum: np.ndarray) -> np.ndarray:
            # Relative to the tail's start keeps the float32 values small and exact.
            part = cum[:, base_cols]
            return (part - part[:, :1]).astype(np.float32)

        self.start_day_ = full.start + first
        self.last_day_ = full.last_day
        self.cum_inflow_ = tail(full.cum_inflow)
        self.cum_outflow_ = tail(full.cum_outflow)
        self.cum_sold_ = tail(full.cum_sold)
        self.cum_inflow_days_ = tail(full.cum_inflow_days)
        self.last_inflow_day_ = full.last_inflow_day[:, first:].copy()
        self.cum_branch_inflow_ = tail(full.cum_branch_inflow)
        self.cum_chain_inflow_ = tail(full.cum_chain_inflow)
        self.cum_item_sold_ = tail(full.cum_item_sold)
        self.cum_net_ = tail(full.cum_net)
        tail_start = self.start_day_
        for attr in ("dominant_from", "dominant_to"):
            code, ids = full.partners[attr]
            day = code & ((1 << _DAY_BITS) - 1)
            key = code >> _DAY_BITS
            next_key = np.append(key[1:], -1)
            next_day = np.append(day[1:], np.iinfo(np.int64).max)
            # Before the tail only the last change point of each key matters.
            keep_mask = (day >= tail_start) | (next_key != key) | (next_day >= tail_start)
            setattr(self, f"{attr}_index_", code[keep_mask])
            setattr(self, f"{attr}_ids_", ids[keep_mask])

    def _state(self) -> _State:
        """The carried history as a :class:`_State`, kept for this process with its lookups.

        Rebuilt when a fitted array is replaced (a refit); never persisted (see ``__getstate__``).
        """
        sources = tuple(getattr(self, name, None) for name in _STATE_ATTRS)
        cached = self.__dict__.get("_state_cache")
        if cached is not None and all(a is b for a, b in zip(cached[0], sources, strict=True)):
            return cached[1]
        state = self._build_state()
        self.__dict__["_state_cache"] = (sources, state)
        return state

    def _build_state(self) -> _State:
        return _State(
            start=self.start_day_,
            cum_inflow=self.cum_inflow_,
            cum_outflow=self.cum_outflow_,
            cum_sold=self.cum_sold_,
            cum_inflow_days=self.cum_inflow_days_,
            last_inflow_day=self.last_inflow_day_,
            truncated=True,
            cum_branch_inflow=self.cum_branch_inflow_,
            cum_chain_inflow=self.cum_chain_inflow_,
            cum_item_sold=self.cum_item_sold_,
            # Models fitted before cum_net_ existed derive it (same float32 arithmetic).
            cum_net=getattr(self, "cum_net_", None)
            if getattr(self, "cum_net_", None) is not None
            else self.cum_inflow_ - self.cum_outflow_ - self.cum_sold_,
            partners={
                attr: (getattr(self, f"{attr}_index_"), getattr(self, f"{attr}_ids_"))
                for attr in ("dominant_from", "dominant_to")
            },
        )

    # Dates derived from the day numbers rather than stored: a fitted object holds plain numbers
    # and arrays only, so skops can persist it (it cannot rebuild a pd.Timestamp).
    @property
    def history_start_(self) -> pd.Timestamp:
        """First carried day, as a date."""
        check_is_fitted(self, "start_day_")
        return pd.Timestamp(np.datetime64(self.start_day_, "D"))

    @property
    def history_end_(self) -> pd.Timestamp:
        """Last carried day, as a date: the freshest day a request can use."""
        check_is_fitted(self, "last_day_")
        return pd.Timestamp(np.datetime64(self.last_day_, "D"))

    def _validate_params(self) -> None:
        windows = tuple(self.windows)
        if not windows or any(
            isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1 for w in windows
        ):
            raise ValueError(f"windows must be positive whole days, got {self.windows!r}")
        for name in ("history_days", "horizon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive whole number of days, got {value!r}")
        if not self.max_cover_days > 0:
            raise ValueError(f"max_cover_days must be positive, got {self.max_cover_days!r}")

    # ------------------------------------------------------------ transform
    def transform(self, X: pd.DataFrame) -> Columns:
        """Append the history features of each row as of its ``Date``.

        Returns a :class:`~stockout_sk.features.columns.Columns` (a DataFrame under
        ``set_output(transform="pandas")``).
        """
        ensure_fitted(self, "keys_")
        check_input(X, self, REQUIRED_COLUMNS)
        X = as_columns(check_same_columns(X, self))
        return self._transform(X, self._state())

    def _key_rows(
        self, state: _State, branch: np.ndarray, item: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(row of keys_, known)`` of each row's branch×item (row 0 where unknown).

        A key's integer code is ``branch row × len(items_) + item row``. A catalogue of up to
        ``_DENSE_KEY_CELLS`` cells finds it in a dense table (one gather); a larger one searches
        the sorted codes.
        """
        n = len(branch)
        if not len(self.keys_):
            return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        n_items = len(self.items_)
        valid = (branch >= 0) & (item >= 0)
        query = np.where(valid, branch * n_items + item, 0)
        if len(self.branches_) * n_items <= _DENSE_KEY_CELLS:
            table = state.derived("key_table", self._dense_key_table)
            rows = table.take(query)
            known = valid & (rows >= 0)
            return np.where(known, rows, 0).astype(np.int64, copy=False), known
        codes, order = state.derived("key_codes", self._sorted_key_codes)
        pos = np.minimum(np.searchsorted(codes, query), len(codes) - 1)
        known = valid & (codes[pos] == query)
        return np.where(known, order[pos], 0), known

    def _sorted_key_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sorted codes, row of keys_ of each)``."""
        key_branch, key_item = _split_keys(self.keys_)
        codes = np.searchsorted(self.branches_, key_branch).astype(np.int64) * len(
            self.items_
        ) + np.searchsorted(self.items_, key_item)
        order = np.argsort(codes, kind="stable")
        return codes[order], order

    def _dense_key_table(self) -> np.ndarray:
        """Row of ``keys_`` for every branch × item code, ``-1`` for pairs without history."""
        codes, order = self._sorted_key_codes()
        table = np.full(len(self.branches_) * len(self.items_), -1, dtype=np.int32)
        table[codes] = order
        return table

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_state_cache", None)
        return state

    def _transform(self, X: pd.DataFrame, state: _State) -> Columns:
        """The rows' features; a large table is worked through in blocks of rows.

        Every feature of a row depends on that row alone, so blocks give the same values while
        the working arrays (rows × windows, rows × lags, lookups) stay the size of one block:
        on a training table of millions of rows they, not the output, set the peak memory.
        """
        n = n_rows(X)
        if n <= _BLOCK_ROWS:
            return self._transform_block(X, state)
        X = as_columns(X)
        inputs = set(self.feature_names_in_)
        out: Columns | None = None
        for begin in range(0, n, _BLOCK_ROWS):
            rows = slice(begin, min(begin + _BLOCK_ROWS, n))
            block = self._transform_block(Columns({c: v[rows] for c, v in X.items()}), state)
            if out is None:
                out = Columns.following(X)
                for name, values in block.items():
                    out[name] = X[name] if name in inputs else np.empty(n, dtype=values.dtype)
            for name, values in block.items():
                if name not in inputs:
                    out[name][rows] = values
        return out

    def _transform_block(self, X: pd.DataFrame, state: _State) -> Columns:
        branch = _lookup(self.branches_, X, "BranchID")
        item = _lookup(self.items_, X, "ItemCode")
        k, known = self._key_rows(state, branch, item)
        days = to_day_numbers(column(X, "Date"))
        has_day = ~np.isnan(days)
        # A request after the carried history uses the latest day the model has.
        t = np.minimum(np.where(has_day, days, state.start), state.last_day).astype(np.int64)
        j = t - state.start  # column of day t
        in_range = has_day & (j >= 0)
        j_safe = np.minimum(np.maximum(j, 0), state.n_days - 1)

        out = Columns.following(X, {name: column(X, name) for name in self.feature_names_in_})
        quantity = float_column(X, "CurrentQuantity")
        reserved = float_column(X, "ReservedQuantity")
        safety = float_column(X, "SafetyStockLevel")
        _warn_missing(
            {"CurrentQuantity": quantity, "ReservedQuantity": reserved, "SafetyStockLevel": safety}
        )

        windows = np.asarray(self.windows, dtype=np.int64)
        hi = j_safe + 1
        lo_all = hi[:, None] - windows[None, :]  # rows × windows
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
            value = np.where(known[:, None], value, 0.0)  # an unseen key has no recorded flows
            return np.where(valid, value, np.nan)

        sums = {
            "inflow": window_sums(state.cum_inflow),
            "outflow": window_sums(state.cum_outflow),
            "sold": window_sums(state.cum_sold),
        }
        for position, w in enumerate(self.windows):
            inflow = sums["inflow"][:, position]
            outflow = sums["outflow"][:, position]
            out[f"inflow_{w}d"] = inflow
            out[f"outflow_{w}d"] = outflow
            out[f"net_inflow_{w}d"] = inflow - outflow
            out[f"sold_{w}d"] = sums["sold"][:, position]

        long_w, short_w = max(self.windows), min(self.windows)
        velocity = out[f"sold_{long_w}d"] / long_w
        velocity_short = out[f"sold_{short_w}d"] / short_w
        available = quantity - reserved
        with np.errstate(divide="ignore", invalid="ignore"):
            cover = np.where(velocity > 0, available / velocity, self.max_cover_days)
        unknown = np.isnan(velocity) | np.isnan(available)  # no sales is not a missing quantity
        cover = np.where(unknown, np.nan, np.minimum(np.maximum(cover, 0), self.max_cover_days))
        scale = np.maximum(safety, 1.0)
        projected = available - self.horizon * np.fmax(velocity, velocity_short) - safety

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
        inflow_days = window_sums(state.cum_inflow_days)[:, int(np.argmax(windows))]
        out[f"inflow_days_{long_w}d"] = inflow_days
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.where(inflow_days > 0, long_w / inflow_days, np.nan)
        out["inflow_gap"] = gap
        out["inflow_due_ratio"] = since_inflow / gap
        out.update(self._past_stock(state, k, known, j_safe, in_range, quantity, reserved, safety))
        out.update(self._context(state, branch, item, j_safe, in_range))
        for name, attr in (("FromBranchID", "dominant_from"), ("ToBranchID", "dominant_to")):
            codes, vocabulary = _partner(state, attr, k, known & in_range, t, j_safe)
            out[name] = vocabulary.take(codes)
            remember_factorized(out, name, codes, vocabulary)  # the hashing step reuses it
        return out

    def _past_stock(self, state, k, known, j, in_range, quantity, reserved, safety):
        """Stock walked back from the row's own CurrentQuantity through its flows.

        ``S(t−i) = CurrentQuantity − net(t−i+1 … t)``: point in time (flows up to t only) and
        telling — a branch×item that kept dipping under its safety stock will likely do so again.
        """
        long_w, short_w = max(self.windows), min(self.windows)
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
        trailing = state.derived("net_windows", lambda: _trailing_windows(state.cum_net, long_w))
        # Chunks bound the (rows × lags) temporaries on large training tables.
        step = 250_000
        shorter = long_w - short_w  # lags ≥ short_w come first in a window
        for begin in range(0, len(k), step):
            rows = slice(begin, begin + step)
            window = trailing[k[rows], hi[rows]]
            net = window[:, -1:] - window  # net inflow over the last i days, i = long_w-1 … 0
            net[~known[rows]] = 0.0
            max_short[rows] = net[:, shorter:].max(axis=1)
            max_long[rows] = np.maximum(
                max_short[rows], net[:, :shorter].max(axis=1, initial=-np.inf)
            )
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

    def _context(self, state, branch, item, j, in_range) -> dict[str, np.ndarray]:
        """Recent-versus-usual rates of the row's branch, the chain and the row's item.

        ``rate over the short window / rate over the long window``: about 1 in normal times,
        near 0 while deliveries stop (an outage at the warehouse), above 1 while an item sells
        faster everywhere (a promotion). NaN when the long window saw nothing.
        """
        long_w, short_w = max(self.windows), min(self.windows)
        hi = j + 1
        lo_short, lo_long = np.maximum(hi - short_w, 0), np.maximum(hi - long_w, 0)
        usable = (hi - long_w >= 0) & in_range if state.truncated else in_range
        chain_rows = np.zeros(len(j), dtype=np.int64)
        out = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            for name, cum, rows in (
                ("branch_inflow_ratio", state.cum_branch_inflow, branch),
                ("chain_inflow_ratio", state.cum_chain_inflow, chain_rows),
                ("item_sales_ratio", state.cum_item_sold, item),
            ):
                known = rows >= 0
                flat, start = cum.reshape(-1), np.where(known, rows, 0) * cum.shape[1]
                now = flat.take(start + hi)
                short = now - flat.take(start + lo_short)
                usual = now - flat.take(start + lo_long)
                value = (short / short_w) / (usual / long_w)
                out[name] = np.where(known & usable & (usual > 0), value, np.nan)
        return out

    def risk_directions(self) -> dict[str, int]:
        """How the stock-out risk moves as each stock-position column grows, all else equal.

        ``-1``: more of it can only lower the risk (stock on hand and everything derived from
        it: available, headroom, cover, projected and past headroom); ``+1``: more of it can
        only raise the risk (reserved stock, safety stock, days already spent below safety
        stock). Every column that depends on ``CurrentQuantity`` is listed, so constraining them
        all makes the model monotone in the stock on hand. Needs no fitting (names follow
        ``windows``).
        """
        return risk_directions(self.windows)

    def staleness_days(self, X: pd.DataFrame) -> np.ndarray:
        """Days between each row's date and the freshest carried history (0 when not stale)."""
        check_is_fitted(self)
        days = to_day_numbers(column(X, "Date"))
        return np.clip(days - self.last_day_, 0, None)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Input columns, then the history features."""
        check_is_fitted(self)
        names = [*self.feature_names_in_, *history_feature_names(self.windows)]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


def _partner(state: _State, attr: str, k, usable, t, j) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, vocabulary)``: the partner of each row's key as of its day ``t`` (column ``j``
    of the state), as a code into the distinct partner IDs (objects).

    ``NO_PARTNER`` before the key's first move and for rows that are not ``usable`` (unseen key,
    date outside the history). A carried tail of up to ``_DENSE_KEY_CELLS`` key-days answers
    from a dense key × day table (one gather); a longer history searches the change points.
    """
    code, _ = state.partners[attr]
    of_change_point, vocabulary, none = state.derived(
        f"{attr}_vocabulary", lambda: _partner_vocabulary(state.partners[attr])
    )
    if len(code) == 0:
        return np.full(len(k), none, dtype=np.int64), vocabulary
    n_keys, n_days = state.cum_sold.shape[0], state.n_days
    if n_keys * n_days <= _DENSE_KEY_CELLS:
        table = state.derived(
            f"{attr}_table",
            lambda: _partner_table(code, of_change_point, none, state.start, n_keys, n_days),
        )
        found = table.reshape(-1).take(k * n_days + j).astype(np.int64)
        return np.where(usable, found, none), vocabulary
    query = (k.astype(np.int64) << _DAY_BITS) + t
    pos = np.searchsorted(code, query, side="right") - 1
    pos_safe = np.minimum(np.maximum(pos, 0), len(code) - 1)
    hit = usable & (pos >= 0) & ((code[pos_safe] >> _DAY_BITS) == k)
    return np.where(hit, of_change_point.take(pos_safe), none), vocabulary


def _partner_vocabulary(change_points) -> tuple[np.ndarray, np.ndarray, int]:
    """``(vocabulary code of each change point, vocabulary as objects, code of NO_PARTNER)``."""
    _, ids = change_points
    vocabulary, inverse = np.unique(np.append(ids.astype(str), NO_PARTNER), return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    return inverse[:-1], vocabulary.astype(object), int(inverse[-1])


def _partner_table(code, of_change_point, none, start, n_keys, n_days) -> np.ndarray:
    """Vocabulary code of each key's partner on each day ``start … start + n_days - 1``.

    The latest change point at or before each day: change points are sorted by (key, day), so
    the latest is the one with the largest index — a running maximum along the days.
    """
    key = code >> _DAY_BITS
    col = np.maximum((code & ((1 << _DAY_BITS) - 1)) - start, 0)  # earlier ones count from day 0
    keep = col < n_days
    latest = np.full((n_keys, n_days), -1, dtype=np.int32)
    np.maximum.at(latest, (key[keep], col[keep]), np.flatnonzero(keep).astype(np.int32))
    np.maximum.accumulate(latest, axis=1, out=latest)
    return np.where(latest >= 0, of_change_point[latest], none).astype(np.int32)


def _trailing_windows(cum: np.ndarray, length: int) -> np.ndarray:
    """View ``w`` with ``w[key, j] = cum[key, max(j-length+1, 0) … j]`` (``length`` values).

    ``cum`` is padded on the left with copies of its first column, so a window reaching before
    the first day repeats it, exactly like clamping each lag at day 0.
    """
    padded = np.concatenate([np.repeat(cum[:, :1], length - 1, axis=1), cum], axis=1)
    return np.lib.stride_tricks.sliding_window_view(padded, length, axis=1)


def _split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``BranchID␟ItemCode`` keys back into their two parts."""
    parts = np.char.partition(keys.astype(str), _KEY_SEP)
    return parts[:, 0], parts[:, 2]


def _lookup(sorted_values: np.ndarray, X, name: str) -> np.ndarray:
    """Row of each value of column ``name`` in ``sorted_values`` (a sorted str array), ``-1``
    when absent.

    A batch repeats a few IDs many times: each distinct value is looked up once (the
    factorisation is shared with the hashing step, see :func:`factorize`).
    """
    values = np.asarray(column(X, name), dtype=object)
    if len(sorted_values) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    take = None
    if len(values) > _SMALL_LOOKUP:
        codes, uniques = factorize(X, name)
        if not (codes < 0).any():  # a missing ID goes the long way (it becomes the text "None")
            values, take = uniques, codes
    query = values.astype(str)
    pos = np.minimum(np.searchsorted(sorted_values, query), len(sorted_values) - 1)
    found = np.where(sorted_values[pos] == query, pos, -1)
    return found if take is None else found[take]


def _running_sum(daily: np.ndarray) -> np.ndarray:
    """Running sums with a leading zero column: ``out[:, j] = daily[:, :j].sum(axis=1)``."""
    out = np.zeros((daily.shape[0], daily.shape[1] + 1), dtype=np.float64)
    np.cumsum(daily, axis=1, out=out[:, 1:])
    return out


def _warn_missing(quantities: dict[str, np.ndarray]) -> None:
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


def _join_keys(branch, item) -> np.ndarray:
    """``BranchID␟ItemCode`` keys as a fixed-width unicode array (searchsorted-friendly)."""
    b = np.asarray(branch, dtype=object).astype(str)
    i = np.asarray(item, dtype=object).astype(str)
    return np.char.add(np.char.add(b, _KEY_SEP), i)


def _check_columns(frame: pd.DataFrame, name: str, required: tuple[str, ...]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"HistoryFeatures: {name} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(
            f"HistoryFeatures: {name} is missing column(s) {missing}; got {list(frame.columns)}. "
            "Pass ChainData.flows / ChainData.transfers from stockout_sk.ingest.load_chain"
        )


def _empty_flows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "BranchID": pd.Series([], dtype=object),
            "ItemCode": pd.Series([], dtype=object),
            "Date": pd.Series([], dtype="datetime64[ns]"),
            "inflow": pd.Series([], dtype=float),
            "outflow": pd.Series([], dtype=float),
            "sold": pd.Series([], dtype=float),
        }
    )


def _empty_transfers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Date": pd.Series([], dtype="datetime64[ns]"),
            "FromBranchID": pd.Series([], dtype=object),
            "ToBranchID": pd.Series([], dtype=object),
            "ItemCode": pd.Series([], dtype=object),
            "QuantityMoved": pd.Series([], dtype=float),
        }
    )
