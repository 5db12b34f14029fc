"""What one reader of a span does, and how the file's scan adds the spans up.

A span is a range of whole records of a transaction file (:mod:`~stockout_sk.ingest.spans`).
Whoever reads it — a worker of a Dask cluster (:mod:`stockout_sk.distributed.ingest`) or a
process of this machine (:mod:`~stockout_sk.ingest.parallel`) — runs the single-process scan on
it with the file's header and date decisions, and the same ``ingest.tables`` functions a whole
file goes through: every row is validated, typed and quarantined exactly as one process does.
Line numbers are the file's physical lines; a span's rejects travel back with its result, and
the file's scan appends them in file order (:class:`_SpanMerger`).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stockout_sk.contract import DATE
from stockout_sk.ingest.aggregate import _DT, _SEQ, _Aggregator, _empty_frame, _KeyCodes
from stockout_sk.ingest.dedup import _SeenKeys
from stockout_sk.ingest.reader import _Span
from stockout_sk.ingest.scan import _Chunk, _DatesPendingError, _FileScan
from stockout_sk.ingest.spans import _absorb, _span_scan, _take_rejects
from stockout_sk.ingest.sums import _KEY, _KEY_BITS, _sum_by_key
from stockout_sk.ingest.tables import _DayCounts, _load_sales, _MovementStats, _requarantine

logger = logging.getLogger(__name__)

#: The hashes of the ``MovementID`` of rows, and of their content (``tables._movement_hashes``).
_Ids = tuple[np.ndarray, np.ndarray]


@dataclass(eq=False)
class _SpanResult:
    """One span after validation: its scan (counts, line events), daily sums, rows per day.

    Movements on a cluster first keep their valid rows (``chunks``, with the hashes of their
    IDs) until the IDs kept by earlier spans are known.
    """

    part: _FileScan
    daily: pd.DataFrame | None = None
    days: _DayCounts = field(default_factory=_DayCounts)
    returns: int = 0
    stats: _MovementStats = field(default_factory=_MovementStats)
    chunks: list[_Chunk] = field(default_factory=list)
    ids: _Ids = (np.empty(0, np.uint64), np.empty(0, np.uint64))
    rejects: bytes | None = None  # the rows it rejected (None: the run keeps no rejects)


def _sales_span(
    scan: _FileScan, span: _Span, min_rows: int, clean: dict[int, int] | None = None
) -> _SpanResult | None:
    """A sales span through ``tables._load_sales`` (``clean``: its blocks a survey found clean);
    ``None`` if it met a date whose day/month order the file's scan has yet to decide."""
    part = _span_scan(scan, span, clean, rejects=True)
    try:
        # Its keys in any order: the merge sums them span by span (:class:`_SpanSums`).
        daily, returns, days = _load_sales(part, min_rows, ordered=False)
    except _DatesPendingError:
        _take_rejects(part)  # removes the span's temporary file
        return None
    return _SpanResult(part, daily=daily, days=days, returns=returns, rejects=_take_rejects(part))


def _seen(earlier: _Ids | None) -> _SeenKeys:
    """The ``MovementID``s kept before a span, as the scan of its rows needs them."""
    seen = _SeenKeys()
    if earlier is not None and len(earlier[0]):
        seen.mark(*earlier)
    return seen


def _requarantine_span(
    scan: _FileScan, span: _Span, reasons: pd.Series, earlier: _Ids | None
) -> _SpanResult:
    """``tables._requarantine`` on one span: its accepted rows of the days cut off the history
    moved to the rejects (``earlier`` given for movements: the IDs kept before the span)."""
    part = _span_scan(scan, span, rejects=True)
    _requarantine(part, reasons, movements=earlier is not None, seen=_seen(earlier))
    return _SpanResult(part, rejects=_take_rejects(part))


class _SpanMerger:
    """The spans' scans added to the file's and their daily totals summed (:class:`_SpanSums`),
    span by span in file order."""

    def __init__(self, scan: _FileScan, keys: list[str], value: str, dtypes: dict[str, str]):
        self.scan = scan
        self.days = _DayCounts()
        self.returns = 0
        self._sums = _SpanSums(keys, value, dtypes)

    def add(self, result: _SpanResult) -> None:
        _absorb(self.scan, result.part, result.rejects)
        self.days.update(result.days)
        self.returns += result.returns
        if result.daily is not None:
            self._sums.add(result.daily)

    def result(self) -> pd.DataFrame:
        return self._sums.result()


