"""One file, chunk by chunk: date evidence, validation, quarantine, reconciliation counts.

:class:`_FileScan` types every chunk of a file with one day-first or month-first decision per
date column, taken from the evidence of the *whole* column
(:func:`stockout_sk.dates.dayfirst_evidence`), and hands the valid rows on (validation itself:
:mod:`~stockout_sk.ingest.validate`). The evidence is read by a first pass over the date columns
only — up front, or, when that pass cannot fail, only once the main pass meets the first slashed
day-month-year date (the one kind of date the decision changes): a file without any is read
once. Every record is accepted or rejected with a
reason; lines that cannot be split into the header's columns (the wrong number of fields, an
unbalanced quote, bytes that do not decode) are rejected by the reader
(:mod:`~stockout_sk.ingest.records`) with their text, a header repeated mid-file is rejected
as such, and blank lines are only counted.

Line numbers in the rejects files are the physical lines of the file (1-based, the header on
line 1), also after quoted fields holding line breaks.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from stockout_sk.config import CsvFormat
from stockout_sk.dates import (
    DEFAULT_DAYFIRST,
    DateParseResult,
    DayfirstEvidence,
    dayfirst_evidence,
    parse_dates,
)
from stockout_sk.ingest.chunks import _Chunk, _distinct_chunks, _validated
from stockout_sk.ingest.encoding import _all_utf8
from stockout_sk.ingest.header import _Header, _read_header
from stockout_sk.ingest.reader import _read_ahead, _Reader, _Span
from stockout_sk.ingest.records import _Parsed, _Shape
from stockout_sk.ingest.report import (
    REJECT_LINE_COLUMN,
    REJECT_RAW_COLUMN,
    REJECT_REASON_COLUMN,
    FileReport,
    Finding,
)
from stockout_sk.ingest.scan_findings import _line_findings, _LineEvents
from stockout_sk.ingest.validate import _reasonless
from stockout_sk.schemas import FileSchema

logger = logging.getLogger(__name__)

_PROGRESS_EVERY_CHUNKS = 10
#: Blocks are sized to hold about ``chunksize`` lines, within these bounds (bytes).
_MIN_BLOCK, _MAX_BLOCK = 1 << 16, 1 << 26


class _DatesPendingError(Exception):
    """A span met a slashed day-month-year date while its file's day/month order waits: the
    order is decided from the whole file's evidence, which one span cannot read."""


