"""A file read in spans: byte ranges read apart whose scans add up to the scan of the whole file.

What reading one large file on many workers with the single-process scanner takes
(:mod:`stockout_sk.distributed.ingest` does the scheduling):

1. :func:`_cuts` — cut points at line ends about ``block_bytes`` apart (in the file's encoding:
   a UTF-16 line feed is two bytes), and :func:`_count_lines` — the physical lines between
   them, so that every span knows the number of its first line;
2. :func:`_survey` — one span read from a record's start: the date evidence of its records and
   where its last record ends. A record is one line unless a quoted field holds a line break;
   a span ending inside such a record leaves the record to the next span, which then starts
   before its cut (:attr:`_Survey.end`). :func:`_plan` surveys every span from its cut at
   once, and again from the right start the few spans whose cut fell inside a record;
3. :func:`_span_scan` — a scan of one span with the file's header and date decisions, read by
   the same ``tables`` functions as a whole file, its rejects kept apart (:func:`_take_rejects`);
4. :func:`_absorb` — a span's counts, line events and rejects added to the file's scan.

A record is decided from its own lines only (at most
:data:`~stockout_sk.ingest.records.MAX_RECORD_LINES`), so spans that start on record boundaries
give the records, rejects and counts one read of the whole file gives. Line numbers are the
file's physical lines throughout: the rejects of a span need no shifting.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from stockout_sk.dates import DayfirstEvidence
from stockout_sk.ingest.encoding import _Encoding
from stockout_sk.ingest.reader import _Span
from stockout_sk.ingest.scan import _FileScan

#: Bytes read at a time when counting or looking for a line end (a multiple of 4: UTF-32).
_READ_BYTES = 1 << 22
#: Bytes of a file mapped at a time when counting one-byte line feeds (:func:`_count_byte`).
_COUNT_WINDOW = 1 << 24


def _newline(encoding: _Encoding) -> bytes:
    """A line feed in the file's encoding, without the byte-order mark an encoder writes.

    >>> _newline(_Encoding("utf-8")), _newline(_Encoding("utf-16-le"))
    (b'\\n', b'\\n\\x00')
    """
    one = len("\n".encode(encoding.codec))
    return "\n\n".encode(encoding.codec)[one:]


def _find(data: bytes, unit: bytes, pos: int = 0) -> int:
    """The first ``unit`` in ``data`` at or after ``pos`` on a code-unit boundary, or -1."""
    at = data.find(unit, pos)
    while at >= 0 and at % len(unit):
        at = data.find(unit, at + 1)
    return at


def _line_end(f: BinaryIO, pos: int, lines: int, unit: bytes, origin: int, size: int) -> int:
    """The offset after the ``lines``-th line feed at or after ``pos`` (``size``: none)."""
    pos += -(pos - origin) % len(unit)  # on a code-unit boundary
    f.seek(pos)
    while pos < size and (data := f.read(_READ_BYTES)):
        at = -len(unit)
        while lines and (at := _find(data, unit, at + len(unit))) >= 0:
            lines -= 1
        if not lines:
            return pos + at + len(unit)
        pos += len(data)
    return size


def _cuts(scan: _FileScan, block_bytes: int) -> list[int]:
    """Where the spans of ``scan``'s file start: after the header, then after the first line
    end ``block_bytes`` further on each time; the file's size last."""
    encoding = scan.header.encoding
    unit = _newline(encoding)
    size = os.path.getsize(scan.path)
    with open(scan.path, "rb") as f:
        cuts = [_line_end(f, encoding.skip, scan.header.lines, unit, encoding.skip, size)]
        while cuts[-1] < size:
            target = cuts[-1] + max(block_bytes, 1) - 1
            cuts.append(_line_end(f, target, 1, unit, encoding.skip, size))
    return cuts if len(cuts) > 1 else [*cuts, size]


def _count_lines(path: str | Path, encoding: _Encoding, start: int, stop: int) -> int:
    """Line feeds in bytes ``[start, stop)`` of a file (``start`` on a code-unit boundary)."""
    unit = _newline(encoding)
    if len(unit) == 1:
        return _count_byte(path, unit[0], start, stop)
    pattern = np.frombuffer(unit, dtype=np.uint8)
    n = 0
    with open(path, "rb") as f:
        f.seek(start)
        while start < stop and (data := f.read(min(_READ_BYTES, stop - start))):
            start += len(data)
            if len(unit) == 1:
                n += data.count(unit)
            else:
                whole = len(data) // len(unit) * len(unit)
                units = np.frombuffer(data[:whole], dtype=np.uint8).reshape(-1, len(unit))
                n += int((units == pattern).all(axis=1).sum())
    return n


def _count_byte(path: str | Path, byte: int, start: int, stop: int) -> int:
    """Bytes equal to ``byte`` in ``[start, stop)`` of a file, counted where the file is mapped,
    a window at a time: no copy of the bytes is made (reading them into Python took twice as
    long as counting them, measured on 32 MiB spans)."""
    n = 0
    stop = min(stop, os.path.getsize(path))
    with open(path, "rb") as f:
        while start < stop:
            origin = start - start % mmap.ALLOCATIONGRANULARITY  # where a map may begin
            length = min(_COUNT_WINDOW, stop - origin)
            with mmap.mmap(f.fileno(), length, offset=origin, access=mmap.ACCESS_READ) as window:
                view = np.frombuffer(window, dtype=np.uint8)
                n += int(np.count_nonzero(view[start - origin :] == byte))
                del view  # released before the window is unmapped
            start = origin + length
    return n


