"""Daily sums in bounded memory, over one packed integer key per row.

The columns of the daily tables come from :mod:`stockout_sk.contract` (``FLOW_COLUMNS``,
``TRANSFER_COLUMNS``); their dtypes are written here once. Sums are taken over one integer per
row (:class:`_KeyCodes`) rather than over the key columns themselves: grouping by several
string columns hashes and combines every one of them for every row, grouping by one int64 does
not, and it adds the same values in the same order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.contract import BRANCH_ID, DATE, FLOW_COLUMNS, ITEM_CODE, TRANSFER_COLUMNS
from stockout_sk.ingest.sums import (
    _KEY,
    _KEY_BITS,
    _exact_sums,
    _stable_order,
    _sum_by_cell,
    _sum_by_key,
)

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
#: Daily sales keep their branches, items and days as categories: a few hundred of each over
#: millions of rows, numbered already by the sums (:meth:`_KeyCodes.values`). A span's travel back
#: in a fraction of the bytes, and the merge and the flows number them by their codes.
_CAT = "category"
_SOLD_DTYPES = {BRANCH_ID: _CAT, ITEM_CODE: _CAT, DATE: _CAT, _SOLD: _F64}
_FLOW_DTYPES = dict(zip(FLOW_COLUMNS, (_STR, _STR, _DT, _F64, _F64, _F64), strict=True))

#: A sum over the grid of the key columns' numbers (:meth:`_Aggregator._by_cell`) where the
#: grid holds at most this many cells per row, plus :data:`_GRID_SLACK`.
_GRID_RATIO = 4
_GRID_SLACK = 1 << 16
#: Bits a key column gets beyond those it needs when it widens (:meth:`_KeyCodes.widen`).
_HEADROOM = 3
_SEQ = "_seq"


def _empty_frame(dtypes: dict[str, Any]) -> pd.DataFrame:
    """No rows, the columns and dtypes of ``dtypes``."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


