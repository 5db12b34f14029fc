"""History fitted a part of the chain at a time: the chain-wide context, and putting parts together.

A :class:`~stockout_sk.features.history.HistoryFeatures` fitted on the flows of some branches only
(one partition of a cluster) computes every per-key array exactly as a fit on the whole chain
would: a key's running sums read that key's flows alone, and a branch's context reads that
branch's keys alone. Two things read across partitions: the chain's daily inflow and each item's
daily sales over every branch. :class:`ChainContext` carries them (and the history's first day and
length, which a part cannot see either), computed once for the chain; :func:`combine_parts`
concatenates the carried tails of parts fitted with it into the estimator a single fit would
have made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stockout_sk.contract import DATE, ITEM_CODE
from stockout_sk.features._history_arrays import State, running_sum
from stockout_sk.features._history_partners import _DAY_BITS, PARTNER_COLUMNS
from stockout_sk.features.calendar import to_day_numbers

if TYPE_CHECKING:
    from stockout_sk.features.history import HistoryFeatures

__all__ = ["ChainContext", "chain_context", "combine_parts"]


@dataclass(frozen=True, eq=False)
class ChainContext:
    """What a part of the chain cannot see of the rest: its days, the chain's and items' flows.

    Attributes
    ----------
    start : int
        First day of the history (days since 1970-01-01).
    n_days : int
        Days in the history.
    chain_inflow : ndarray of float64, shape (n_days,)
        Daily inflow summed over every branch×item of the chain (external IDs included).
    items : ndarray of str
        Sorted distinct items of the chain (flows and training rows).
    item_sold : ndarray of float64, shape (len(items), n_days)
        Daily units sold of each item over every branch.
    """

    start: int
    n_days: int
    chain_inflow: np.ndarray
    items: np.ndarray
    item_sold: np.ndarray

    @property
    def last_day(self) -> int:
        return self.start + self.n_days - 1

    def check_covers(self, days: np.ndarray, what: str) -> None:
        """Raise when a day of ``days`` (day numbers, NaN ignored) lies outside the context."""
        known = days[~np.isnan(days)]
        if len(known) and (known.min() < self.start or known.max() > self.last_day):
            span = f"{np.datetime64(self.start, 'D')}..{np.datetime64(self.last_day, 'D')}"
            seen = f"{np.datetime64(int(known.min()), 'D')}..{np.datetime64(int(known.max()), 'D')}"
            raise ValueError(
                f"HistoryFeatures: the {what} span {seen}, outside the chain context {span}; "
                "build the context from the whole chain's flows and rows (chain_context)"
            )

    def apply(self, state: State) -> tuple[State, np.ndarray]:
        """``state`` with the chain's and items' running sums; the items they follow."""
        state.cum_chain_inflow = running_sum(self.chain_inflow[None, :])
        state.cum_item_sold = running_sum(self.item_sold)
        return state, self.items


def chain_context(
    chain_inflow: pd.Series,
    item_sold: pd.DataFrame,
    items: np.ndarray,
    *,
    start: int,
    n_days: int,
) -> ChainContext:
    """A :class:`ChainContext` from daily sums computed over the whole chain.

    Parameters
    ----------
    chain_inflow : pandas.Series
        Inflow per ``Date`` (the index), summed over the chain's flows.
    item_sold : pandas.DataFrame
        ``ItemCode, Date, sold``: units sold per item and day over the chain's flows.
    items : array of str
        Every item of the chain's flows and training rows.
    start, n_days : int
        First day (days since 1970-01-01) and length of the history.

    Returns
    -------
    ChainContext
    """
    items = np.unique(np.asarray(items, dtype=object).astype(str))
    inflow = np.zeros(n_days, dtype=np.float64)
    days = to_day_numbers(pd.Series(chain_inflow.index)).astype(np.int64) - start
    np.add.at(inflow, days, chain_inflow.to_numpy(dtype=np.float64))
    sold = np.zeros((len(items), n_days), dtype=np.float64)
    if len(item_sold):
        row = np.searchsorted(items, item_sold[ITEM_CODE].astype(str).to_numpy())
        day = to_day_numbers(item_sold[DATE]).astype(np.int64) - start
        np.add.at(sold, (row, day), item_sold["sold"].to_numpy(dtype=np.float64))
    return ChainContext(
        start=int(start), n_days=int(n_days), chain_inflow=inflow, items=items, item_sold=sold
    )


# Fitted arrays with one row per key, and one per branch: parts are stacked along their rows.
_KEY_ARRAYS = (
    "cum_inflow_",
    "cum_outflow_",
    "cum_sold_",
    "cum_inflow_days_",
    "last_inflow_day_",
    "cum_net_",
)
# The same in every part fitted with one context.
_SHARED = ("start_day_", "last_day_", "cum_chain_inflow_", "cum_item_sold_", "items_")


def combine_parts(parts: list[HistoryFeatures]) -> HistoryFeatures:
    """The estimator one fit on the whole chain makes, from parts fitted on disjoint branches.

    Parameters
    ----------
    parts : list of HistoryFeatures
        Fitted with the same parameters and the same :class:`ChainContext`, each on the flows and
        rows of its own branches, in increasing branch order (every branch of a part sorts before
        every branch of the next, so their keys concatenate in sorted order).

    Returns
    -------
    HistoryFeatures
        A fitted estimator whose carried history equals that of a fit on the whole chain.

    Raises
    ------
    ValueError
        The parts differ in parameters or context, or their branches overlap or are out of order.
    """
    parts = [p for p in parts if len(p.keys_)]
    if not parts:
        raise ValueError("combine_parts: no fitted part carries any key")
    first = parts[0]
    for i, part in enumerate(parts[1:], start=1):
        if part.get_params() != first.get_params():
            raise ValueError(f"combine_parts: part {i} has parameters {part.get_params()}")
        for name in _SHARED:
            if not np.array_equal(
                np.asarray(getattr(part, name)), np.asarray(getattr(first, name))
            ):
                raise ValueError(
                    f"combine_parts: part {i} differs in {name}: fit every part with "
                    "the same ChainContext"
                )
        if not parts[i - 1].branches_[-1] < part.branches_[0]:
            raise ValueError(
                f"combine_parts: the branches of part {i} (from {part.branches_[0]!r}) do not "
                f"all sort after those of part {i - 1} (to {parts[i - 1].branches_[-1]!r})"
            )
    whole = type(first)(**first.get_params())
    whole.feature_names_in_ = first.feature_names_in_
    whole.n_features_in_ = first.n_features_in_
    for name in _SHARED:
        setattr(whole, name, getattr(first, name))
    whole.keys_ = np.concatenate([p.keys_ for p in parts])
    whole.branches_ = np.concatenate([p.branches_ for p in parts])
    for name in (*_KEY_ARRAYS, "cum_branch_inflow_"):
        setattr(whole, name, np.concatenate([getattr(p, name) for p in parts], axis=0))
    offsets = np.cumsum([0] + [len(p.keys_) for p in parts[:-1]])
    for _, attr in PARTNER_COLUMNS:
        codes = [
            getattr(p, f"{attr}_index_") + (int(o) << _DAY_BITS)
            for p, o in zip(parts, offsets, strict=True)
        ]
        setattr(whole, f"{attr}_index_", np.concatenate(codes).astype(np.int64))
        setattr(whole, f"{attr}_ids_", np.concatenate([getattr(p, f"{attr}_ids_") for p in parts]))
    return whole
