"""One typed table per file: which copy of a duplicated key wins, and the daily sums.

* branches, items, employees (small): the first row of a key wins;
* the stock snapshot: one row per branch×item, the latest ``LastUpdatedAt`` wins; two rows of
  one key with the same ``LastUpdatedAt`` but different quantities are a *conflict* (the later
  line is kept, and the finding says so);
* movements: ``MovementID`` de-duplicated across the whole file, summed per day × from × to ×
  item chunk by chunk;
* sales: summed per branch × item × day chunk by chunk.

Later copies of a key are rejected (and counted as duplicates) through the file's scan. Sales and
movements also count their accepted rows per day (:class:`_DayCounts`), for the history's time
line (:mod:`~stockout_sk.ingest.timeline`); the rows of days it cuts off are quarantined by
:func:`_requarantine`, which reads the file again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stockout_sk.contract import (
    BRANCH_ID,
    DATE,
    ITEM_CODE,
    KEY_FIELDS,
    QUANTITY_FIELDS,
    TRANSFER_COLUMNS,
)
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
from stockout_sk.ingest.scan import _Chunk, _FileScan
from stockout_sk.schemas import FileSchema

_LAST_UPDATED_AT = "LastUpdatedAt"


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


@dataclass
class _SnapshotStats:
    """Duplicate snapshot keys whose copies disagree: how many, and a few ``key (lines)``."""

    conflicting: int = 0
    examples: list[str] = field(default_factory=list)


def _load_stock_current(scan: _FileScan) -> tuple[pd.DataFrame, _SnapshotStats]:
    """One row per BranchID×ItemCode: the latest LastUpdatedAt wins (then the later line)."""
    typed, raw, lines = _collect(scan)
    stats = _SnapshotStats()
    if len(typed):
        order = np.lexsort(
            (
                lines,
                typed[_LAST_UPDATED_AT].to_numpy(dtype="datetime64[ns]").astype(np.int64),
                typed[ITEM_CODE].to_numpy(dtype=object).astype(str),
                typed[BRANCH_ID].to_numpy(dtype=object).astype(str),
            )
        )
        typed, raw, lines = typed.iloc[order], raw.iloc[order], lines[order]
        superseded = typed.duplicated(list(KEY_FIELDS), keep="last").to_numpy(dtype=bool)
        if superseded.any():
            reasons = _superseded_reasons(typed, lines, superseded, stats)
            scan.reject(raw[superseded], lines[superseded], reasons)
            scan.report.duplicates += int(superseded.sum())
            typed = typed[~superseded]
    scan.accept(len(typed))
    out = _typed_output(typed, scan.schema)
    return out.sort_values(list(KEY_FIELDS), kind="stable", ignore_index=True), stats


def _superseded_reasons(
    typed: pd.DataFrame, lines: np.ndarray, superseded: np.ndarray, stats: _SnapshotStats
) -> np.ndarray:
    """Why each superseded copy lost: older, identical, or in conflict with the kept copy."""
    key = "×".join(KEY_FIELDS)
    groups = typed.groupby(list(KEY_FIELDS), sort=False)
    kept_at = groups[_LAST_UPDATED_AT].transform("last").to_numpy()
    kept_line = (
        pd.Series(lines, index=typed.index)
        .groupby([typed[c] for c in KEY_FIELDS], sort=False)
        .transform("last")
        .to_numpy()
    )
    same_time = typed[_LAST_UPDATED_AT].to_numpy() == kept_at
    same_values = np.ones(len(typed), dtype=bool)
    for col in QUANTITY_FIELDS:
        values = typed[col].to_numpy(dtype=np.float64)
        kept = groups[col].transform("last").to_numpy(dtype=np.float64)
        same_values &= (values == kept) | (np.isnan(values) & np.isnan(kept))
    conflict = superseded & same_time & ~same_values
    reasons = np.where(
        same_time,
        f"duplicate {key} (identical to the copy kept)",
        f"duplicate {key} (a later LastUpdatedAt is kept)",
    ).astype(object)
    reasons[conflict] = (
        f"conflicting duplicate {key}: same LastUpdatedAt, different quantities (the later "
        "line is kept)"
    )
    stats.conflicting = int(conflict.sum())
    for i in np.flatnonzero(conflict)[:5]:
        stats.examples.append(
            f"{typed[BRANCH_ID].iat[i]}×{typed[ITEM_CODE].iat[i]} (lines {lines[i]} and "
            f"{kept_line[i]})"
        )
    return reasons[superseded]


class _DayCounts:
    """Accepted rows per calendar day of one file (a few hundred days: a small counter)."""

    def __init__(self) -> None:
        self._counts: Counter[pd.Timestamp] = Counter()

    def add(self, days: pd.Series) -> None:
        self._counts.update(days.value_counts(sort=False).to_dict())

    def update(self, other: _DayCounts) -> None:
        """Add the counts of another part of the file."""
        self._counts.update(other._counts)

    def series(self) -> pd.Series:
        """Rows per day (``datetime64[ns]`` index), sorted by day."""
        if not self._counts:
            return pd.Series(dtype=np.int64, index=pd.DatetimeIndex([], dtype="datetime64[ns]"))
        out = pd.Series(self._counts, dtype=np.int64).sort_index()
        out.index = pd.DatetimeIndex(out.index).as_unit("ns")
        return out


@dataclass
class _MovementStats:
    """What the movements file says beyond its daily sums, for the findings."""

    conflicting_duplicates: int = 0
    self_transfers: int = 0
    days: _DayCounts = field(default_factory=_DayCounts)


def _movement_hashes(typed: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the hash of its MovementID and of its content (what a conflict compares)."""
    # The same hashes as ``hash_array`` of the IDs as Python objects, without making them.
    keys = pd.util.hash_pandas_object(typed["MovementID"], index=False).to_numpy()
    content = pd.util.hash_pandas_object(typed[list(TRANSFER_COLUMNS)], index=False).to_numpy()
    return keys, content


