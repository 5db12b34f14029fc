"""What a worker does with one span of a transaction file (see :mod:`.ingest`).

A span is a range of whole records (:mod:`stockout_sk.ingest.spans`). The worker runs the
single-process scan on it — :func:`~stockout_sk.ingest.spans._span_scan`, with the file's header
and date decisions — and the same ``ingest.tables`` functions a whole file goes through, so every
row is validated, typed and quarantined exactly as one process does. Line numbers are the file's
physical lines; a span's rejects go to a file of its own, which the client appends to the file's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stockout_sk.ingest.dedup import _SeenKeys
from stockout_sk.ingest.reader import _Span
from stockout_sk.ingest.scan import _Chunk, _FileScan
from stockout_sk.ingest.spans import _span_scan, _Survey
from stockout_sk.ingest.tables import (
    _DayCounts,
    _load_movements,
    _load_sales,
    _movement_hashes,
    _MovementStats,
    _requarantine,
)

#: A span's rejects before the client appends them: ``.<file>.<SPAN_REJECTS><n>`` next to the
#: file's rejects.
SPAN_REJECTS = "span"
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


def _rejects_path(scan: _FileScan, index: int, step: str = "") -> Path | None:
    if scan.rejects_path is None:
        return None
    return scan.rejects_path.with_name(f".{scan.schema.filename}.{SPAN_REJECTS}{step}{index:05d}")


def _sales_span(scan: _FileScan, survey: _Survey, index: int, min_rows: int) -> _SpanResult:
    """A sales span through ``tables._load_sales``."""
    part = _span_scan(scan, survey.span, _rejects_path(scan, index), survey.clean)
    daily, returns, days = _load_sales(part, min_rows)
    return _SpanResult(part, daily=daily, days=days, returns=returns)


def _movement_span(scan: _FileScan, survey: _Survey, index: int) -> _SpanResult:
    """A movements span validated; its valid rows kept until the duplicates are known (a span
    holds at most ``block_bytes`` of them)."""
    part = _span_scan(scan, survey.span, _rejects_path(scan, index), survey.clean)
    chunks = list(part.chunks())
    hashes = [_movement_hashes(chunk.typed) for chunk in chunks]
    result = _SpanResult(part, chunks=chunks)
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
    daily, stats = _load_movements(
        result.part, min_rows, chunks=iter(result.chunks), seen=_seen(earlier)
    )
    return _SpanResult(result.part, daily=daily, days=stats.days, stats=stats)


def _requarantine_span(
    scan: _FileScan,
    span: _Span,
    reasons: pd.Series,
    earlier: _Ids | None,
    index: int,
) -> _FileScan:
    """``tables._requarantine`` on one span: its accepted rows of the days cut off the history
    moved to the rejects (``earlier`` given for movements: the IDs kept before the span)."""
    part = _span_scan(scan, span, _rejects_path(scan, index, "cut"))
    _requarantine(part, reasons, movements=earlier is not None, seen=_seen(earlier))
    return part


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
