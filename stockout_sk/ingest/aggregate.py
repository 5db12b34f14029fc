"""Daily sums in bounded memory, and the daily flows built from transfers and sales.

The columns of the daily tables come from :mod:`stockout_sk.contract` (``FLOW_COLUMNS``,
``TRANSFER_COLUMNS``); their dtypes are written here once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from stockout_sk.contract import BRANCH_ID, DATE, FLOW_COLUMNS, ITEM_CODE, TRANSFER_COLUMNS

_STR = "str"
_F64 = "float64"
_DT = "datetime64[ns]"

#: A flow row is keyed by branch × item × day and carries three daily sums.
_FLOW_KEYS = list(FLOW_COLUMNS[:3])
_INFLOW, _OUTFLOW, _SOLD = _FLOW_VALUES = FLOW_COLUMNS[3:]
#: A transfer row is keyed by day × from × to × item and carries the quantity moved.
_TRANSFER_KEYS = list(TRANSFER_COLUMNS[:4])
_, _FROM_BRANCH_ID, _TO_BRANCH_ID, _, _QUANTITY_MOVED = TRANSFER_COLUMNS

_TRANSFER_DTYPES = dict(zip(TRANSFER_COLUMNS, (_DT, _STR, _STR, _STR, _F64), strict=True))
_SOLD_DTYPES = {BRANCH_ID: _STR, ITEM_CODE: _STR, DATE: _DT, _SOLD: _F64}
_FLOW_DTYPES = dict(zip(FLOW_COLUMNS, (_STR, _STR, _DT, _F64, _F64, _F64), strict=True))


def _empty_frame(dtypes: dict[str, Any]) -> pd.DataFrame:
    """No rows, the columns and dtypes of ``dtypes``."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


class _Aggregator:
    """Sum of ``values`` per ``keys`` over many partial frames, re-aggregated as it grows.

    Partial frames are concatenated and re-summed whenever their total length exceeds twice the
    length after the previous re-aggregation (and at least ``min_rows``): memory stays within a
    small multiple of the number of distinct keys, and the total re-aggregation work is linear.
    """

    def __init__(self, keys: list[str], values: list[str], dtypes: dict[str, Any], min_rows: int):
        self._keys = keys
        self._values = values
        self._dtypes = dtypes
        self._min_rows = min_rows
        self._parts: list[pd.DataFrame] = []
        self._rows = 0
        self._compacted = 0

    def add(self, frame: pd.DataFrame) -> None:
        """Add a partial frame of ``keys`` and ``values`` columns."""
        if len(frame) == 0:
            return
        self._parts.append(frame)
        self._rows += len(frame)
        if self._rows > max(self._min_rows, 2 * self._compacted):
            self._compact()

    def _compact(self) -> None:
        if len(self._parts) > 1 or self._rows > self._compacted:
            merged = pd.concat(self._parts, ignore_index=True)
            merged = merged.groupby(self._keys, sort=False, as_index=False, observed=True)[
                self._values
            ].sum()
            self._parts = [merged]
            self._rows = self._compacted = len(merged)

    def result(self) -> pd.DataFrame:
        """One row per distinct key (in order of first appearance), with ``dtypes``."""
        if not self._parts:
            return _empty_frame(self._dtypes)
        self._compact()
        return self._parts[0].astype(self._dtypes)


def _build_flows(transfers: pd.DataFrame, sold: pd.DataFrame) -> pd.DataFrame:
    """inflow (To = b), outflow (From = b) and sold per branch × item × day; zero days dropped."""
    keys = _FLOW_KEYS
    inflow = transfers.rename(columns={_TO_BRANCH_ID: BRANCH_ID, _QUANTITY_MOVED: _INFLOW})[
        [*keys, _INFLOW]
    ]
    outflow = transfers.rename(columns={_FROM_BRANCH_ID: BRANCH_ID, _QUANTITY_MOVED: _OUTFLOW})[
        [*keys, _OUTFLOW]
    ]
    parts = [p for p in (inflow, outflow, sold) if len(p)]
    if not parts:
        return _empty_frame(_FLOW_DTYPES)
    stacked = pd.concat(parts, ignore_index=True)
    for col in _FLOW_VALUES:
        if col not in stacked:
            stacked[col] = 0.0
    values = list(_FLOW_VALUES)
    flows = stacked.groupby(keys, sort=False, as_index=False)[values].sum()
    some_flow = (flows[values] != 0).any(axis=1)
    flows = flows[some_flow].astype(_FLOW_DTYPES)
    return flows.sort_values(keys, kind="stable", ignore_index=True)[list(_FLOW_DTYPES)]