def _accepted_movements(
    chunks: Iterator[_Chunk], seen: _SeenKeys | None = None
) -> Iterator[tuple[_Chunk, np.ndarray, int]]:
    """Each chunk with its duplicate-MovementID mask (across the file) and its conflicts.

    ``seen`` holds the IDs kept before the first chunk (by the spans before this one).
    """
    seen = _SeenKeys() if seen is None else seen
    for chunk in chunks:
        duplicate, conflicting = seen.mark(*_movement_hashes(chunk.typed))
        yield chunk, duplicate, conflicting


def _load_movements(
    scan: _FileScan,
    min_rows: int,
    *,
    chunks: Iterator[_Chunk] | None = None,
    seen: _SeenKeys | None = None,
) -> tuple[pd.DataFrame, _MovementStats]:
    """Daily transfers (day × from × to × item), MovementID de-duplicated across the file.

    ``chunks``: the scan's chunks already read (default: read them); ``seen``: the IDs kept
    before them (see :func:`_accepted_movements`).
    """
    stats = _MovementStats()
    acc = _Aggregator(_TRANSFER_KEYS, [_QUANTITY_MOVED], _TRANSFER_DTYPES, min_rows)
    if chunks is None:
        chunks = scan.chunks(keep=["MovementID", *TRANSFER_COLUMNS])
    for chunk, duplicate, conflicting in _accepted_movements(chunks, seen):
        t = chunk.typed
        stats.conflicting_duplicates += conflicting
        if duplicate.any():
            scan.reject(chunk.text()[duplicate], chunk.lines[duplicate], "duplicate MovementID")
            scan.report.duplicates += int(duplicate.sum())
            t = t[~duplicate]
        scan.accept(len(t))
        stats.self_transfers += int(_same_text(t[_FROM_BRANCH_ID], t[_TO_BRANCH_ID]).sum())
        days = t[DATE].dt.normalize()
        stats.days.add(days)
        acc.add(t.assign(**{DATE: days}), rows=True)
    transfers = acc.result()
    return (
        transfers.sort_values(_TRANSFER_KEYS, kind="stable", ignore_index=True),
        stats,
    )


def _same_text(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Rows where two text columns hold the same text, strings or categoricals (each with
    categories of its own: compared through them, not row by row as strings)."""
    if isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype):
        into_a = a.cat.categories.get_indexer(b.cat.categories)  # -1: not a category of a's
        b_codes = b.cat.codes.to_numpy()
        return (a.cat.codes.to_numpy() == into_a[b_codes]) & (b_codes >= 0)
    return (a == b).to_numpy(dtype=bool)


def _load_sales(
    scan: _FileScan, min_rows: int, *, ordered: bool = True
) -> tuple[pd.DataFrame, int, _DayCounts]:
    """Daily sold quantity per branch × item × day (keys in order of first appearance, or,
    ``ordered=False``, in any: :meth:`_Aggregator.result`); the return lines (< 0); rows per
    day."""
    keys = [BRANCH_ID, ITEM_CODE, DATE]
    acc = _Aggregator(keys, [_SOLD], _SOLD_DTYPES, min_rows)
    returns = 0
    day_counts = _DayCounts()
    for chunk in scan.chunks(keep=[*keys, "QuantitySold"]):
        t = chunk.typed
        scan.accept(len(t))
        returns += int((t["QuantitySold"] < 0).sum())
        days = _calendar_days(t[DATE])
        day_counts.add(days)
        rows = {
            BRANCH_ID: t[BRANCH_ID],
            ITEM_CODE: t[ITEM_CODE],
            DATE: days,
            _SOLD: t["QuantitySold"],
        }
        acc.add(pd.DataFrame(rows), rows=True)
    return acc.result(ordered=ordered), returns, day_counts


def _calendar_days(dates: pd.Series) -> pd.Series:
    """The rows' calendar days as a categorical, its days in order of first appearance: a
    chunk of sales holds a few, normalised, counted and numbered once each (the sums number
    a categorical by its codes)."""
    codes, stamps = pd.factorize(dates)
    days = stamps.normalize()
    if not days.is_unique:  # times of day: several stamps fall on one day
        day_codes, days = pd.factorize(days)
        codes = np.where(codes >= 0, day_codes[codes], -1)
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=days, validate=False),
        index=dates.index,
        name=dates.name,
    )


def _requarantine(
    scan: _FileScan, reasons: pd.Series, *, movements: bool, seen: _SeenKeys | None = None
) -> int:
    """Move the accepted rows of the days in ``reasons`` (day → reason) to the rejects.

    The file is read again (:meth:`_FileScan.replay`): the same rows are valid, and for
    movements the same copies of a duplicated MovementID are the accepted ones (``seen``: the
    IDs kept before the scan's span).

    Returns
    -------
    int
        Rows moved from accepted to rejected.
    """
    moved = 0
    chunks: Iterator[tuple[_Chunk, np.ndarray | None, int]] = (
        _accepted_movements(scan.replay(), seen)
        if movements
        else ((c, None, 0) for c in scan.replay())
    )
    for chunk, duplicate, _ in chunks:
        day = chunk.typed[DATE].dt.normalize()
        hit = day.isin(reasons.index).to_numpy(dtype=bool)
        if duplicate is not None:
            hit = hit & ~duplicate
        if hit.any():
            why = reasons.reindex(day[hit]).to_numpy(dtype=object)
            scan.reject(chunk.raw[hit], chunk.lines[hit], why)
            moved += int(hit.sum())
    scan.report.accepted -= moved
    return moved