class _FileScan:
    """Reads one file: header check, date evidence, chunks, validation, rejects, counts.

    Parameters
    ----------
    schema : FileSchema
    data_dir : Path
    rejects_dir : Path or None
    chunksize : int
    csv_format : CsvFormat, optional
        Encoding and delimiter asked for by the run (``None`` fields are detected).
    latest_day : pandas.Timestamp, optional
        The last calendar day a past date (:attr:`FileSchema.past_dates`) may fall on; later
        rows are quarantined.

    Attributes
    ----------
    span : _Span or None
        Read only this span of the file (:mod:`~stockout_sk.ingest.spans`); ``None``: all of it.
    consumed : tuple of (int, int) or None
        After a read: the last physical line read and the file offset after it.
    """

    def __init__(
        self,
        schema: FileSchema,
        data_dir: Path,
        rejects_dir: Path | None,
        chunksize: int,
        csv_format: CsvFormat | None = None,
        latest_day: pd.Timestamp | None = None,
    ) -> None:
        self.schema = schema
        self.path = data_dir / schema.filename
        self.rejects_path = None if rejects_dir is None else rejects_dir / schema.filename
        self.chunksize = chunksize
        self.csv_format = csv_format or CsvFormat()
        self.latest_day = latest_day
        self.report = FileReport(
            file=schema.filename,
            path=str(self.path),
            rejects_path=None if self.rejects_path is None else str(self.rejects_path),
        )
        self.findings: list[Finding] = []
        self.header = _Header(names=[])
        self.names: list[str] = []
        self.colmap: dict[str, str] = {}
        self.dayfirst: dict[str, bool | None] = {}
        self.events = _LineEvents()
        self.span: _Span | None = None
        self.consumed: tuple[int, int] | None = None
        self._clean_blocks: dict[int, int] = {}  # found by the first pass, skipped by the next
        self._pending_dates: list[str] = []  # date columns not decided yet (decide_dates)
        self._decisions_at = 0  # where their findings go
        self._valid_utf8: bool | None = None  # every byte of the file valid UTF-8 (None: unchecked)
        self._chunks = 0
        self._counts: Counter[tuple[str, str]] = Counter()

    # header ------------------------------------------------------------------------------------
    def open_header(self) -> None:
        """Check the file exists and its header carries the required columns; map the names."""
        header = _read_header(self.schema, self.path, self.csv_format)
        self.header = header
        self.names = header.names
        self.colmap = header.colmap
        self.report.columns = list(header.names)
        self.report.missing_optional = header.missing_optional
        self.report.extra_columns = header.extra_columns
        self.report.encoding = header.encoding.codec
        self.report.bom = header.encoding.skip > 0
        self.report.delimiter = header.delimiter
        self.findings.extend(header.findings)
        if self.rejects_path is not None:
            # Rejects start empty (header only) on every run: a clean run leaves a clean file.
            columns = [*self.names, REJECT_REASON_COLUMN, REJECT_LINE_COLUMN, REJECT_RAW_COLUMN]
            pd.DataFrame(columns=columns).to_csv(self.rejects_path, index=False)

    # raw reading -------------------------------------------------------------------------------
    def _parsed(
        self,
        usecols: list[int] | None = None,
        distinct: list[int] | None = None,
        unique: tuple[int, ...] = (),
    ) -> Iterator[_Parsed]:
        """The file's blocks of records (each checked for its number of fields); a clean
        block's columns ``distinct`` as distinct values and codes, those of them ``unique``
        as text (:class:`_Parsed`)."""
        text_like = set(self.schema.text_columns) - set(self.schema.id_columns)
        contract = {self.colmap[c]: c for c in self.colmap}
        newline_ok = np.array(
            [contract.get(n, n) in text_like or n not in contract for n in self.names]
        )
        shape = _Shape(self.header.delimiter, self.names, newline_ok, usecols, distinct, unique)
        block = int(np.clip(self.chunksize * self.header.line_bytes, _MIN_BLOCK, _MAX_BLOCK))
        reader = _Reader(
            self.path,
            self.schema.filename,
            self.header.encoding,
            shape,
            self.header.lines,
            block,
            self._clean_blocks,
            self.span,
            valid_utf8=bool(self._valid_utf8),
        )
        yield from _read_ahead(iter(reader), self.schema.filename)
        self.consumed = (reader.lines, reader.end)
        if usecols is None:
            self.report.lines = reader.lines

    # first pass --------------------------------------------------------------------------------
    def date_evidence(self) -> dict[str, DayfirstEvidence]:
        """The day/month evidence of each date column present, read from those columns only."""
        present = [c for c in self.schema.date_columns if c in self.colmap]
        evidence = {c: DayfirstEvidence() for c in present}
        if present:
            positions = [self.names.index(self.colmap[c]) for c in present]
            for parsed in self._parsed(usecols=positions):
                for c in present:
                    evidence[c] = evidence[c] + dayfirst_evidence(parsed.frame[self.colmap[c]])
        return evidence

    def decide_dates(self, evidence: dict[str, DayfirstEvidence] | None = None) -> None:
        """Decide each date column once, from the evidence of the whole column (``None``: read
        it; else the evidence summed over the spans of the file).

        Without evidence, a file that cannot fail to read (every byte valid UTF-8) is not read
        for it up front: the main pass parses every chunk with no order until it meets a
        slashed day-month-year date, the only kind the order changes, and only then reads the
        evidence and decides (:meth:`settle_dates`). A file with none is read once, and every
        row, count and finding is what deciding first gives.
        """
        if evidence is None and self._can_defer():
            self._pending_dates = [c for c in self.schema.date_columns if c in self.colmap]
            self._decisions_at = len(self.findings)
            for c in self._pending_dates:
                self._record_decision(c, DayfirstEvidence())
            return
        evidence = self.date_evidence() if evidence is None else evidence
        for c in evidence:
            self._record_decision(c, evidence[c])

    def settle_dates(self) -> None:
        """Decide the date columns whose decision was deferred, as reading up front would.

        Raises
        ------
        _DatesPendingError
            This scan reads one span of its file: the file's scan decides.
        """
        if not self._pending_dates:
            return
        if self.span is not None:
            raise _DatesPendingError(self.schema.filename)
        evidence = self.date_evidence()
        at = self._decisions_at
        self._pending_dates = []
        for c in evidence:
            at += self._record_decision(c, evidence[c], at=at)

    def _can_defer(self) -> bool:
        """Reading the date columns up front can raise nothing: a UTF-8 file, all valid."""
        if self.span is None and self.header.encoding.is_utf8 and self._valid_utf8 is None:
            self._valid_utf8 = _all_utf8(self.path)
        return bool(self._valid_utf8)

    def _record_decision(self, c: str, evidence: DayfirstEvidence, at: int | None = None) -> int:
        """Decide column ``c`` from ``evidence``; its finding appended, or inserted at ``at``.
        Returns the findings added."""
        decision = evidence.decide(column=c)
        self.dayfirst[c] = decision.dayfirst
        self.report.dates[c] = {
            "dayfirst": decision.dayfirst,
            "note": decision.note,
            "formats": Counter(),
            "offset_dropped": 0,
        }
        if not decision.note:
            return 0
        finding = Finding(
            "dayfirst",
            decision.note,
            severity="warning" if decision.is_warning else "info",
            file=self.schema.filename,
            count=evidence.n_day_month_year,
        )
        self.findings.insert(len(self.findings) if at is None else at, finding)
        return 1

    # main pass ---------------------------------------------------------------------------------
    def chunks(self, keep: list[str] | None = None) -> Iterator[_Chunk]:
        """Valid rows chunk by chunk; invalid rows are rejected and counted on the way.

        ``keep``: the contract columns the caller reads. A chunk of a clean block then holds
        those (and every column a row can be rejected for) only, its text as categoricals and
        no ``raw``: each column's distinct values are checked once
        (:mod:`~stockout_sk.ingest.chunks`). A chunk with a row to reject, blank or repeating
        the header is read whole as usual.
        """
        if self.span is None:  # a span's reader (one of many): the file's progress says enough
            logger.info("%s: reading %s", self.schema.filename, self.path)
        return self._valid_chunks(record=True, keep=keep)

    def replay(self) -> Iterator[_Chunk]:
        """The same valid rows again, with no counting or rejecting (for a second decision)."""
        return self._valid_chunks(record=False)

    def _valid_chunks(self, *, record: bool, keep: list[str] | None = None) -> Iterator[_Chunk]:
        distinct, unique = None, ()
        if keep is not None:
            read = [c for c in self.schema.columns if c in keep or not _reasonless(self.schema, c)]
            distinct = [self.names.index(self.colmap[c]) for c in read if c in self.colmap]
            unique = tuple(
                self.names.index(self.colmap[c]) for c in self.schema.key if c in self.colmap
            )
        for parsed in self._parsed(distinct=distinct, unique=unique):
            if record:
                self._record_lines(parsed)
            if parsed.distinct is not None:
                yield from _distinct_chunks(self, parsed, record=record)
                continue
            for start in range(0, len(parsed.frame), self.chunksize):
                raw = parsed.frame.iloc[start : start + self.chunksize]
                lines = parsed.lines[start : start + self.chunksize]
                yield _validated(self, raw, lines, record=record)

    def _record_lines(self, parsed: _Parsed) -> None:
        """Count and quarantine what the reader could not split into columns."""
        self.report.blank_lines += parsed.blank
        events = self.events
        events.unbalanced += parsed.unbalanced
        events.multiline += parsed.multiline
        events.undecodable += parsed.undecodable
        events.extra_lines += sum(last - first for first, last in parsed.multiline)
        if parsed.bad:
            n = len(parsed.bad)
            empty = pd.DataFrame({c: [""] * n for c in self.names}, dtype="str")
            self.report.read += n
            self.reject(
                empty,
                np.array([b.line for b in parsed.bad], dtype=np.int64),
                np.array([b.reason for b in parsed.bad], dtype=object),
                raw_text=[b.text for b in parsed.bad],
            )

    def _count_chunk(
        self, read: int, blank: int, counts: Counter[tuple[str, str]], repeats: list[int]
    ) -> None:
        """A validated chunk's rows, blank lines, counts and repeated headers; progress."""
        self.report.blank_lines += blank
        self.report.read += read
        self._counts.update(counts)
        self.events.header_repeats += repeats
        self._chunks += 1
        if self._chunks % _PROGRESS_EVERY_CHUNKS == 0:
            logger.info(
                "%s: %d rows read, %d rejected so far",
                self.schema.filename,
                self.report.read,
                self.report.rejected,
            )

    def _parse_dates(
        self, values: pd.Series, col: str, weights: np.ndarray | None = None
    ) -> DateParseResult:
        """``values`` parsed with the column's order; while it is deferred, with any order if
        no value is a slashed day-month-year date (the order does not change the others).
        ``weights``: the rows each value stands for (:func:`parse_dates`)."""
        if col not in self._pending_dates:
            return parse_dates(values, column=col, dayfirst=self.dayfirst.get(col), weights=weights)
        parsed = parse_dates(values, column=col, dayfirst=DEFAULT_DAYFIRST, weights=weights)
        if not parsed.evidence.n_day_month_year:
            return parsed
        self.settle_dates()
        return parse_dates(values, column=col, dayfirst=self.dayfirst.get(col), weights=weights)

    # bookkeeping -------------------------------------------------------------------------------
    def reject(
        self,
        raw: pd.DataFrame,
        lines: np.ndarray,
        reason: str | np.ndarray,
        raw_text: list[str] | None = None,
    ) -> None:
        """Quarantine rows: count them per reason and append them to the rejects file."""
        n = len(raw)
        if n == 0:
            return
        reasons = np.broadcast_to(np.asarray(reason, dtype=object), (n,))
        self.report.rejected += n
        counts = Counter(self.report.reasons)
        counts.update({str(k): int(v) for k, v in pd.Series(reasons).value_counts().items()})
        self.report.reasons = dict(counts)
        if self.rejects_path is not None:
            out = raw.reset_index(drop=True)
            out[REJECT_REASON_COLUMN] = np.asarray(reasons)
            out[REJECT_LINE_COLUMN] = np.asarray(lines, dtype=np.int64)
            out[REJECT_RAW_COLUMN] = "" if raw_text is None else raw_text
            out = out.sort_values(REJECT_LINE_COLUMN, kind="stable")
            out.to_csv(self.rejects_path, mode="a", header=False, index=False)

    def accept(self, n: int) -> None:
        self.report.accepted += int(n)

    def finish(self) -> FileReport:
        """Check the reconciliation and record the per-file findings."""
        rep = self.report
        if not rep.reconciled:
            # An internal bug, never bad data: refuse to hand out numbers that do not add up.
            raise AssertionError(
                f"{rep.file}: read {rep.read} != accepted {rep.accepted} + rejected "
                f"{rep.rejected}; ingestion lost track of rows (please report this bug)."
            )
        counted = self.header.lines + rep.read + rep.blank_lines + self.events.extra_lines
        if rep.lines != counted:
            raise AssertionError(
                f"{rep.file}: {rep.lines} physical lines, but header {self.header.lines} + "
                f"records {rep.read} + blank {rep.blank_lines} + continuation lines "
                f"{self.events.extra_lines} = {counted} (please report this bug)."
            )
        for (what, col), n in self._counts.items():
            if what.startswith("format:"):
                rep.dates[col]["formats"][what.removeprefix("format:")] += n
            elif what == "offset_dropped":
                rep.dates[col]["offset_dropped"] += n
        self.findings += _line_findings(rep, self.events, self._counts, self.header.encoding)
        logger.info(
            "%s: read %d, accepted %d, rejected %d (duplicates %d)",
            rep.file,
            rep.read,
            rep.accepted,
            rep.rejected,
            rep.duplicates,
        )
        return rep
