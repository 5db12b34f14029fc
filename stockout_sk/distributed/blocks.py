"""What a worker does with one span of a transaction file (see :mod:`.ingest`).

A span is a range of whole records (:mod:`stockout_sk.ingest.spans`). The worker runs the
single-process scan on it — :func:`~stockout_sk.ingest.spans._span_scan`, with the file's header
and date decisions — and the same ``ingest.tables`` functions a whole file goes through, so every
row is validated, typed and quarantined exactly as one process does. Line numbers are the file's
physical lines; a span's rejects travel back with its result and the client appends them to the
file's (a worker needs no access to the run's output folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stockout_sk.ingest.dedup import _SeenKeys
from stockout_sk.ingest.reader import _Span
from stockout_sk.ingest.scan import _Chunk, _FileScan
from stockout_sk.ingest.spans import _reject_apart, _span_scan, _Survey, _take_rejects
from stockout_sk.ingest.tables import (
    _DayCounts,
    _load_movements,
    _load_sales,
    _movement_hashes,
    _MovementStats,
    _requarantine,
)

_Ids = tuple[np.ndarray, np.ndarray]


@dataclass(eq=False)
class _SpanResult:
    """One span after validation: its scan (counts, line events), daily sums, rows per day.

    Movements first keep their valid rows (``chunks``, with the hashes of their IDs) until the
    IDs kept by earlier spans are known (:func:`_finish_movements`).
    """

    part: _FileScan
    daily: pd.DataFrame | None = None
    days: _DayCounts = field(default_factory=_DayCounts)
    returns: int = 0
    stats: _MovementStats = field(default_factory=_MovementStats)
    chunks: list[_Chunk] = field(default_factory=list)
    ids: _Ids = (np.empty(0, np.uint64), np.empty(0, np.uint64))
    rejects: bytes | None = None  # the rows it rejected (None: the run keeps no rejects)


def _sales_span(scan: _FileScan, survey: _Survey, min_rows: int) -> _SpanResult:
    """A sales span through ``tables._load_sales``."""
    part = _span_scan(scan, survey.span, survey.clean, rejects=True)
    daily, returns, days = _load_sales(part, min_rows)
    return _SpanResult(part, daily=daily, days=days, returns=returns, rejects=_take_rejects(part))


def _movement_span(scan: _FileScan, survey: _Survey) -> _SpanResult:
    """A movements span validated; its valid rows kept until the duplicates are known (a span
    holds at most ``block_bytes`` of them)."""
    part = _span_scan(scan, survey.span, survey.clean, rejects=True)
    chunks = list(part.chunks())
    rejects = _take_rejects(part)  # the next step may run on another worker
    hashes = [_movement_hashes(chunk.typed) for chunk in chunks]
    result = _SpanResult(part, chunks=chunks, rejects=rejects)
    if hashes:
        result.ids = (
            np.concatenate([k for k, _ in hashes]),
            np.concatenate([c for _, c in hashes]),
        )
    return result


def _span_ids(result: _SpanResult) -> _Ids:
    return result.ids


def _seen(earlier: _Ids | None) -> _SeenKeys:
    seen = _SeenKeys()
    if earlier is not None and len(earlier[0]):
        seen.mark(*earlier)
    return seen


def _finish_movements(result: _SpanResult, earlier: _Ids, min_rows: int) -> _SpanResult:
    """``tables._load_movements`` on the span's rows, the IDs kept by earlier spans already seen:
    their copies here are rejected as duplicates, the rest summed daily."""
    part, rejects = result.part, result.rejects
    if rejects is not None:
        _reject_apart(part)
    daily, stats = _load_movements(part, min_rows, chunks=iter(result.chunks), seen=_seen(earlier))
    if rejects is not None:
        rejects += _take_rejects(part) or b""  # the invalid rows, then the duplicates
    return _SpanResult(part, daily=daily, days=stats.days, stats=stats, rejects=rejects)


def _requarantine_span(
    scan: _FileScan, span: _Span, reasons: pd.Series, earlier: _Ids | None
) -> _SpanResult:
    """``tables._requarantine`` on one span: its accepted rows of the days cut off the history
    moved to the rejects (``earlier`` given for movements: the IDs kept before the span)."""
    part = _span_scan(scan, span, rejects=True)
    _requarantine(part, reasons, movements=earlier is not None, seen=_seen(earlier))
    return _SpanResult(part, rejects=_take_rejects(part))


def _earlier_ids(ids: list[_Ids]) -> list[_Ids]:
    """For each span, the IDs (and content) a lower span holds first; only duplicates travel."""
    if not ids:
        return []
    keys = np.concatenate([k for k, _ in ids])
    content = np.concatenate([c for _, c in ids])
    block = np.repeat(np.arange(len(ids)), [len(k) for k, _ in ids])
    order = np.lexsort((np.arange(len(keys)), keys))  # by key, then file position
    k_sorted = keys[order]
    first = np.r_[True, k_sorted[1:] != k_sorted[:-1]]
    owner = order[first][np.cumsum(first) - 1]  # the first occurrence of each row's key
    later = block[order] != block[owner]
    out = []
    for b in range(len(ids)):
        rows = later & (block[order] == b)
        taken = owner[rows]
        unique, at = np.unique(keys[taken], return_index=True)
        out.append((unique, content[taken][at]))
    return out
