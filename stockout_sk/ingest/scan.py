"""One file, chunk by chunk: date evidence, validation, quarantine, reconciliation counts.

:class:`_FileScan` reads a file twice: a cheap first pass over its date columns only, to decide
day-first or month-first from the evidence of the *whole* column
(:func:`stockout_sk.dates.dayfirst_evidence`), then the main pass that types every chunk with
that one decision and hands the valid rows on. Every record is accepted or rejected with a
reason; lines with the wrong number of fields are rejected too, fully blank lines are only
counted.

Line numbers in the rejects files are 1-based with the header on line 1; they match the physical
line unless a quoted field spans several lines. A malformed line (wrong number of fields) is
recorded with its line number and empty fields, since pandas does not hand its text back.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.dates import DayfirstEvidence, dayfirst_evidence, parse_dates
from stockout_sk.ingest.header import _encoding_error, _read_header
from stockout_sk.ingest.quantities import (
    _QTY_MISSING,
    _QTY_NON_NUMERIC,
    _QTY_THOUSANDS,
    _parse_quantities,
)
from stockout_sk.ingest.report import (
    REJECT_LINE_COLUMN,
    REJECT_REASON_COLUMN,
    DataContractError,
    FileReport,
    Finding,
)
from stockout_sk.schemas import FileSchema

logger = logging.getLogger(__name__)

_PROGRESS_EVERY_CHUNKS = 10
_BAD_LINE_RE = re.compile(r"Skipping line (?P<line>\d+): (?P<what>[^\n]*)")


@dataclass
class _Chunk:
    """Valid rows of one chunk: original strings, typed values, source line numbers."""

    raw: pd.DataFrame
    typed: pd.DataFrame
    lines: np.ndarray


class _FileScan:
    """Reads one file: header check, date evidence, chunks, validation, rejects, counts."""

    def __init__(
        self, schema: FileSchema, data_dir: Path, rejects_dir: Path | None, chunksize: int
    ) -> None:
        self.schema = schema
        self.path = data_dir / schema.filename
        self.rejects_path = None if rejects_dir is None else rejects_dir / schema.filename
        self.chunksize = chunksize
        self.report = FileReport(
            file=schema.filename,
            path=str(self.path),
            rejects_path=None if self.rejects_path is None else str(self.rejects_path),
        )
        self.findings: list[Finding] = []
        self.names: list[str] = []
        self.colmap: dict[str, str] = {}
        self.dayfirst: dict[str, bool | None] = {}
        self._bad_lines: list[int] = []
        self._records = 0
        self._chunks = 0
        self._thousands: Counter[str] = Counter()

    # header ------------------------------------------------------------------------------------
    def open_header(self) -> None:
        """Check the file exists and its header carries the required columns; map the names."""
        header = _read_header(self.schema, self.path)
        self.names = header.names
        self.colmap = header.colmap
        self.report.columns = list(header.names)
        self.report.missing_optional = header.missing_optional
        self.report.extra_columns = header.extra_columns
        self.findings.extend(header.findings)
        if self.rejects_path is not None:
            # Rejects start empty (header only) on every run: a clean run leaves a clean file.
            pd.DataFrame(columns=[*self.names, REJECT_REASON_COLUMN, REJECT_LINE_COLUMN]).to_csv(
                self.rejects_path, index=False
            )

    # raw reading -------------------------------------------------------------------------------
    def _iter_raw(self, usecols: list[int] | None = None) -> Iterator[pd.DataFrame]:
        """Raw string chunks; malformed lines are registered (main pass) instead of lost."""
        main_pass = usecols is None
        try:
            reader = pd.read_csv(
                self.path,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                chunksize=self.chunksize,
                encoding="utf-8-sig",
                skip_blank_lines=False,  # blank lines must still count for line numbers
                index_col=False,
                on_bad_lines="warn",
                usecols=usecols,
            )
            with reader:
                while True:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", pd.errors.ParserWarning)
                        try:
                            chunk = next(reader)
                        except StopIteration:
                            break
                    for w in caught:
                        if issubclass(w.category, pd.errors.ParserWarning):
                            if main_pass:
                                self._register_bad_lines(str(w.message))
                        else:
                            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                    yield chunk
        except pd.errors.ParserError as exc:
            raise DataContractError(
                f"{self.schema.filename}: the CSV cannot be tokenized ({exc}) in {self.path}; "
                "usually an unbalanced quote — check the quoting of the line named."
            ) from exc
        except UnicodeDecodeError as exc:
            raise _encoding_error(self.schema.filename, self.path, exc) from exc

    def _register_bad_lines(self, message: str) -> None:
        found = [(int(m["line"]), m["what"].strip()) for m in _BAD_LINE_RE.finditer(message)]
        if not found:
            warnings.warn(message, pd.errors.ParserWarning, stacklevel=3)
            return
        lines = np.array([line for line, _ in found], dtype=np.int64)
        reasons = np.array([f"malformed line: {what}" for _, what in found], dtype=object)
        self._bad_lines.extend(int(x) for x in lines)
        self._bad_lines.sort()
        raw = pd.DataFrame({n: [""] * len(found) for n in self.names}, dtype="str")
        self.report.read += len(found)
        self.reject(raw, lines, reasons)

    def _line_numbers(self, first_record: int, n: int) -> np.ndarray:
        """1-based source lines of records ``first_record .. first_record + n - 1``.

        Record ``k`` (0-based, malformed lines excluded) sits on line ``k + 2`` plus the number of
        malformed lines before it; malformed line ``j`` (sorted) has ``b_j - j - 2`` records
        before it.
        """
        k = np.arange(first_record, first_record + n, dtype=np.int64)
        if not self._bad_lines:
            return k + 2
        bad = np.asarray(self._bad_lines, dtype=np.int64)
        records_before = bad - np.arange(len(bad)) - 2
        return k + 2 + np.searchsorted(records_before, k, side="right")

    # first pass --------------------------------------------------------------------------------
    def decide_dates(self) -> None:
        """Read only the date columns, sum the day/month evidence, decide each column once."""
        present = [c for c in self.schema.date_columns if c in self.colmap]
        if not present:
            return
        positions = [self.names.index(self.colmap[c]) for c in present]
        evidence = {c: DayfirstEvidence() for c in present}
        for chunk in self._iter_raw(usecols=positions):
            # usecols returns the columns in file order, whatever the order asked for.
            chunk.columns = [self.names[p] for p in sorted(positions)]
            for c in present:
                evidence[c] = evidence[c] + dayfirst_evidence(chunk[self.colmap[c]])
        for c in present:
            decision = evidence[c].decide(column=c)
            self.dayfirst[c] = decision.dayfirst
            self.report.dates[c] = {
                "dayfirst": decision.dayfirst,
                "note": decision.note,
                "formats": Counter(),
                "offset_dropped": 0,
            }
            if decision.note:
                self.findings.append(
                    Finding(
                        "dayfirst",
                        decision.note,
                        severity="warning" if decision.is_warning else "info",
                        file=self.schema.filename,
                        count=evidence[c].n_day_month_year,
                    )
                )

    # main pass ---------------------------------------------------------------------------------
    def chunks(self) -> Iterator[_Chunk]:
        """Valid rows chunk by chunk; invalid rows are rejected on the way."""
        logger.info("%s: reading %s", self.schema.filename, self.path)
        for raw in self._iter_raw():
            if raw.shape[1] != len(self.names):
                raise DataContractError(
                    f"{self.schema.filename}: pandas read {raw.shape[1]} columns but the header "
                    f"has {len(self.names)} ({self.names!r}) in {self.path}; check the header's "
                    "quoting and delimiters."
                )
            raw.columns = self.names
            n = len(raw)
            first = self._records
            self._records += n
            raw.index = pd.RangeIndex(first, first + n)
            lines = self._line_numbers(first, n)
            blank = self._blank(raw)
            if blank.any():
                self.report.blank_lines += int(blank.sum())
                raw, lines = raw[~blank], lines[~blank]
            self.report.read += len(raw)
            typed, reason = self._validate(raw)
            bad = reason != ""
            if bad.any():
                self.reject(raw[bad], lines[bad], reason[bad])
            self._chunks += 1
            if self._chunks % _PROGRESS_EVERY_CHUNKS == 0:
                logger.info(
                    "%s: %d rows read, %d rejected so far",
                    self.schema.filename,
                    self.report.read,
                    self.report.rejected,
                )
            yield _Chunk(raw=raw[~bad], typed=typed[~bad], lines=lines[~bad])

    def _blank(self, raw: pd.DataFrame) -> np.ndarray:
        if raw.shape[1] == 0 or len(raw) == 0:
            return np.zeros(len(raw), dtype=bool)
        # A whitespace-only line arrives as whitespace in the first field and "" elsewhere.
        blank = raw.iloc[:, 0].str.strip().eq("").to_numpy(dtype=bool)
        if raw.shape[1] > 1:
            blank = blank & (raw.iloc[:, 1:] == "").all(axis=1).to_numpy(dtype=bool)
        return blank

    def _validate(self, raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Typed columns in contract order and the first reason each row is unusable ("" = ok)."""
        schema = self.schema
        n = len(raw)
        reason = np.full(n, "", dtype=object)

        def flag(condition: np.ndarray, text: str) -> None:
            nonlocal reason
            reason = np.where((reason == "") & condition, text, reason)

        required = set(schema.value_required)
        typed: dict[str, Any] = {}
        for col in schema.columns:
            source = self.colmap.get(col)
            if col in schema.date_columns:
                if source is None:
                    typed[col] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
                    continue
                parsed = parse_dates(raw[source], column=col, dayfirst=self.dayfirst.get(col))
                typed[col] = parsed.values
                info = self.report.dates[col]
                info["formats"].update(parsed.formats)
                info["offset_dropped"] += parsed.n_offset_dropped
                if col in required:
                    flag(parsed.missing.to_numpy(), f"missing {col}")
                flag(parsed.unparseable.to_numpy(), f"unparseable {col}")
            elif col in schema.quantity_columns:
                if source is None:
                    typed[col] = np.full(n, np.nan)
                    continue
                values, status = _parse_quantities(raw[source])
                typed[col] = values
                self._thousands[col] += int((status == _QTY_THOUSANDS).sum())
                if col in required:
                    flag(status == _QTY_MISSING, f"missing {col}")
                flag(status == _QTY_NON_NUMERIC, f"non-numeric {col}")
                if col in schema.nonnegative:
                    flag(values < 0, f"negative {col}")
            else:
                if source is None:
                    typed[col] = pd.Series("", index=raw.index, dtype="str")
                    continue
                stripped = raw[source].str.strip()
                typed[col] = stripped
                if col in required:
                    flag(stripped.eq("").to_numpy(dtype=bool), f"missing {col}")
        return pd.DataFrame(typed, index=raw.index), reason

    # bookkeeping -------------------------------------------------------------------------------
    def reject(self, raw: pd.DataFrame, lines: np.ndarray, reason: str | np.ndarray) -> None:
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
        for col, n in self._thousands.items():
            if n:
                self.findings.append(
                    Finding(
                        "thousands_separator",
                        f"{n} {col} value(s) used a thousands separator (e.g. '1,234'); read as "
                        "numbers",
                        file=rep.file,
                        count=n,
                    )
                )
        for col, info in rep.dates.items():
            if info["offset_dropped"]:
                self.findings.append(
                    Finding(
                        "timezone_dropped",
                        f"{info['offset_dropped']} {col} value(s) carried a timezone offset; the "
                        "offset was dropped and the wall-clock date kept",
                        file=rep.file,
                        count=info["offset_dropped"],
                    )
                )
        if rep.blank_lines:
            self.findings.append(
                Finding(
                    "blank_lines",
                    f"{rep.blank_lines} blank line(s) skipped",
                    file=rep.file,
                    count=rep.blank_lines,
                )
            )
        logger.info(
            "%s: read %d, accepted %d, rejected %d (duplicates %d)",
            rep.file,
            rep.read,
            rep.accepted,
            rep.rejected,
            rep.duplicates,
        )
        return rep
