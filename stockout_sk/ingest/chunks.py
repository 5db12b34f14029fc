"""One chunk of a file's records → its valid rows: blank lines, repeated headers, validation.

A chunk is validated from its strings (:func:`_validated`): rows of empty fields are blank
lines, rows equal to the header are a concatenated export's, and every other row gets its
typed values or the first reason it is unusable (:func:`~stockout_sk.ingest.validate._validate`).

A reader that needs some columns only (``_FileScan.chunks(keep=...)``: the daily sums of the
sales and the movements) reads a clean block — every line one well-formed record — as those
columns' distinct values and each row's code (:func:`~stockout_sk.ingest.parse._read_distinct`):
a block of 100,000 sales holds a few dates, a few hundred IDs and quantities, each parsed and
judged once (:func:`_validated_values`). A key (``MovementID``: a value per row) is read as
text. A chunk in which a value would reject a row, or could make it blank or a repeated header,
is validated from its strings instead, exactly as any other; a row rejected later (a duplicate
``MovementID``) has its text read again from the block's bytes (:meth:`_Chunk.text`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stockout_sk.ingest.parse import _Distinct, _read_checked
from stockout_sk.ingest.records import _Parsed
from stockout_sk.ingest.validate import _validate, _Values

if TYPE_CHECKING:
    from stockout_sk.ingest.scan import _FileScan

HEADER_REPEATED = "header repeated"


@dataclass
class _Chunk:
    """Valid rows of one chunk: original strings, typed values, source line numbers.

    ``raw`` is ``None`` for a chunk of distinct values (:func:`_validated_values`): none of its
    rows was rejected, its text columns (but a key's) are categoricals, and :meth:`text` reads
    its rows' strings again from its ``block``'s bytes (rows ``rows`` of it) if they are needed.
    """

    raw: pd.DataFrame | None
    typed: pd.DataFrame
    lines: np.ndarray
    block: _Distinct | None = None
    rows: slice | None = None

    def text(self) -> pd.DataFrame:
        """The rows as strings, every column (``raw``, or read again from the block)."""
        if self.raw is not None:
            return self.raw
        assert self.block is not None
        assert self.rows is not None
        frame = _read_checked(self.block.payload, self.block.shape)
        return frame.iloc[self.rows].reset_index(drop=True)


def _validated(scan: _FileScan, raw: pd.DataFrame, lines: np.ndarray, *, record: bool) -> _Chunk:
    """A chunk of strings validated; with ``record``, counted and its bad rows rejected."""
    n = len(raw)
    raw = raw.set_axis(pd.RangeIndex(n))
    first = raw.iloc[:, 0].str.strip() if raw.shape[1] else pd.Series(dtype="str")
    blank = _blank(raw, first)
    if blank.any():
        raw, lines, first = raw[~blank].reset_index(drop=True), lines[~blank], first[~blank]
    columns = {c: _Values(raw[c]) for c in raw.columns}
    typed, reason, counts = _validate(
        columns, raw.index, scan.schema, scan.colmap, scan.latest_day, scan._parse_dates
    )
    repeated = _repeated_header(scan.header.fields, raw, first)
    if repeated.any():
        reason = np.full(len(raw), "", dtype=object) if reason is None else reason.copy()
        reason[repeated] = [f"{HEADER_REPEATED} at line {x}" for x in lines[repeated]]
    bad = np.zeros(len(raw), dtype=bool) if reason is None else reason != ""
    if record:
        repeats = [int(x) for x in lines[repeated]]
        scan._count_chunk(len(raw), int(blank.sum()), counts, repeats)
        if bad.any():
            scan.reject(raw[bad], lines[bad], reason[bad])
    return _Chunk(raw=raw[~bad], typed=typed[~bad], lines=lines[~bad])


def _blank(raw: pd.DataFrame, first: pd.Series) -> np.ndarray:
    """Rows of empty fields (``,,,,``): a blank line of a spreadsheet export, not a record."""
    if raw.shape[1] == 0 or len(raw) == 0:
        return np.zeros(len(raw), dtype=bool)
    blank = first.eq("").to_numpy(dtype=bool)
    for col in raw.columns[1:]:
        if not blank.any():
            break
        blank = blank & raw[col].str.strip().eq("").to_numpy(dtype=bool)
    return blank


def _repeated_header(fields: list[str], raw: pd.DataFrame, first: pd.Series) -> np.ndarray:
    """Rows equal to the header, field by field: a concatenated export."""
    if not len(raw) or len(fields) != raw.shape[1]:
        return np.zeros(len(raw), dtype=bool)
    same = first.eq(fields[0]).to_numpy(dtype=bool)
    for j in range(1, len(fields)):
        if not same.any():
            break
        same = same & raw.iloc[:, j].str.strip().eq(fields[j]).to_numpy(dtype=bool)
    return same


def _distinct_chunks(scan: _FileScan, parsed: _Parsed, *, record: bool) -> Iterator[_Chunk]:
    """The chunks of a block read as distinct values; a chunk that is not all valid rows is
    validated from the block's strings (:func:`_validated`)."""
    read = parsed.distinct
    assert read is not None
    frame = None
    for start in range(0, read.rows, scan.chunksize):
        stop = min(start + scan.chunksize, read.rows)
        lines = parsed.lines[start:stop]
        columns = {
            name: _chunk_values(codes, values, start, stop)
            for name, (codes, values) in read.columns.items()
        }
        chunk = _validated_values(scan, columns, lines, record=record)
        if chunk is not None:
            chunk.block, chunk.rows = read, slice(start, stop)
        else:
            if frame is None:
                frame = _read_checked(read.payload, read.shape)
            chunk = _validated(scan, frame.iloc[start:stop], lines, record=record)
        yield chunk


def _validated_values(
    scan: _FileScan, columns: dict[str, _Values], lines: np.ndarray, *, record: bool
) -> _Chunk | None:
    """A chunk of distinct values validated, or ``None`` if a row of it is to be rejected,
    or a value is empty or its column's header (a blank row or a repeated header: both are
    told from the rows' text)."""
    fields = dict(zip(scan.names, scan.header.fields, strict=False))
    for name, values in columns.items():
        if _holds(values.stripped, ["", fields.get(name)]):
            return None
    index = pd.RangeIndex(len(lines))
    typed, reason, counts = _validate(
        columns, index, scan.schema, scan.colmap, scan.latest_day, scan._parse_dates
    )
    if reason is not None:  # a row to reject
        return None
    if record:
        scan._count_chunk(len(lines), 0, counts, [])
    return _Chunk(raw=None, typed=typed, lines=lines)


def _holds(strings: pd.Series, values: list[str | None]) -> bool:
    """Whether one of ``strings`` (Arrow-backed) is one of ``values`` (``None`` stands for no
    value), compared by Arrow itself: a few distinct strings, where pandas' comparisons cost
    more than the work."""
    text = pa.array(strings)
    wanted = pa.array([v for v in values if v is not None], type=text.type)
    return bool(pc.any(pc.is_in(text, value_set=wanted)).as_py())


def _chunk_values(codes: np.ndarray | None, values: pd.Series, start: int, stop: int) -> _Values:
    """Rows ``[start, stop)`` of a block's column: its text (``codes`` None), or the distinct
    values those rows hold and their codes."""
    if codes is None:
        return _Values(values.iloc[start:stop].reset_index(drop=True))
    codes = codes[start:stop]
    present = np.bincount(codes, minlength=len(values)) > 0
    if present.all():
        return _Values(values, codes)
    renumbered = np.cumsum(present) - 1
    return _Values(values[present].reset_index(drop=True), renumbered[codes])
