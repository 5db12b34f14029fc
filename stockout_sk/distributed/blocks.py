"""What a worker does with one block of a transaction file (see :mod:`.ingest`).

A block is a range of whole lines after the header. The single-process scan of
:mod:`stockout_sk.ingest` runs on its bytes (the header line put in front), so every row is
validated, typed and quarantined exactly as one process does; its line numbers count from the
block's start and are shifted when its rejects join the file's.
"""

from __future__ import annotations

import io
import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stockout_sk.contract import DATE, TRANSFER_COLUMNS
from stockout_sk.dates import DayfirstEvidence, dayfirst_evidence
from stockout_sk.ingest.aggregate import (
    _FROM_BRANCH_ID,
    _QUANTITY_MOVED,
    _TO_BRANCH_ID,
    _TRANSFER_DTYPES,
    _TRANSFER_KEYS,
    _Aggregator,
)
from stockout_sk.ingest.dedup import _SeenKeys
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.tables import _load_sales, _MovementStats
from stockout_sk.schemas import FileSchema

#: Rows per chunk a block's scan reads.
CHUNKSIZE = 100_000


@dataclass(frozen=True)
class _Block:
    """Bytes ``[start, end)`` of a file, after its header line (``header`` bytes, BOM kept)."""

    schema: FileSchema
    path: str
    header: bytes
    start: int
    end: int
    index: int

    def buffer(self) -> io.BytesIO:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            body = f.read(self.end - self.start)
        return io.BytesIO(self.header + body)


def _blocks(schema: FileSchema, path: Path, block_bytes: int) -> list[_Block]:
    """The file cut into blocks of whole lines, after its header line."""
    size = path.stat().st_size
    with path.open("rb") as f:
        header = f.readline()
        cuts = [len(header)]
        while cuts[-1] < size:
            f.seek(min(cuts[-1] + block_bytes, size))
            if f.tell() < size:
                f.readline()  # to the end of the line the cut fell in
            cuts.append(min(f.tell(), size))
    return [
        _Block(schema, str(path), header, lo, hi, i)
        for i, (lo, hi) in enumerate(itertools.pairwise(cuts))
        if hi > lo
    ] or [_Block(schema, str(path), header, len(header), len(header), 0)]


def _block_scan(block: _Block, names: list[str], colmap: dict, rejects: Path | None) -> _FileScan:
    """The single-process scan of ``block``'s bytes, its rejects to a file of its own."""
    scan = _FileScan(block.schema, Path(block.path).parent, None, CHUNKSIZE)
    scan.path = block.buffer()
    scan.names, scan.colmap = list(names), dict(colmap)
    scan.report.columns = list(names)
    scan.rejects_path = rejects
    return scan


@dataclass
class _Survey:
    """What a first read of a block says: its lines and its date evidence."""

    lines: int
    evidence: dict[str, DayfirstEvidence] = field(default_factory=dict)


def _survey(block: _Block, names: list[str], colmap: dict) -> _Survey:
    buffer = block.buffer()
    lines = buffer.getvalue().count(b"\n") - 1  # the header's own line break
    if not buffer.getvalue().endswith(b"\n") and block.end > block.start:
        lines += 1
    scan = _block_scan(block, names, colmap, None)
    present = [c for c in block.schema.date_columns if c in colmap]
    evidence = {c: DayfirstEvidence() for c in present}
    if present:
        positions = sorted(names.index(colmap[c]) for c in present)
        for chunk in scan._iter_raw(usecols=positions):
            chunk.columns = [names[p] for p in positions]
            for c in present:
                evidence[c] = evidence[c] + dayfirst_evidence(chunk[colmap[c]])
    return _Survey(lines=lines, evidence=evidence)


