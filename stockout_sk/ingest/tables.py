"""One typed table per file: which copy of a duplicated key wins, and the daily sums.

* branches, items, employees (small): the first row of a key wins;
* the stock snapshot: one row per branch×item, the latest ``LastUpdatedAt`` wins;
* movements: ``MovementID`` de-duplicated across the whole file, summed per day × from × to ×
  item chunk by chunk;
* sales: summed per branch × item × day chunk by chunk.

Later copies of a key are rejected (and counted as duplicates) through the file's scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockout_sk.contract import BRANCH_ID, DATE, ITEM_CODE, KEY_FIELDS, TRANSFER_COLUMNS
from stockout_sk.ingest.aggregate import (
    _DT,
    _F64,
    _FROM_BRANCH_ID,
    _QUANTITY_MOVED,
    _SOLD,
    _SOLD_DTYPES,
    _STR,
    _TO_BRANCH_ID,
    _TRANSFER_DTYPES,
    _TRANSFER_KEYS,
    _Aggregator,
    _empty_frame,
)
from stockout_sk.ingest.dedup import _SeenKeys
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.schemas import FileSchema


def _typed_output(frame: pd.DataFrame, schema: FileSchema) -> pd.DataFrame:
    """Contract columns in contract order with contract dtypes."""
    dtypes = {
        c: (_DT if c in schema.date_columns else _F64 if c in schema.quantity_columns else _STR)
        for c in schema.columns
    }
    if len(frame) == 0:
        return _empty_frame(dtypes)
    return frame[list(schema.columns)].astype(dtypes).reset_index(drop=True)


def _collect(scan: _FileScan) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Read a small file whole (after validation): typed rows, raw rows, line numbers."""
    typed, raw, lines = [], [], []
    for chunk in scan.chunks():
        typed.append(chunk.typed)
        raw.append(chunk.raw)
        lines.append(chunk.lines)
    if not typed:
        return (
            _typed_output(pd.DataFrame(), scan.schema),
            pd.DataFrame(columns=scan.names),
            np.empty(0, dtype=np.int64),
        )
    return pd.concat(typed), pd.concat(raw), np.concatenate(lines)


def _load_keyed_table(scan: _FileScan) -> pd.DataFrame:
    """Branches, items, employees: small; the first row of a key wins, later copies are rejected."""
    typed, raw, lines = _collect(scan)
    key = list(scan.schema.key)
    duplicate = typed.duplicated(key, keep="first").to_numpy(dtype=bool) if len(typed) else None
    if duplicate is not None and duplicate.any():
        scan.reject(raw[duplicate], lines[duplicate], f"duplicate {'×'.join(key)}")
        scan.report.duplicates += int(duplicate.sum())
        typed = typed[~duplicate]
    scan.accept(len(typed))
    return _typed_output(typed, scan.schema)


def _load_stock_current(scan: _FileScan) -> pd.DataFrame:
    """One row per BranchID×ItemCode: the latest LastUpdatedAt wins (then the later line)."""
    typed, raw, lines = _collect(scan)
    if len(typed):
        order = np.lexsort(
            (
                lines,
                typed["LastUpdatedAt"].to_numpy(dtype="datetime64[ns]").astype(np.int64),
                typed[ITEM_CODE].to_numpy(dtype=object).astype(str),
                typed[BRANCH_ID].to_numpy(dtype=object).astype(str),
            )
        )
        typed, raw, lines = typed.iloc[order], raw.iloc[order], lines[order]
        superseded = typed.duplicated(list(KEY_FIELDS), keep="last").to_numpy(dtype=bool)
        if superseded.any():
            scan.reject(
                raw[superseded],
                lines[superseded],
                f"duplicate {'×'.join(KEY_FIELDS)} (a later LastUpdatedAt is kept)",
            )
            scan.report.duplicates += int(superseded.sum())
            typed = typed[~superseded]
    scan.accept(len(typed))
    out = _typed_output(typed, scan.schema)
    return out.sort_values(list(KEY_FIELDS), kind="stable", ignore_index=True)


@dataclass
class _MovementStats:
    """What the movements file says beyond its daily sums, for the findings."""

    conflicting_duplicates: int = 0
    self_transfers: int = 0


def _load_movements(scan: _FileScan, min_rows: int) -> tuple[pd.DataFrame, _MovementStats]:
    """Daily transfers (day × from × to × item), MovementID de-duplicated across the file."""
    seen = _SeenKeys()
    stats = _MovementStats()
    acc = _Aggregator(_TRANSFER_KEYS, [_QUANTITY_MOVED], _TRANSFER_DTYPES, min_rows)
    content_cols = list(TRANSFER_COLUMNS)
    for chunk in scan.chunks():
        t = chunk.typed
        keys = pd.util.hash_array(t["MovementID"].to_numpy(dtype=object))
        content = pd.util.hash_pandas_object(t[content_cols], index=False).to_numpy()
        duplicate, conflicting = seen.mark(keys, content)
        stats.conflicting_duplicates += conflicting
        if duplicate.any():
            scan.reject(chunk.raw[duplicate], chunk.lines[duplicate], "duplicate MovementID")
            scan.report.duplicates += int(duplicate.sum())
            t = t[~duplicate]
        scan.accept(len(t))
        stats.self_transfers += int((t[_FROM_BRANCH_ID] == t[_TO_BRANCH_ID]).sum())
        daily = (
            t.assign(**{DATE: t[DATE].dt.normalize()})
            .groupby(_TRANSFER_KEYS, sort=False, as_index=False)[_QUANTITY_MOVED]
            .sum()
        )
        acc.add(daily)
    transfers = acc.result()
    return (
        transfers.sort_values(_TRANSFER_KEYS, kind="stable", ignore_index=True),
        stats,
    )


def _load_sales(scan: _FileScan, min_rows: int) -> tuple[pd.DataFrame, int]:
    """Daily sold quantity per branch × item × day; also the number of return lines (< 0)."""
    keys = [BRANCH_ID, ITEM_CODE, DATE]
    acc = _Aggregator(keys, [_SOLD], _SOLD_DTYPES, min_rows)
    returns = 0
    for chunk in scan.chunks():
        t = chunk.typed
        scan.accept(len(t))
        returns += int((t["QuantitySold"] < 0).sum())
        daily = (
            pd.DataFrame(
                {
                    BRANCH_ID: t[BRANCH_ID],
                    ITEM_CODE: t[ITEM_CODE],
                    DATE: t[DATE].dt.normalize(),
                    _SOLD: t["QuantitySold"],
                }
            )
            .groupby(keys, sort=False, as_index=False)[_SOLD]
            .sum()
        )
        acc.add(daily)
    return acc.result(), returns