class _KeyCodes:
    """The distinct values of each key column numbered as they first appear, across every frame
    coded (a categorical column's as its categories are listed), and a row's key as one int64:
    its columns' numbers side by side, the first column in the highest bits (so the packed keys
    sort as the numbers do, column by column).

    Parameters
    ----------
    keys : list of str
        The key columns.
    """

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self._numbers: list[dict[Any, int]] = [{} for _ in keys]
        self._values: list[list[Any]] = [[] for _ in keys]
        self._stamps = [False] * len(keys)  # per column: are its values timestamps (as int64)?
        self.bits = [1] * len(keys)

    def number(self, columns: list[pd.Series]) -> tuple[list[np.ndarray], np.ndarray]:
        """Each key column's numbers per row (the columns in the order of ``keys``), and the
        rows whose key is complete (grouping drops a missing key)."""
        numbers, complete = [], np.ones(len(columns[0]), dtype=bool)
        for j, column in enumerate(columns):
            if isinstance(column.dtype, pd.CategoricalDtype):  # numbered already: its codes
                local, uniques = column.cat.codes.to_numpy(), column.cat.categories
            else:
                local, uniques = pd.factorize(column, use_na_sentinel=True)
            if isinstance(uniques, pd.DatetimeIndex):
                uniques = uniques.as_unit("ns").asi8
                self._stamps[j] = True
            seen, values = self._numbers[j], self._values[j]
            known = np.empty(len(uniques), dtype=np.int32)
            for i, value in enumerate(uniques.tolist()):
                n = seen.get(value)
                if n is None:
                    n = seen[value] = len(values)
                    values.append(value)
                known[i] = n
            numbers.append(known[local])
            complete &= local >= 0
        return numbers, complete

    def widen(self, limit: int = _KEY_BITS) -> bool | None:
        """Make room for every number seen so far: ``None`` if there was room, True if the
        packing widened (keys packed before must be packed again), False if a key would need
        more than ``limit`` bits (the packing is left as it was).

        A column that widens gets :data:`_HEADROOM` bits more than it needs where they fit: a
        column whose values keep coming (the days of a file in date order) widens a few
        times, not once per doubling, and every widening packs the keys held again.
        """
        required = [max(1, (len(v) - 1).bit_length()) for v in self._values]
        if all(r <= b for r, b in zip(required, self.bits, strict=True)):
            return None
        if sum(required) > limit:
            return False
        roomy = [r + _HEADROOM if r > b else b for r, b in zip(required, self.bits, strict=True)]
        tight = [max(r, b) for r, b in zip(required, self.bits, strict=True)]
        self.bits = next(bits for bits in (roomy, tight, required) if sum(bits) <= limit)
        return True

    def pack(self, numbers: list[np.ndarray], bits: list[int] | None = None) -> np.ndarray:
        """One int64 per row from the columns' numbers."""
        key = np.zeros(len(numbers[0]), dtype=np.int64)
        for n, b in zip(numbers, self.bits if bits is None else bits, strict=True):
            key <<= b
            key |= n
        return key

    def unpack(self, key: np.ndarray, bits: list[int] | None = None) -> list[np.ndarray]:
        """The columns' numbers of packed keys."""
        numbers = []
        for b in reversed(self.bits if bits is None else bits):
            numbers.append(key & ((1 << b) - 1))
            key = key >> b
        return numbers[::-1]

    def column(self, key: np.ndarray, j: int) -> np.ndarray:
        """Key column ``j``'s numbers of packed keys (:meth:`unpack`'s ``j``-th, alone)."""
        return (key >> sum(self.bits[j + 1 :])) & ((1 << self.bits[j]) - 1)

    def values(
        self, key: np.ndarray, dtypes: dict[str, Any], *, ranked: bool = False
    ) -> dict[str, Any]:
        """The key columns of packed keys, with ``dtypes`` (``ranked``: packed from
        :meth:`ranks`, not from the numbers)."""
        return self.columns(self.unpack(key), dtypes, ranked=ranked)

    def columns(
        self, numbers: list[np.ndarray], dtypes: dict[str, Any], *, ranked: bool = False
    ) -> dict[str, Any]:
        """The key columns of the columns' numbers (:meth:`values`), with ``dtypes``: a
        ``category`` column is its values' ranks, not a copy of them."""
        out = {}
        for j, (column, values, n) in enumerate(zip(self.keys, self._values, numbers, strict=True)):
            stamps = dtypes[column] == _DT or self._stamps[j]
            known = np.asarray(values, dtype=np.int64 if stamps else object)
            if ranked:
                known = known[np.argsort(known, kind="stable")]
            if dtypes[column] == _DT:
                out[column] = known[n].view(_DT)
            elif dtypes[column] == _CAT:  # the categories sorted, as astype("category") does
                order, rank = _sort_ranks(known)
                categories = known[order]
                out[column] = pd.Categorical.from_codes(
                    rank[n],
                    categories=pd.DatetimeIndex(categories.view(_DT))
                    if stamps
                    else pd.Index(categories),
                )
            else:
                out[column] = pd.array(known, dtype=dtypes[column]).take(n)
        return out

    def ranks(self) -> list[np.ndarray]:
        """Per column, each number's rank among the column's values in sorted order."""
        return [_sort_ranks(np.asarray(values, dtype=object))[1] for values in self._values]


def _sort_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stable sorting order of ``values``, and each value's rank in it."""
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values), dtype=np.int32)
    rank[order] = np.arange(len(values), dtype=np.int32)
    return order, rank