def _span_scan(
    scan: _FileScan, span: _Span, clean: dict[int, int] | None = None, *, rejects: bool = False
) -> _FileScan:
    """A scan of ``span`` with ``scan``'s header and date decisions, its counts its own.

    While ``scan``'s day/month order waits for a slashed day-month-year date, so does the span's:
    meeting one raises :class:`~stockout_sk.ingest.scan._DatesPendingError`.

    With ``rejects`` (and a rejects file for ``scan``), its rejects go to a temporary file of
    the machine that reads the span, until :func:`_take_rejects`: a worker needs no access to
    the folder the client writes to.
    """
    part = _FileScan(
        scan.schema, scan.path.parent, None, scan.chunksize, scan.csv_format, scan.latest_day
    )
    part.header, part.names, part.colmap = scan.header, scan.names, scan.colmap
    part.dayfirst = dict(scan.dayfirst)
    part._pending_dates = list(scan._pending_dates)  # met in the span: _DatesPendingError
    part._valid_utf8 = scan._valid_utf8
    if rejects and scan.rejects_path is not None:
        _reject_apart(part)
    part.span = span
    part._clean_blocks = dict(clean or {})
    return part


def _reject_apart(part: _FileScan) -> None:
    """Send ``part``'s rejects to a new temporary file of this machine."""
    handle, name = tempfile.mkstemp(prefix=f"{part.schema.name}.", suffix=".rejects.csv")
    os.close(handle)
    part.rejects_path = Path(name)


def _take_rejects(part: _FileScan) -> bytes | None:
    """The rows a span's scan rejected so far (CSV lines, no header), its temporary file
    removed; ``None`` when it keeps no rejects."""
    if part.rejects_path is None:
        return None
    data = part.rejects_path.read_bytes()
    part.rejects_path.unlink()
    part.rejects_path = None
    return data


@dataclass(frozen=True)
class _Survey:
    """A first read of one span: its date evidence, its last line, where the next span starts.

    Attributes
    ----------
    span : _Span
    evidence : dict of str to DayfirstEvidence
    last_line : int
        The last physical line of the span's records.
    end : int
        The file offset after them: the next span's start.
    clean : dict of int to int
        The reader's blocks found clean (handed to the next read of the same span).
    """

    span: _Span
    evidence: dict[str, DayfirstEvidence]
    last_line: int
    end: int
    clean: dict[int, int] = field(default_factory=dict)


def _survey(scan: _FileScan, span: _Span) -> _Survey:
    """Read ``span``'s date columns: the evidence, and where its records end."""
    part = _span_scan(scan, span)
    evidence = part.date_evidence()
    if part.consumed is None:  # no date column: the records are counted all the same
        for _ in part._parsed(usecols=[0]):
            pass
    assert part.consumed is not None
    last_line, end = part.consumed
    return _Survey(span, evidence, last_line, end, part._clean_blocks)


def _spans_between(scan: _FileScan, cuts: list[int], lines: list[int]) -> list[_Span]:
    """The spans between consecutive ``cuts``, each on the physical line its cut starts, from
    the line feeds between them (:func:`_count_lines`): a cut is taken for a record's start."""
    first = np.cumsum([scan.header.lines + 1, *lines[:-1]])
    return [_Span(a, b, int(n)) for a, b, n in zip(cuts[:-1], cuts[1:], first, strict=True)]


def _plan(
    scan: _FileScan,
    cuts: list[int],
    lines: list[int],
    survey: Callable[[list[_Span]], list[_Survey]],
) -> list[_Survey]:
    """The spans of a file, each starting where the records of the one before end.

    Parameters
    ----------
    scan : _FileScan
        The file's scan, header read.
    cuts : list of int
        :func:`_cuts`.
    lines : list of int
        Line feeds between consecutive cuts (:func:`_count_lines`).
    survey : callable
        Surveys a list of spans (:func:`_survey` on each), in order: on a cluster, at once.

    Returns
    -------
    list of _Survey
        One per cut, in file order; together they cover the file's records exactly once.
    """
    spans = _spans_between(scan, cuts, lines)
    out = []
    start, line = spans[0].start, spans[0].first_line
    for span, found in zip(spans, survey(spans), strict=True):
        if (found.span.start, found.span.first_line) != (start, line):
            # The cut fell inside a record begun before it: read from that record's start.
            found = survey([_Span(start, span.stop, line)])[0]
        out.append(found)
        start, line = found.end, found.last_line + 1
    return out


def _absorb(scan: _FileScan, part: _FileScan, rejects: bytes | None = None) -> None:
    """Add the counts, line events and rejects (:func:`_take_rejects`) of a span's scan to the
    file's scan."""
    rep, got = scan.report, part.report
    rep.read += got.read
    rep.accepted += got.accepted
    rep.rejected += got.rejected
    rep.duplicates += got.duplicates
    rep.blank_lines += got.blank_lines
    rep.lines = max(rep.lines, got.lines)
    reasons = Counter(rep.reasons)
    reasons.update(got.reasons)
    rep.reasons = dict(reasons)
    scan._counts.update(part._counts)
    events, more = scan.events, part.events
    events.unbalanced += more.unbalanced
    events.multiline += more.multiline
    events.undecodable += more.undecodable
    events.header_repeats += more.header_repeats
    events.extra_lines += more.extra_lines
    if rejects and scan.rejects_path is not None:
        with scan.rejects_path.open("ab") as out:
            out.write(rejects)
