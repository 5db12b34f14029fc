"""What a worker does with one span of ``stock_movement.csv`` (see :mod:`.ingest`).

A span is a range of whole records (:mod:`stockout_sk.ingest.spans`); what any reader of a span
does — the single-process scan on it, sales through ``ingest.tables``, the rows of days cut off
the history — is :mod:`stockout_sk.ingest.span_tasks`. Movements need one more step on a
cluster: a ``MovementID`` is kept in the first span that accepts it, so a span keeps its valid
rows until it learns which of its IDs an earlier span holds (only hashes travel). Line numbers
are the file's physical lines; a span's rejects travel back with its result and the client
appends them to the file's (a worker needs no access to the run's output folder).
"""

from __future__ import annotations

import numpy as np

from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.span_tasks import _Ids, _seen, _SpanResult
from stockout_sk.ingest.spans import _reject_apart, _span_scan, _Survey, _take_rejects
from stockout_sk.ingest.tables import _load_movements, _movement_hashes

__all__ = ["_earlier_ids", "_finish_movements", "_movement_span", "_span_ids"]


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