class _Aggregator:
    """Sum of ``values`` per ``keys`` over many partial frames, re-aggregated as it grows.

    Partial frames are concatenated and re-summed whenever their total length exceeds twice the
    length after the previous re-aggregation (and at least ``min_rows``): memory stays within a
    small multiple of the number of distinct keys, and the total re-aggregation work is linear.

    The sums are kept keyed by packed keys (:class:`_KeyCodes`), per day when ``Date`` is a key:
    a re-aggregation re-sums the days that received rows since the previous one only. The other
    days' rows are sums already, which summing again would leave as they are, so every sum is
    added up exactly as re-summing everything adds it; where each key first appeared
    (``_SEQ``) gives back the order of first appearance. A key too wide for 63 bits turns the
    sums back into key columns, summed as such from then on. Sums never re-aggregated before
    :meth:`result` (a span's, a small file's) are summed once there and returned in the order
    they come in.
    """

    def __init__(
        self,
        keys: list[str],
        values: list[str],
        dtypes: dict[str, Any],
        min_rows: int,
        key_bits: int = _KEY_BITS,
    ):
        self._keys = keys
        self._values = values
        self._dtypes = dtypes
        self._min_rows = min_rows
        self._key_bits = key_bits
        self._codes: _KeyCodes | None = _KeyCodes(keys)
        self._day = keys.index(DATE) if DATE in keys else None
        self._done: dict[int, pd.DataFrame] = {}  # packed: the sums, per day
        self._parts: list[pd.DataFrame] = []  # packed: the frames since; else: all of them
        self._seq = 0
        self._rows = 0
        self._compacted = 0

    def add(self, frame: pd.DataFrame, *, rows: bool = False) -> None:
        """Add a partial frame of ``keys`` and ``values`` columns; ``rows``: it holds rows, not
        yet sums, which are summed per key first (in order of first appearance) — unless every
        value is a whole number (:func:`~stockout_sk.ingest.sums._exact_sums`): those add up
        the same in any grouping, so with packed keys the rows wait for the next
        re-aggregation as they are."""
        if len(frame) == 0:
            return
        part = self._packed(frame) if self._codes is not None else None
        if part is None:
            part = frame[[*self._keys, *self._values]]
            if rows:
                part = part.groupby(self._keys, sort=False, as_index=False)[self._values].sum()
        else:
            # Whole numbers add up the same in any grouping: their rows wait for the next sum.
            if rows and not all(_exact_sums(part[v].to_numpy()) for v in self._values):
                part = _sum_by_key(part, self._values)
            part[_SEQ] = np.arange(self._seq, self._seq + len(part))
            self._seq += len(part)
        self._parts.append(part)
        self._rows += len(part)
        if self._rows > max(self._min_rows, 2 * self._compacted):
            self._compact()

    def _packed(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        """``frame`` keyed by packed keys; None once keys no longer fit (the sums unpacked)."""
        codes = self._codes
        assert codes is not None
        bits = codes.bits
        numbers, complete = codes.number([frame[c] for c in self._keys])
        widened = codes.widen(self._key_bits)
        if widened is False:
            done = [self._unpacked(self._in_order())] if self._done else []
            self._parts = done + [self._unpacked(p) for p in self._parts]
            self._codes, self._done = None, {}
            return None
        if widened:
            for p in [*self._parts, *self._done.values()]:
                p[_KEY] = codes.pack(codes.unpack(p[_KEY].to_numpy(), bits))
        part = pd.DataFrame({_KEY: codes.pack(numbers)})
        for v in self._values:
            part[v] = frame[v].to_numpy()
        return part if complete.all() else part[complete].reset_index(drop=True)

    def _by_cell(self, merged: pd.DataFrame) -> pd.DataFrame | None:
        """:meth:`result` of ``merged`` summed over the grid of the key columns' numbers;
        ``None`` if its sums may depend on the order of the additions or the grid is large."""
        assert self._codes is not None
        (value_column,) = self._values
        value = merged[value_column].to_numpy(dtype=np.float64)
        sizes = [len(v) for v in self._codes._values]
        if np.prod(sizes, dtype=np.float64) > _GRID_RATIO * len(value) + _GRID_SLACK:
            return None
        if not _exact_sums(value):
            return None
        numbers, sums = _sum_by_cell(self._codes.unpack(merged[_KEY].to_numpy()), sizes, value)
        keys = self._codes.columns(numbers, self._dtypes)
        return pd.DataFrame({**keys, value_column: sums}).astype(self._dtypes)

    def _unpacked(self, part: pd.DataFrame) -> pd.DataFrame:
        assert self._codes is not None
        keys = self._codes.values(part[_KEY].to_numpy(), self._dtypes)
        return pd.DataFrame({**keys, **{v: part[v] for v in self._values}})

    def _days(self, key: np.ndarray) -> np.ndarray:
        """The day (its number) of packed keys; 0 without a ``Date`` key."""
        if self._day is None or self._codes is None:
            return np.zeros(len(key), dtype=np.int64)
        return self._codes.column(key, self._day)

    def _compact(self) -> None:
        if self._codes is None:
            if len(self._parts) > 1 or self._rows > self._compacted:
                merged = pd.concat(self._parts, ignore_index=True)
                merged = merged.groupby(self._keys, sort=False, as_index=False, observed=True)[
                    self._values
                ].sum()
                self._parts = [merged]
                self._rows = self._compacted = len(merged)
            return
        if not self._parts:
            return
        pending = pd.concat(self._parts, ignore_index=True)
        touched = [int(d) for d in pd.unique(self._days(pending[_KEY].to_numpy()))]
        done = [self._done.pop(d) for d in touched if d in self._done]
        merged = pd.concat([*done, pending], ignore_index=True)  # a key's sum before its rows
        merged = _sum_by_key(merged, self._values, first=_SEQ)
        days = self._days(merged[_KEY].to_numpy())
        order = _stable_order(days, self._codes.bits[self._day] if self._day is not None else 1)
        for rows in np.split(order, np.flatnonzero(np.diff(days[order])) + 1):
            if len(rows):
                self._done[int(days[rows[0]])] = merged.take(rows).reset_index(drop=True)
        self._parts = []
        self._compacted += len(merged) - sum(len(f) for f in done)
        self._rows = self._compacted

    def _in_order(self) -> pd.DataFrame:
        """The sums of every day, keys in order of first appearance."""
        days = sorted(self._done.values(), key=lambda f: f[_SEQ].iat[0])
        merged = pd.concat(days, ignore_index=True)
        seq = merged[_SEQ].to_numpy()
        if not (seq[1:] > seq[:-1]).all():  # the days' keys interleave: rows not in day order
            merged = merged.take(np.argsort(seq, kind="stable")).reset_index(drop=True)
        return merged

    def result(self, *, ordered: bool = True) -> pd.DataFrame:
        """One row per distinct key (in order of first appearance), with ``dtypes``.

        ``ordered=False``: the keys may come in another order (a span's, which its merge and
        the flows do not read): sums never re-aggregated and exact in any order are then taken
        over the grid of the key columns' numbers (:func:`~stockout_sk.ingest.sums._sum_by_cell`)
        where it is small, the keys in the order of their numbers.
        """
        if self._codes is not None and not self._done and self._parts:
            # Never re-aggregated: one sum of the parts, already in order of first appearance
            # (what re-aggregating, splitting by day and merging the days back would give).
            merged = pd.concat(self._parts, ignore_index=True)
            self._parts = []
            if not ordered and len(self._values) == 1:
                by_cell = self._by_cell(merged)
                if by_cell is not None:
                    return by_cell
            return self._unpacked(_sum_by_key(merged, self._values)).astype(self._dtypes)
        self._compact()
        if self._codes is None:
            if not self._parts:
                return _empty_frame(self._dtypes)
            return self._parts[0].astype(self._dtypes)
        if not self._done:
            return _empty_frame(self._dtypes)
        return self._unpacked(self._in_order()).astype(self._dtypes)