class _SpanSums:
    """Daily totals of consecutive spans summed: what one process's
    :class:`~stockout_sk.ingest.aggregate._Aggregator` gives for the whole file, the keys in
    the order the spans give them (a span's own, span by span).

    A span's totals are sums already, one row per key. Only the days more than one span holds
    can hold a key twice: their rows are summed once, at the end, in file order (a key's first
    span's position kept); every other row is its key's sum as it came (summing one sum again
    leaves it as it is). A file in date order shares a day or so per cut, so the rest — nearly
    every row — is not hashed a second time.
    """

    def __init__(
        self, keys: list[str], value: str, dtypes: dict[str, str], key_bits: int = _KEY_BITS
    ):
        self._keys, self._value, self._dtypes, self._key_bits = keys, value, dtypes, key_bits
        self._codes = _KeyCodes(keys)
        self._day = keys.index(DATE)
        self._numbers: list[list[np.ndarray]] = []  # per span: each key column's numbers
        self._sums: list[np.ndarray] = []  # per span: the values
        self._spans_per_day = np.zeros(0, dtype=np.int32)  # by the day's number

    def add(self, daily: pd.DataFrame) -> None:
        """Add the next span's totals (one row per key)."""
        if not len(daily):
            return
        numbers, complete = self._codes.number([daily[c] for c in self._keys])
        sums = daily[self._value].to_numpy(dtype=np.float64, copy=True)  # a shared day's change
        if not complete.all():  # grouping drops a missing key, as one process's does
            numbers, sums = [n[complete] for n in numbers], sums[complete]
        present = np.bincount(numbers[self._day]) > 0
        if len(present) > len(self._spans_per_day):
            grown = np.zeros(len(present), dtype=np.int32)
            grown[: len(self._spans_per_day)] = self._spans_per_day
            self._spans_per_day = grown
        self._spans_per_day[: len(present)] += present
        self._numbers.append(numbers)
        self._sums.append(sums)

    def result(self) -> pd.DataFrame:
        """One row per distinct key, in order of first appearance, with ``dtypes``.

        A key of a shared day keeps its first row, which takes the key's sum; its later rows
        go. Every other row stays where it is: no key is packed, no row reordered, and the
        spans' rows are written once, straight into the result's columns.
        """
        if not self._sums:
            return _empty_frame(self._dtypes)
        spans = list(zip(self._numbers, self._sums, strict=True))
        self._numbers, self._sums = [], []
        keeps = [self._spans_per_day[numbers[self._day]] <= 1 for numbers, _ in spans]
        if not all(keep.all() for keep in keeps):
            if self._codes.widen(self._key_bits) is False:  # too wide to pack: by the columns
                numbers = [np.concatenate(n) for n in zip(*(n for n, _ in spans), strict=True)]
                return self._by_columns(numbers, np.concatenate([s for _, s in spans]))
            self._sum_shared(spans, keeps)
        n = sum(int(np.count_nonzero(keep)) for keep in keeps)
        columns = [np.empty(n, dtype=np.int32) for _ in self._keys]
        sums = np.empty(n, dtype=np.float64)
        at = 0
        for (numbers, span_sums), keep in zip(spans, keeps, strict=True):
            m = int(np.count_nonzero(keep))
            for column, out in zip(numbers, columns, strict=True):
                np.compress(keep, column, out=out[at : at + m])
            np.compress(keep, span_sums, out=sums[at : at + m])
            at += m
        del spans
        out = self._codes.columns(columns, self._dtypes)
        out[self._value] = sums
        return pd.DataFrame(out, copy=False).astype(self._dtypes)

    def _sum_shared(
        self, spans: list[tuple[list[np.ndarray], np.ndarray]], keeps: list[np.ndarray]
    ) -> None:
        """The rows of the days several spans hold summed per key in file order: a key's first
        row takes its sum and stays, its later rows go (``keeps`` and the spans' sums updated
        in place)."""
        offsets = np.cumsum([0, *(len(sums) for _, sums in spans)])
        shared = [np.flatnonzero(~keep) for keep in keeps]
        summed = _sum_by_key(
            pd.DataFrame(
                {
                    _KEY: np.concatenate(
                        [
                            self._codes.pack([column[rows] for column in numbers])
                            for (numbers, _), rows in zip(spans, shared, strict=True)
                        ]
                    ),
                    self._value: np.concatenate(
                        [sums[rows] for (_, sums), rows in zip(spans, shared, strict=True)]
                    ),
                    _SEQ: np.concatenate(
                        [rows + at for rows, at in zip(shared, offsets[:-1], strict=True)]
                    ),
                }
            ),
            [self._value],
            first=_SEQ,
        )
        first, total = summed[_SEQ].to_numpy(), summed[self._value].to_numpy()
        span_of = np.searchsorted(offsets, first, side="right") - 1
        for j, ((_, sums), keep) in enumerate(zip(spans, keeps, strict=True)):
            mine = span_of == j
            rows = first[mine] - offsets[j]
            keep[rows] = True
            sums[rows] = total[mine]

    def _by_columns(self, numbers: list[np.ndarray], sums: np.ndarray) -> pd.DataFrame:
        """:meth:`result` for keys too wide to pack: the aggregator sums them by the columns."""
        columns = {
            c: np.asarray(v, dtype=np.int64 if stamps else object)[n]
            for c, v, n, stamps in zip(
                self._keys, self._codes._values, numbers, self._codes._stamps, strict=True
            )
        }
        columns[DATE] = columns[DATE].view(_DT)
        acc = _Aggregator(self._keys, [self._value], self._dtypes, sys.maxsize, self._key_bits)
        acc.add(pd.DataFrame({**columns, self._value: sums}))
        return acc.result()