@dataclass(eq=False)
class _BlockResult:
    """One block after validation: its scan (counts), daily totals and movement state."""

    scan: _FileScan
    first_line: int = 2
    daily: pd.DataFrame | None = None
    returns: int = 0
    chunks: list = field(default_factory=list)
    keys: np.ndarray | None = None
    content: np.ndarray | None = None
    stats: _MovementStats = field(default_factory=_MovementStats)


def _prepared_scan(block, names, colmap, dayfirst, dates, first_line, rejects_dir):
    rejects = None
    if rejects_dir is not None:
        rejects = Path(rejects_dir) / f".{block.schema.filename}.block{block.index:05d}"
    scan = _block_scan(block, names, colmap, rejects)
    scan.dayfirst = dict(dayfirst)
    scan.report.dates = {c: {**info, "formats": Counter()} for c, info in dates.items()}
    return scan


def _sales_block(block, names, colmap, dayfirst, dates, first_line, rejects_dir) -> _BlockResult:
    scan = _prepared_scan(block, names, colmap, dayfirst, dates, first_line, rejects_dir)
    daily, returns = _load_sales(scan, 4 * CHUNKSIZE)
    scan.path = None
    return _BlockResult(scan=scan, first_line=first_line, daily=daily, returns=returns)


def _movement_block(block, names, colmap, dayfirst, dates, first_line, rejects_dir) -> _BlockResult:
    """Validate a movements block; keep its valid rows until the cross-block duplicates are
    known (a block holds at most ``BLOCK_BYTES`` of them)."""
    scan = _prepared_scan(block, names, colmap, dayfirst, dates, first_line, rejects_dir)
    chunks = list(scan.chunks())
    scan.path = None
    keys, content = [], []
    for chunk in chunks:
        keys.append(pd.util.hash_array(chunk.typed["MovementID"].to_numpy(dtype=object)))
        content.append(
            pd.util.hash_pandas_object(chunk.typed[list(TRANSFER_COLUMNS)], index=False).to_numpy()
        )
    result = _BlockResult(scan=scan, first_line=first_line, chunks=chunks)
    result.keys = np.concatenate(keys) if keys else np.empty(0, np.uint64)
    result.content = np.concatenate(content) if content else np.empty(0, np.uint64)
    return result


def _block_ids(result: _BlockResult) -> tuple[np.ndarray, np.ndarray]:
    return result.keys, result.content


def _finish_movements(result: _BlockResult, earlier: tuple[np.ndarray, np.ndarray]) -> _BlockResult:
    """Reject copies of IDs kept by earlier blocks (and within the block), sum the rest daily:
    the loop of ``ingest.tables._load_movements``, with the earlier blocks' IDs already seen."""
    seen = _SeenKeys()
    if len(earlier[0]):
        seen.mark(*earlier)
    scan, stats = result.scan, result.stats
    acc = _Aggregator(_TRANSFER_KEYS, [_QUANTITY_MOVED], _TRANSFER_DTYPES, 4 * CHUNKSIZE)
    offset = 0
    for chunk in result.chunks:
        n = len(chunk.typed)
        keys, content = result.keys[offset : offset + n], result.content[offset : offset + n]
        offset += n
        duplicate, conflicting = seen.mark(keys, content)
        stats.conflicting_duplicates += conflicting
        t = chunk.typed
        if duplicate.any():
            scan.reject(chunk.raw[duplicate], chunk.lines[duplicate], "duplicate MovementID")
            scan.report.duplicates += int(duplicate.sum())
            t = t[~duplicate]
        scan.accept(len(t))
        stats.self_transfers += int((t[_FROM_BRANCH_ID] == t[_TO_BRANCH_ID]).sum())
        acc.add(
            t.assign(**{DATE: t[DATE].dt.normalize()})
            .groupby(_TRANSFER_KEYS, sort=False, as_index=False)[_QUANTITY_MOVED]
            .sum()
        )
    result.daily, result.chunks = acc.result(), []
    return result


def _earlier_ids(ids: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each block, the IDs (and content) a lower block holds first; only duplicates travel."""
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
