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

from functools import partial

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from stockout_sk.contract import (
    BRANCH_ID,
    CURRENT_QUANTITY,
    DATE,
    FLOW_COLUMNS,
    ITEM_CODE,
    RAW_FIELDS,
    RESERVED_QUANTITY,
    SAFETY_STOCK_LEVEL,
    TRANSFER_COLUMNS,
)
from stockout_sk.features._history_arrays import (
    STATE_CACHE,
    State,
    cached_state,
    carried_tail,
    check_columns,
    daily_state,
    empty_flows,
    empty_transfers,
    in_blocks,
    join_keys,
    warn_missing,
)
from stockout_sk.features._history_asof import context_rates, flow_features, locate, past_stock
from stockout_sk.features._history_context import ChainContext
from stockout_sk.features._history_demand import censored_demand
from stockout_sk.features._history_partners import (
    NO_PARTNER,
    PARTNER_COLUMNS,
    carried_partners,
    fit_partners,
    partner,
)
from stockout_sk.features.calendar import to_day_numbers
from stockout_sk.features.columns import (
    Columns,
    as_columns,
    check_input,
    check_same_columns,
    column,
    ensure_fitted,
    float_column,
    remember_factorized,
)
from stockout_sk.features.names import history_feature_names, risk_directions
from stockout_sk.params import check_int

__all__ = ["NO_PARTNER", "REQUIRED_COLUMNS", "HistoryFeatures"]

REQUIRED_COLUMNS: tuple[str, ...] = RAW_FIELDS
#: Rows per block of a large transform (bounds the working arrays; see ``_transform``).
_BLOCK_ROWS = 500_000
#: Up to this many cells a lookup uses a dense int32 table kept per process (at most 32 MB each):
#: the key of a branch × item, and the dominant partners of each key × carried day. Larger
#: catalogues and histories are searched instead (same values).
_DENSE_KEY_CELLS = 8_000_000
# Fitted attributes a carried-history state is built from (see ``HistoryFeatures._state``).
_STATE_ATTRS = (
    *("start_day_", "cum_inflow_", "cum_outflow_", "cum_sold_", "cum_inflow_days_"),
    *("last_inflow_day_", "cum_branch_inflow_", "cum_chain_inflow_", "cum_item_sold_"),
    *("cum_net_", "dominant_from_index_", "dominant_from_ids_", "dominant_to_index_"),
    *("dominant_to_ids_", "keys_", "branches_", "items_"),
)


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
    censored_demand : bool, default=True
        Also compute what the stock-outs of the last weeks hid from the sales: the share of days
        out of stock, the velocity over in-stock days, the lost sales and the demand they add
        up to (:mod:`~stockout_sk.features._history_demand`). A transformer saved before this
        parameter existed loads with ``False`` and computes exactly what it was fitted with.

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
    >>> HistoryFeatures(windows=(7,)).fit_transform(X, flows=flows)["sold_7d"].tolist()
    [5.0]
    """

    def __init__(
        self,
        *,
        windows: tuple[int, ...] = (7, 14, 28),
        history_days: int = 35,
        horizon: int = 7,
        max_cover_days: float = 365.0,
        censored_demand: bool = True,
    ) -> None:
        self.windows = windows
        self.history_days = history_days
        self.horizon = horizon
        self.max_cover_days = max_cover_days
        self.censored_demand = censored_demand

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: pd.DataFrame,
        y=None,
        *,
        flows: pd.DataFrame | None = None,
        transfers: pd.DataFrame | None = None,
        chain_context: ChainContext | None = None,
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
        chain_context : ChainContext, optional
            When the flows and rows cover some branches only (a partition): the chain's days and
            sums, so every array equals a whole-chain fit's (see ``features.combine_parts``).
        """
        self._fit(X, flows, transfers, chain_context)
        return self

    def fit_transform(
        self,
        X: pd.DataFrame,
        y=None,
        *,
        flows: pd.DataFrame | None = None,
        transfers: pd.DataFrame | None = None,
        chain_context: ChainContext | None = None,
    ) -> Columns:
        """Fit, and compute the rows' features from the whole history given (not just the tail)."""
        full = self._fit(X, flows, transfers, chain_context)
        return self._transform(X, full)

    def _fit(self, X, flows, transfers, context: ChainContext | None = None) -> State:
        check_input(X, self, REQUIRED_COLUMNS)
        self._validate_params()
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)

        flows = empty_flows() if flows is None else flows
        transfers = empty_transfers() if transfers is None else transfers
        check_columns(flows, "flows", FLOW_COLUMNS)
        check_columns(transfers, "transfers", TRANSFER_COLUMNS)

        flow_keys = join_keys(flows[BRANCH_ID], flows[ITEM_CODE])
        row_keys = join_keys(column(X, BRANCH_ID), column(X, ITEM_CODE))
        self.keys_ = np.unique(np.concatenate([flow_keys, row_keys]).astype(str))

        flow_days = to_day_numbers(flows[DATE])
        row_days = to_day_numbers(column(X, DATE))
        known = np.concatenate([flow_days, row_days])
        known = known[~np.isnan(known)]
        if len(known) == 0:
            raise ValueError(
                "HistoryFeatures: no usable date in the rows or the flows; check the Date columns"
            )
        start, last = int(known.min()), int(known.max())
        if context is not None:  # a part of the chain: the chain's days, not the part's
            context.check_covers(known, "rows and flows")
            start, last = context.start, context.last_day
        n_days = last - start + 1

        full, self.branches_, self.items_ = daily_state(
            flows,
            flow_keys,
            flow_days,
            self.keys_,
            start=start,
            n_days=n_days,
            # Every change point: training rows older than the carried tail need theirs too.
            partners=fit_partners(transfers, self.keys_),
        )
        if context is not None:
            full, self.items_ = context.apply(full)
        self._keep_tail(full)
        return full

    def _keep_tail(self, full: State) -> None:
        """Keep ``history_days + max(windows)`` days of the state as fitted attributes."""
        keep = min(self.history_days + max(self.windows), full.n_days)
        first = full.n_days - keep  # column offset of the tail's first day
        tail = partial(carried_tail, first=first)
        self.start_day_ = full.start + first
        self.last_day_ = full.last_day
        # Read by window sums only: whole numbers are kept as int16 where they fit.
        self.cum_inflow_ = tail(full.cum_inflow, small_ints=True)
        self.cum_outflow_ = tail(full.cum_outflow, small_ints=True)
        self.cum_sold_ = tail(full.cum_sold, small_ints=True)
        self.cum_inflow_days_ = tail(full.cum_inflow_days, small_ints=True)
        self.last_inflow_day_ = full.last_inflow_day[:, first:].copy()
        self.cum_branch_inflow_ = tail(full.cum_branch_inflow)
        self.cum_chain_inflow_ = tail(full.cum_chain_inflow)
        self.cum_item_sold_ = tail(full.cum_item_sold)
        self.cum_net_ = tail(full.cum_net)
        for attr, (code, ids) in carried_partners(full.partners, self.start_day_).items():
            setattr(self, f"{attr}_index_", code)
            setattr(self, f"{attr}_ids_", ids)

    def _state(self) -> State:
        """The carried history as a :class:`State`, kept for this process with its lookups."""
        sources = tuple(getattr(self, name) for name in _STATE_ATTRS)
        return cached_state(self, sources, self._build_state)

    def _build_state(self) -> State:
        return State(
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
            cum_net=self.cum_net_,
            partners={
                attr: (getattr(self, f"{attr}_index_"), getattr(self, f"{attr}_ids_"))
                for _, attr in PARTNER_COLUMNS
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
        caller = type(self).__name__
        if not tuple(self.windows):
            raise ValueError(f"windows must be positive whole days, got {self.windows!r}")
        for w in self.windows:
            check_int(w, "each of windows", caller=caller, type_error=ValueError)
        for name in ("history_days", "horizon"):
            check_int(getattr(self, name), name, caller=caller, type_error=ValueError)
        if not self.max_cover_days > 0:
            raise ValueError(f"max_cover_days must be positive, got {self.max_cover_days!r}")
        if not isinstance(self.censored_demand, bool | np.bool_):
            raise ValueError(f"censored_demand must be True or False, got {self.censored_demand!r}")

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

    def __getstate__(self):
        state = super().__getstate__()
        state.pop(STATE_CACHE, None)
        return state

    def __setstate__(self, state):
        # Saved before censored_demand existed: it computes the features it was fitted with.
        super().__setstate__({"censored_demand": False, **state})

    def _transform(self, X: pd.DataFrame, state: State) -> Columns:
        """The rows' features; a large table is worked through in blocks of rows."""
        return in_blocks(
            X,
            lambda block: self._transform_block(block, state),
            inputs=set(self.feature_names_in_),
            block_rows=_BLOCK_ROWS,
        )

    def _transform_block(self, X: pd.DataFrame, state: State) -> Columns:
        at = locate(X, state, self.keys_, self.branches_, self.items_, dense_cells=_DENSE_KEY_CELLS)
        out = Columns.following(X, {name: column(X, name) for name in self.feature_names_in_})
        quantity = float_column(X, CURRENT_QUANTITY)
        reserved = float_column(X, RESERVED_QUANTITY)
        safety = float_column(X, SAFETY_STOCK_LEVEL)
        warn_missing(
            {CURRENT_QUANTITY: quantity, RESERVED_QUANTITY: reserved, SAFETY_STOCK_LEVEL: safety}
        )
        stock = {"quantity": quantity, "reserved": reserved, "safety": safety}
        out.update(
            flow_features(
                state,
                at,
                windows=self.windows,
                horizon=self.horizon,
                max_cover_days=self.max_cover_days,
                **stock,
            )
        )
        out.update(past_stock(state, at, windows=self.windows, **stock))
        out.update(context_rates(state, at, windows=self.windows))
        for name, attr in PARTNER_COLUMNS:
            codes, vocabulary = partner(
                state, attr, at.k, at.known & at.in_range, at.t, at.j, dense_cells=_DENSE_KEY_CELLS
            )
            out[name] = vocabulary.take(codes)
            remember_factorized(out, name, codes, vocabulary)  # the hashing step reuses it
        if self.censored_demand:
            out.update(censored_demand(state, at, self.windows, self.horizon, out, **stock))
        return out

    def risk_directions(self) -> dict[str, int]:
        """How the stock-out risk moves as each stock-position column grows, all else equal.

        ``-1`` (can only lower it) or ``+1`` (can only raise it) for every column that depends
        on ``CurrentQuantity``, as :func:`stockout_sk.features.names.risk_directions` writes
        them: constraining them all makes the model monotone in the stock on hand. Needs no
        fitting (names follow ``windows``).
        """
        return risk_directions(self.windows, censored_demand=self.censored_demand)

    def coverage(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per row: its branch×item has carried history; its date is unreadable or before every
        window lies inside that history (so some of its history features are missing)."""
        state = self._state()
        at = locate(X, state, self.keys_, self.branches_, self.items_, dense_cells=_DENSE_KEY_CELLS)
        return at.known, ~at.in_range | (at.t < state.start + max(self.windows) - 1)

    def staleness_days(self, X: pd.DataFrame) -> np.ndarray:
        """Days between each row's date and the freshest carried history (0 when not stale)."""
        check_is_fitted(self)
        days = to_day_numbers(column(X, DATE))
        return np.clip(days - self.last_day_, 0, None)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Input columns, then the history features."""
        check_is_fitted(self)
        names = [
            *self.feature_names_in_,
            *history_feature_names(self.windows, censored_demand=self.censored_demand),
        ]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags
