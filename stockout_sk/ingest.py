"""Chunked, validating ingestion of the six CSV exports into :class:`ChainData`.

What it guarantees (see ``docs/ARCHITECTURE.md`` for the output contract):

* **Fail fast on the contract.** Every file must exist and its header must carry the required
  columns of :mod:`stockout_sk.schemas`; all six headers are checked before any row is read, and a
  violation raises :class:`DataContractError` naming the file, the column and the columns found.
* **Nothing disappears silently.** Every record is accepted or rejected with a reason; rejected
  rows go to ``<out_dir>/rejects/<file>.csv`` (all original columns + ``reason`` + ``line``), and
  ``read == accepted + rejected`` is checked for every file. Lines with the wrong number of fields
  are rejected too; fully blank lines are not records and are only counted.
* **Bounded memory.** Sales and movements are read in chunks and aggregated per chunk to daily
  branch×item sums; partial sums are re-aggregated whenever they double, so memory follows the
  number of distinct keys, not of lines. Duplicate ``MovementID`` values are detected with
  sorted ``uint64`` hashes, not a set of strings.
* **Dates decided per column.** A cheap first pass reads only the date columns to collect the
  day/month evidence of the *whole* column (:func:`stockout_sk.dates.dayfirst_evidence`); the real
  pass then parses every chunk with that one decision.

Line numbers in the rejects files are 1-based with the header on line 1; they match the physical
line unless a quoted field spans several lines. A malformed line (wrong number of fields) is
recorded with its line number and empty fields, since pandas does not hand its text back.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from stockout_sk.dates import DayfirstEvidence, dayfirst_evidence, parse_dates
from stockout_sk.schemas import SCHEMAS, FileSchema

__all__ = [
    "REJECT_LINE_COLUMN",
    "REJECT_REASON_COLUMN",
    "ChainData",
    "DataContractError",
    "FileReport",
    "Finding",
    "ValidationReport",
    "load_chain",
]

logger = logging.getLogger(__name__)

#: Columns appended to every rejects file.
REJECT_REASON_COLUMN = "reason"
REJECT_LINE_COLUMN = "line"
#: Name of the JSON summary written to ``out_dir``.
REPORT_FILENAME = "validation_report.json"

_PROGRESS_EVERY_CHUNKS = 10
_BAD_LINE_RE = re.compile(r"Skipping line (?P<line>\d+): (?P<what>[^\n]*)")
_THOUSANDS_RE = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
_QTY_OK, _QTY_MISSING, _QTY_NON_NUMERIC, _QTY_THOUSANDS = 0, 1, 2, 3
_EXAMPLES = 5


class DataContractError(ValueError):
    """The input breaks the data contract: a file or a required column is missing or unreadable.

    The message names the file, the column (when one is at fault), what was found, and how to fix
    it. Row-level problems are never raised: those rows are quarantined and reported.
    """


# --- report -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """A data-quality observation that is not fatal.

    Attributes
    ----------
    code : str
        Stable identifier, e.g. ``"external_ids"`` or ``"dayfirst"``.
    message : str
        What was seen, with examples, for a person.
    severity : {"info", "warning"}
        ``"warning"`` when a person should look at the data.
    file : str or None
        The file concerned, if one.
    count : int or None
        How many rows / keys / IDs the finding is about.
    """

    code: str
    message: str
    severity: Literal["info", "warning"] = "info"
    file: str | None = None
    count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "count": None if self.count is None else int(self.count),
            "message": self.message,
        }


@dataclass
class FileReport:
    """Reconciliation of one input file.

    Attributes
    ----------
    file : str
        File name, e.g. ``"stock_movement.csv"``.
    path : str
        Where it was read from.
    read : int
        Records read (every non-blank line after the header, malformed ones included).
    accepted : int
        Records that made it into :class:`ChainData`.
    rejected : int
        Records quarantined (``duplicates`` included).
    duplicates : int
        Rejected because their key was already seen (e.g. the same ``MovementID`` exported twice).
    blank_lines : int
        Fully blank lines, skipped (not records).
    reasons : dict of str to int
        Rejected records per reason.
    columns : list of str
        Header as found in the file.
    missing_optional : list of str
        Optional contract columns absent from the header (filled with empty strings).
    extra_columns : list of str
        Header columns that are not in the contract (ignored, kept in the rejects file).
    dates : dict
        Per date column: ``dayfirst`` decision, ``note``, row counts per ``formats``, and
        ``offset_dropped`` (rows whose timezone offset was dropped).
    rejects_path : str or None
        The rejects CSV, when ``out_dir`` was given.
    """

    file: str
    path: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    blank_lines: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    dates: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejects_path: str | None = None

    @property
    def reconciled(self) -> bool:
        """``read == accepted + rejected``."""
        return self.read == self.accepted + self.rejected

    @property
    def ok(self) -> bool:
        """Reconciled and nothing rejected."""
        return self.reconciled and self.rejected == 0

    def top_reasons(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` most frequent reject reasons, most frequent first (ties by name)."""
        return sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (plain ints and strings)."""
        return {
            "file": self.file,
            "path": self.path,
            "read": int(self.read),
            "accepted": int(self.accepted),
            "rejected": int(self.rejected),
            "duplicates": int(self.duplicates),
            "blank_lines": int(self.blank_lines),
            "reconciled": self.reconciled,
            "reasons": {str(k): int(v) for k, v in self.top_reasons(len(self.reasons))},
            "columns": list(self.columns),
            "missing_optional": list(self.missing_optional),
            "extra_columns": list(self.extra_columns),
            "dates": {
                col: {
                    "dayfirst": info.get("dayfirst"),
                    "note": info.get("note"),
                    "formats": {str(k): int(v) for k, v in sorted(info["formats"].items())},
                    "offset_dropped": int(info.get("offset_dropped", 0)),
                }
                for col, info in self.dates.items()
            },
            "rejects_path": self.rejects_path,
        }


@dataclass
class ValidationReport:
    """What ingestion read, accepted, rejected and noticed.

    Attributes
    ----------
    files : dict of str to FileReport
        One report per input file, by file name.
    findings : list of Finding
        Non-fatal observations (external IDs, day-first decisions, keys absent from the snapshot…).
    history_start, history_end : str or None
        First and last calendar day observed (ISO), when any.
    """

    files: dict[str, FileReport] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    history_start: str | None = None
    history_end: str | None = None

    @property
    def ok(self) -> bool:
        """Every file reconciles and no row was rejected (findings are informational)."""
        return all(f.ok for f in self.files.values())

    @property
    def reconciled(self) -> bool:
        """Every file satisfies ``read == accepted + rejected``."""
        return all(f.reconciled for f in self.files.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict, as written to ``validation_report.json``."""
        return {
            "ok": self.ok,
            "reconciled": self.reconciled,
            "history_start": self.history_start,
            "history_end": self.history_end,
            "files": {name: rep.to_dict() for name, rep in self.files.items()},
            "findings": [f.to_dict() for f in self.findings],
        }

    def format(self) -> str:
        """Human-readable text: one table row per file, then the findings.

        Returns
        -------
        str
        """
        header = ("file", "read", "accepted", "rejected", "duplicates", "top reject reasons")
        rows = [header]
        for rep in self.files.values():
            reasons = "; ".join(f"{r} ({n})" for r, n in rep.top_reasons(3)) or "-"
            rows.append(
                (
                    rep.file,
                    f"{rep.read:,}",
                    f"{rep.accepted:,}",
                    f"{rep.rejected:,}",
                    f"{rep.duplicates:,}",
                    reasons,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
        lines = []
        for r in rows:
            cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, 5)]
            lines.append("  ".join([*cells, r[5]]).rstrip())
        if self.history_start is not None:
            lines.append(f"history: {self.history_start} .. {self.history_end}")
        unreconciled = [f.file for f in self.files.values() if not f.reconciled]
        if unreconciled:
            lines.append(f"NOT RECONCILED (read != accepted + rejected): {unreconciled}")
        lines.append("findings:" if self.findings else "findings: none")
        for f in self.findings:
            where = f"{f.file}: " if f.file else ""
            lines.append(f"  [{f.severity}] {where}{f.message}")
        return "\n".join(lines)


# --- output -------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ChainData:
    """Everything ingestion returns; see ``docs/ARCHITECTURE.md`` for the exact columns.

    Attributes
    ----------
    stock_current : pd.DataFrame
        One row per BranchID×ItemCode: BranchID, BranchName, ItemCode, ItemName (str);
        CurrentQuantity, ReservedQuantity, SafetyStockLevel (float64); LastUpdatedAt
        (datetime64[ns], naive).
    flows : pd.DataFrame
        BranchID, ItemCode (str); Date (datetime64[ns], midnight); inflow, outflow, sold
        (float64). Daily sums, only days with some flow, sorted by BranchID, ItemCode, Date;
        external IDs (warehouses, suppliers) included.
    transfers : pd.DataFrame
        Date (datetime64[ns]); FromBranchID, ToBranchID, ItemCode (str); QuantityMoved (float64):
        movements summed per day × from × to × item, after MovementID de-duplication.
    branches : pd.DataFrame
        BranchID, BranchName (str); OpeningDate (datetime64[ns]).
    items : pd.DataFrame
        ItemCode, ArabicName, EnglishName, BrandOnBox (str).
    employees : pd.DataFrame
        EmployeeID, FullName, Department, BranchID (str).
    report : ValidationReport
        Reconciliation and findings.
    history_start, history_end : pd.Timestamp
        First and last calendar day observed (movements, sales, snapshot dates).
    """

    stock_current: pd.DataFrame
    flows: pd.DataFrame
    transfers: pd.DataFrame
    branches: pd.DataFrame
    items: pd.DataFrame
    employees: pd.DataFrame
    report: ValidationReport
    history_start: pd.Timestamp
    history_end: pd.Timestamp

    def __repr__(self) -> str:
        return (
            f"ChainData(stock_current={len(self.stock_current)} rows, flows={len(self.flows)} "
            f"rows, transfers={len(self.transfers)} rows, branches={len(self.branches)}, "
            f"items={len(self.items)}, employees={len(self.employees)}, "
            f"history={self.history_start.date()}..{self.history_end.date()}, "
            f"ok={self.report.ok})"
        )


# --- quantities ---------------------------------------------------------------------------------
def _parse_quantities(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Lenient numbers: float64 values and a status per row (ok / missing / non-numeric / 1,234).

    ``1,234`` and ``1,234.5`` are read with a thousands separator because the grouping proves
    it; anything else with a comma (``1,5``, ``12,34``) is ambiguous and rejected, as are
    non-finite values.
    """
    stripped = values.str.strip()
    text = stripped.to_numpy(dtype=object)
    numbers = np.asarray(pd.to_numeric(text, errors="coerce"), dtype=np.float64)
    status = np.full(len(text), _QTY_OK, dtype=np.int8)
    empty = (stripped == "").to_numpy(dtype=bool)
    failed = ~np.isfinite(numbers) & ~empty
    if failed.any():
        candidates = stripped[failed]
        grouped = candidates.str.fullmatch(_THOUSANDS_RE).to_numpy(dtype=bool)
        idx = np.flatnonzero(failed)
        if grouped.any():
            ungrouped = candidates[grouped].str.replace(",", "", regex=False).to_numpy(dtype=object)
            numbers[idx[grouped]] = pd.to_numeric(ungrouped, errors="coerce")
            status[idx[grouped]] = _QTY_THOUSANDS
        status[idx[~grouped]] = _QTY_NON_NUMERIC
        numbers[idx[~grouped]] = np.nan
    status[empty] = _QTY_MISSING
    numbers[empty] = np.nan
    return numbers, status


# --- daily aggregation with bounded memory ------------------------------------------------------
class _Aggregator:
    """Sum of ``values`` per ``keys`` over many partial frames, re-aggregated as it grows.

    Partial frames are concatenated and re-summed whenever their total length exceeds twice the
    length after the previous re-aggregation (and at least ``min_rows``): memory stays within a
    small multiple of the number of distinct keys, and the total re-aggregation work is linear.
    """

    def __init__(self, keys: list[str], values: list[str], dtypes: dict[str, Any], min_rows: int):
        self._keys = keys
        self._values = values
        self._dtypes = dtypes
        self._min_rows = min_rows
        self._parts: list[pd.DataFrame] = []
        self._rows = 0
        self._compacted = 0

    def add(self, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        self._parts.append(frame)
        self._rows += len(frame)
        if self._rows > max(self._min_rows, 2 * self._compacted):
            self._compact()

    def _compact(self) -> None:
        if len(self._parts) > 1 or self._rows > self._compacted:
            merged = pd.concat(self._parts, ignore_index=True)
            merged = merged.groupby(self._keys, sort=False, as_index=False, observed=True)[
                self._values
            ].sum()
            self._parts = [merged]
            self._rows = self._compacted = len(merged)

    def result(self) -> pd.DataFrame:
        if not self._parts:
            return _empty_frame(self._dtypes)
        self._compact()
        return self._parts[0].astype(self._dtypes)


def _empty_frame(dtypes: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


class _SeenKeys:
    """Sorted ``uint64`` hashes of keys already accepted, with a hash of their content.

    8 + 8 bytes per distinct key instead of a Python string per key; merging a chunk is a stable
    sort of two sorted runs (linear).
    """

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.uint64)
        self._content = np.empty(0, dtype=np.uint64)

    def mark(self, keys: np.ndarray, content: np.ndarray) -> tuple[np.ndarray, int]:
        """Flag duplicates (of earlier chunks or earlier in this chunk) and remember the rest.

        Returns the duplicate mask and how many duplicates differ in content from the kept copy.
        """
        n = len(keys)
        if n == 0:
            return np.zeros(0, dtype=bool), 0
        _, first_idx, inverse = np.unique(keys, return_index=True, return_inverse=True)
        first_of_row = first_idx[inverse]
        reference = content[first_of_row]
        found = np.zeros(n, dtype=bool)
        if len(self._keys):
            pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
            found = self._keys[pos] == keys
            reference = np.where(found, self._content[pos], reference)
        duplicate = found | (np.arange(n) != first_of_row)
        conflicting = int((duplicate & (content != reference)).sum())
        new_keys, new_content = keys[~duplicate], content[~duplicate]
        all_keys = np.concatenate([self._keys, new_keys])
        all_content = np.concatenate([self._content, new_content])
        order = np.argsort(all_keys, kind="stable")
        self._keys, self._content = all_keys[order], all_content[order]
        return duplicate, conflicting


# --- one file -----------------------------------------------------------------------------------
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
        fn = self.schema.filename
        # Only the header record is read (``csv`` stops there): a broken row further down must
        # not hide a missing column, and a huge file costs nothing here.
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as f:
                header = next(csv.reader(f), [])
        except UnicodeDecodeError as exc:
            raise self._encoding_error(exc) from exc
        except csv.Error as exc:
            raise DataContractError(
                f"{fn}: the header row cannot be read as CSV ({exc}) in {self.path}; check its "
                "quoting."
            ) from exc
        if not any(h.strip() for h in header):
            raise DataContractError(
                f"{fn}: the file is empty or starts with a blank line ({self.path}); it must start "
                f"with a header row containing at least {list(self.schema.required)!r}."
            )
        self.names = _header_names(header)
        self.report.columns = list(self.names)
        loose = {_loose(n): n for n in reversed(self.names)}
        missing = []
        for col in self.schema.columns:
            if col in self.names:
                self.colmap[col] = col
            elif _loose(col) in loose:
                self.colmap[col] = loose[_loose(col)]
                self.findings.append(
                    Finding(
                        "column_renamed",
                        f"column {loose[_loose(col)]!r} read as {col!r} (case/spacing differs)",
                        file=fn,
                    )
                )
            elif col in self.schema.required:
                missing.append(col)
            else:
                self.report.missing_optional.append(col)
        if missing:
            raise DataContractError(
                f"{fn}: missing required column(s) {missing!r}; found columns {self.names!r} in "
                f"{self.path}. The header must contain {list(self.schema.required)!r} (optional: "
                f"{list(self.schema.optional)!r}); fix the export or rename the column."
            )
        used = set(self.colmap.values())
        self.report.extra_columns = [n for n in self.names if n not in used]
        if self.report.extra_columns:
            self.findings.append(
                Finding(
                    "extra_columns",
                    f"columns not in the contract are ignored: {self.report.extra_columns!r}",
                    file=fn,
                    count=len(self.report.extra_columns),
                )
            )
        if self.report.missing_optional:
            self.findings.append(
                Finding(
                    "optional_columns_absent",
                    f"optional columns absent, filled with empty strings: "
                    f"{self.report.missing_optional!r}",
                    file=fn,
                    count=len(self.report.missing_optional),
                )
            )
        if self.rejects_path is not None:
            # Rejects start empty (header only) on every run: a clean run leaves a clean file.
            pd.DataFrame(columns=[*self.names, REJECT_REASON_COLUMN, REJECT_LINE_COLUMN]).to_csv(
                self.rejects_path, index=False
            )

    def _encoding_error(self, exc: UnicodeDecodeError) -> DataContractError:
        return DataContractError(
            f"{self.schema.filename}: not valid UTF-8 ({exc.reason} at byte {exc.start}: "
            f"{exc.object[exc.start : exc.start + 4]!r}) in {self.path}; re-export the file as "
            "UTF-8 (with or without BOM)."
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
            raise self._encoding_error(exc) from exc

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


def _header_names(header: list[str]) -> list[str]:
    """Stripped header names, made unique the way pandas does (``A``, ``A.1``, …)."""
    names: list[str] = []
    seen: Counter[str] = Counter()
    for i, raw in enumerate(header):
        name = raw.strip() or f"Unnamed: {i}"
        candidate = name
        while candidate in seen:
            candidate = f"{name}.{seen[name]}"
            seen[name] += 1
        seen[candidate] += 1
        names.append(candidate)
    return names


def _loose(name: str) -> str:
    """Header name compared without case, spaces or underscores."""
    return re.sub(r"[\s_]", "", name).casefold()


# --- per-file loaders ---------------------------------------------------------------------------
_STR = "str"
_F64 = "float64"
_DT = "datetime64[ns]"
_TRANSFER_DTYPES = {
    "Date": _DT,
    "FromBranchID": _STR,
    "ToBranchID": _STR,
    "ItemCode": _STR,
    "QuantityMoved": _F64,
}
_SOLD_DTYPES = {"BranchID": _STR, "ItemCode": _STR, "Date": _DT, "sold": _F64}
_FLOW_DTYPES = {
    "BranchID": _STR,
    "ItemCode": _STR,
    "Date": _DT,
    "inflow": _F64,
    "outflow": _F64,
    "sold": _F64,
}


def _typed_output(frame: pd.DataFrame, schema: FileSchema) -> pd.DataFrame:
    """Contract columns in contract order with contract dtypes."""
    dtypes = {
        c: (_DT if c in schema.date_columns else _F64 if c in schema.quantity_columns else _STR)
        for c in schema.columns
    }
    if len(frame) == 0:
        return _empty_frame(dtypes)
    return frame[list(schema.columns)].astype(dtypes).reset_index(drop=True)


def _collect(scan: _FileScan) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Read a small file whole (after validation): typed rows, raw rows, line numbers."""
    typed, raw, lines = [], [], []
    for chunk in scan.chunks():
        typed.append(chunk.typed)
        raw.append(chunk.raw)
        lines.append(chunk.lines)
    if not typed:
        return (
            _typed_output(pd.DataFrame(), scan.schema),
            pd.DataFrame(columns=scan.names),
            np.empty(0, dtype=np.int64),
        )
    return pd.concat(typed), pd.concat(raw), np.concatenate(lines)


def _load_keyed_table(scan: _FileScan) -> pd.DataFrame:
    """Branches, items, employees: small; the first row of a key wins, later copies are rejected."""
    typed, raw, lines = _collect(scan)
    key = list(scan.schema.key)
    duplicate = typed.duplicated(key, keep="first").to_numpy(dtype=bool) if len(typed) else None
    if duplicate is not None and duplicate.any():
        scan.reject(raw[duplicate], lines[duplicate], f"duplicate {'×'.join(key)}")
        scan.report.duplicates += int(duplicate.sum())
        typed = typed[~duplicate]
    scan.accept(len(typed))
    return _typed_output(typed, scan.schema)


def _load_stock_current(scan: _FileScan) -> pd.DataFrame:
    """One row per BranchID×ItemCode: the latest LastUpdatedAt wins (then the later line)."""
    typed, raw, lines = _collect(scan)
    if len(typed):
        order = np.lexsort(
            (
                lines,
                typed["LastUpdatedAt"].to_numpy(dtype="datetime64[ns]").astype(np.int64),
                typed["ItemCode"].to_numpy(dtype=object).astype(str),
                typed["BranchID"].to_numpy(dtype=object).astype(str),
            )
        )
        typed, raw, lines = typed.iloc[order], raw.iloc[order], lines[order]
        superseded = typed.duplicated(["BranchID", "ItemCode"], keep="last").to_numpy(dtype=bool)
        if superseded.any():
            scan.reject(
                raw[superseded],
                lines[superseded],
                "duplicate BranchID×ItemCode (a later LastUpdatedAt is kept)",
            )
            scan.report.duplicates += int(superseded.sum())
            typed = typed[~superseded]
    scan.accept(len(typed))
    out = _typed_output(typed, scan.schema)
    return out.sort_values(["BranchID", "ItemCode"], kind="stable", ignore_index=True)


@dataclass
class _MovementStats:
    conflicting_duplicates: int = 0
    self_transfers: int = 0


def _load_movements(scan: _FileScan, min_rows: int) -> tuple[pd.DataFrame, _MovementStats]:
    """Daily transfers (day × from × to × item), MovementID de-duplicated across the file."""
    seen = _SeenKeys()
    stats = _MovementStats()
    acc = _Aggregator(
        ["Date", "FromBranchID", "ToBranchID", "ItemCode"],
        ["QuantityMoved"],
        _TRANSFER_DTYPES,
        min_rows,
    )
    content_cols = ["Date", "FromBranchID", "ToBranchID", "ItemCode", "QuantityMoved"]
    for chunk in scan.chunks():
        t = chunk.typed
        keys = pd.util.hash_array(t["MovementID"].to_numpy(dtype=object))
        content = pd.util.hash_pandas_object(t[content_cols], index=False).to_numpy()
        duplicate, conflicting = seen.mark(keys, content)
        stats.conflicting_duplicates += conflicting
        if duplicate.any():
            scan.reject(chunk.raw[duplicate], chunk.lines[duplicate], "duplicate MovementID")
            scan.report.duplicates += int(duplicate.sum())
            t = t[~duplicate]
        scan.accept(len(t))
        stats.self_transfers += int((t["FromBranchID"] == t["ToBranchID"]).sum())
        daily = (
            t.assign(Date=t["Date"].dt.normalize())
            .groupby(
                ["Date", "FromBranchID", "ToBranchID", "ItemCode"], sort=False, as_index=False
            )["QuantityMoved"]
            .sum()
        )
        acc.add(daily)
    transfers = acc.result()
    return (
        transfers.sort_values(
            ["Date", "FromBranchID", "ToBranchID", "ItemCode"], kind="stable", ignore_index=True
        ),
        stats,
    )


def _load_sales(scan: _FileScan, min_rows: int) -> tuple[pd.DataFrame, int]:
    """Daily sold quantity per branch × item × day; also the number of return lines (< 0)."""
    acc = _Aggregator(["BranchID", "ItemCode", "Date"], ["sold"], _SOLD_DTYPES, min_rows)
    returns = 0
    for chunk in scan.chunks():
        t = chunk.typed
        scan.accept(len(t))
        returns += int((t["QuantitySold"] < 0).sum())
        daily = (
            pd.DataFrame(
                {
                    "BranchID": t["BranchID"],
                    "ItemCode": t["ItemCode"],
                    "Date": t["Date"].dt.normalize(),
                    "sold": t["QuantitySold"],
                }
            )
            .groupby(["BranchID", "ItemCode", "Date"], sort=False, as_index=False)["sold"]
            .sum()
        )
        acc.add(daily)
    return acc.result(), returns


def _build_flows(transfers: pd.DataFrame, sold: pd.DataFrame) -> pd.DataFrame:
    """inflow (To = b), outflow (From = b) and sold per branch × item × day; zero days dropped."""
    keys = ["BranchID", "ItemCode", "Date"]
    inflow = transfers.rename(columns={"ToBranchID": "BranchID", "QuantityMoved": "inflow"})[
        [*keys, "inflow"]
    ]
    outflow = transfers.rename(columns={"FromBranchID": "BranchID", "QuantityMoved": "outflow"})[
        [*keys, "outflow"]
    ]
    parts = [p for p in (inflow, outflow, sold) if len(p)]
    if not parts:
        return _empty_frame(_FLOW_DTYPES)
    stacked = pd.concat(parts, ignore_index=True)
    for col in ("inflow", "outflow", "sold"):
        if col not in stacked:
            stacked[col] = 0.0
    flows = stacked.groupby(keys, sort=False, as_index=False)[["inflow", "outflow", "sold"]].sum()
    some_flow = (flows[["inflow", "outflow", "sold"]] != 0).any(axis=1)
    flows = flows[some_flow].astype(_FLOW_DTYPES)
    return flows.sort_values(keys, kind="stable", ignore_index=True)[list(_FLOW_DTYPES)]


# --- cross-file findings ------------------------------------------------------------------------
def _examples(values: pd.Index | np.ndarray | list[str]) -> str:
    shown = sorted(map(str, values))[:_EXAMPLES]
    more = len(values) - len(shown)
    return ", ".join(repr(v) for v in shown) + (f" and {more} more" if more > 0 else "")


def _key_index(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[["BranchID", "ItemCode"]].astype(object))


def _cross_file_findings(
    *,
    branches: pd.DataFrame,
    items: pd.DataFrame,
    employees: pd.DataFrame,
    stock: pd.DataFrame,
    transfers: pd.DataFrame,
    sold: pd.DataFrame,
    flows: pd.DataFrame,
    movement_stats: _MovementStats,
    returns: int,
) -> list[Finding]:
    findings: list[Finding] = []
    mv, sc, sa = "stock_movement.csv", "stock_current.csv", "sales_transactions.csv"
    branch_ids = pd.Index(branches["BranchID"].astype(object))

    moved_ids = pd.Index(
        pd.unique(pd.concat([transfers["FromBranchID"], transfers["ToBranchID"]]).astype(object))
    )
    external = moved_ids.difference(branch_ids)
    if len(external):
        findings.append(
            Finding(
                "external_ids",
                f"{len(external)} From/To ID(s) are not in branches.csv and are treated as "
                f"external (warehouse, supplier; their inflow is still inflow): "
                f"{_examples(external)}",
                file=mv,
                count=len(external),
            )
        )
    for frame, fname in ((sold, sa), (stock, sc)):
        unknown = pd.Index(pd.unique(frame["BranchID"].astype(object))).difference(branch_ids)
        if len(unknown) and len(frame):
            findings.append(
                Finding(
                    "unknown_branches",
                    f"{len(unknown)} BranchID(s) are not in branches.csv: {_examples(unknown)}",
                    severity="warning",
                    file=fname,
                    count=len(unknown),
                )
            )

    snapshot = _key_index(stock)
    sale_keys = _key_index(sold.drop_duplicates(["BranchID", "ItemCode"]))
    absent = sale_keys[~sale_keys.isin(snapshot)]
    if len(absent):
        findings.append(
            Finding(
                "sales_without_snapshot",
                f"{len(absent)} branch×item key(s) with sales have no stock_current row (their "
                f"stock cannot be anchored): {_examples([f'{b}×{i}' for b, i in absent])}",
                severity="warning",
                file=sa,
                count=len(absent),
            )
        )
    moved = pd.concat(
        [
            transfers[["ToBranchID", "ItemCode"]].set_axis(["BranchID", "ItemCode"], axis=1),
            transfers[["FromBranchID", "ItemCode"]].set_axis(["BranchID", "ItemCode"], axis=1),
        ]
    ).drop_duplicates()
    moved = moved[moved["BranchID"].isin(branch_ids)]
    moved_keys = _key_index(moved)
    absent = moved_keys[~moved_keys.isin(snapshot)]
    if len(absent):
        findings.append(
            Finding(
                "movements_without_snapshot",
                f"{len(absent)} branch×item key(s) at known branches have movements but no "
                f"stock_current row: {_examples([f'{b}×{i}' for b, i in absent])}",
                severity="warning",
                file=mv,
                count=len(absent),
            )
        )

    if len(flows) and len(stock):
        # Positions in the snapshot instead of a merge: no copy of the flow table.
        position = pd.MultiIndex.from_frame(stock[["BranchID", "ItemCode"]]).get_indexer(
            pd.MultiIndex.from_frame(flows[["BranchID", "ItemCode"]])
        )
        matched = position >= 0
        snapshot_day = stock["LastUpdatedAt"].dt.normalize().to_numpy()
        after = np.zeros(len(flows), dtype=bool)
        after[matched] = flows["Date"].to_numpy()[matched] > snapshot_day[position[matched]]
        if after.any():
            n_keys = len(np.unique(position[after]))
            findings.append(
                Finding(
                    "flows_after_snapshot",
                    f"{int(after.sum())} daily flow row(s) on {n_keys} key(s) are dated after "
                    "their stock_current LastUpdatedAt (stock is walked forward from the snapshot)",
                    file=sc,
                    count=int(after.sum()),
                )
            )

    if len(items):
        item_ids = pd.Index(items["ItemCode"].astype(object))
        used = pd.Index(
            pd.unique(
                pd.concat([stock["ItemCode"], pd.Series(flows["ItemCode"].unique())]).astype(object)
            )
        )
        unknown = used.difference(item_ids)
        if len(unknown):
            findings.append(
                Finding(
                    "unknown_items",
                    f"{len(unknown)} ItemCode(s) in stock or flows are not in item_master.csv: "
                    f"{_examples(unknown)}",
                    file="item_master.csv",
                    count=len(unknown),
                )
            )
    staffed = employees.loc[employees["BranchID"] != "", "BranchID"].astype(object)
    unknown = pd.Index(pd.unique(staffed)).difference(branch_ids)
    if len(unknown):
        findings.append(
            Finding(
                "unknown_branches",
                f"{len(unknown)} employee BranchID(s) are not in branches.csv: "
                f"{_examples(unknown)}",
                file="employees.csv",
                count=len(unknown),
            )
        )

    negative = int((stock["CurrentQuantity"] < 0).sum())
    if negative:
        findings.append(
            Finding(
                "negative_current_quantity",
                f"{negative} snapshot row(s) have a negative CurrentQuantity (kept as the anchor)",
                severity="warning",
                file=sc,
                count=negative,
            )
        )
    if returns:
        findings.append(
            Finding(
                "sales_returns",
                f"{returns} sales line(s) have a negative QuantitySold, read as returns",
                file=sa,
                count=returns,
            )
        )
    if movement_stats.self_transfers:
        findings.append(
            Finding(
                "self_transfers",
                f"{movement_stats.self_transfers} movement(s) have FromBranchID == ToBranchID "
                "(net zero: counted as both inflow and outflow)",
                file=mv,
                count=movement_stats.self_transfers,
            )
        )
    if movement_stats.conflicting_duplicates:
        findings.append(
            Finding(
                "conflicting_duplicates",
                f"{movement_stats.conflicting_duplicates} duplicate MovementID row(s) differ from "
                "the first copy (kept) in date, IDs or quantity",
                severity="warning",
                file=mv,
                count=movement_stats.conflicting_duplicates,
            )
        )
    return findings


# --- entry point --------------------------------------------------------------------------------
def load_chain(
    data_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    chunksize: int = 100_000,
) -> ChainData:
    """Read, validate and aggregate the six CSV files of a chain.

    Parameters
    ----------
    data_dir : str or Path
        Directory holding ``stock_movement.csv``, ``stock_current.csv``,
        ``sales_transactions.csv``, ``item_master.csv``, ``employees.csv`` and ``branches.csv``.
    out_dir : str or Path, optional
        Where to write ``rejects/<file>.csv`` (every rejected row with ``reason`` and ``line``)
        and ``validation_report.json``. ``None`` writes nothing; the counts are still in
        ``ChainData.report``.
    chunksize : int, default=100_000
        Rows per chunk when reading. Peak memory follows the distinct branch×item×day keys plus
        one chunk; the result does not depend on it.

    Returns
    -------
    ChainData
        See ``docs/ARCHITECTURE.md``.

    Raises
    ------
    DataContractError
        A file is missing, empty, not UTF-8 or not a readable CSV, a required column is missing,
        or no row carries a usable date.
    ValueError
        ``chunksize`` is not a positive integer.

    Examples
    --------
    >>> chain = load_chain("sample_data", out_dir="artifacts/run")  # doctest: +SKIP
    >>> print(chain.report.format())  # doctest: +SKIP
    """
    if isinstance(chunksize, bool) or not isinstance(chunksize, int | np.integer) or chunksize < 1:
        raise ValueError(f"chunksize must be a positive integer, got {chunksize!r}")
    chunksize = int(chunksize)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataContractError(
            f"data directory {str(data_dir)!r} does not exist or is not a directory; point it at "
            f"the folder holding {[s.filename for s in SCHEMAS.values()]!r}."
        )
    missing = [s.filename for s in SCHEMAS.values() if not (data_dir / s.filename).is_file()]
    if missing:
        found = sorted(p.name for p in data_dir.iterdir() if p.suffix.lower() == ".csv")
        raise DataContractError(
            f"missing input file(s) {missing!r} in {str(data_dir)!r} (found CSV files: {found!r}); "
            "all six files of the contract are required, even if some are only headers."
        )

    rejects_dir = None
    if out_dir is not None:
        rejects_dir = Path(out_dir) / "rejects"
        rejects_dir.mkdir(parents=True, exist_ok=True)

    scans = {name: _FileScan(s, data_dir, rejects_dir, chunksize) for name, s in SCHEMAS.items()}
    for scan in scans.values():  # every header before any row: fail fast on the contract
        scan.open_header()
    for scan in scans.values():
        scan.decide_dates()

    # Re-aggregate partial sums when they exceed a few chunks' worth of rows (and double).
    min_rows = 4 * chunksize
    branches = _load_keyed_table(scans["branches"])
    items = _load_keyed_table(scans["item_master"])
    employees = _load_keyed_table(scans["employees"])
    stock = _load_stock_current(scans["stock_current"])
    transfers, movement_stats = _load_movements(scans["stock_movement"], min_rows)
    sold, returns = _load_sales(scans["sales_transactions"], min_rows)
    flows = _build_flows(transfers, sold)

    file_reports = {scan.schema.filename: scan.finish() for scan in scans.values()}
    findings = [f for scan in scans.values() for f in scan.findings]
    findings += _cross_file_findings(
        branches=branches,
        items=items,
        employees=employees,
        stock=stock,
        transfers=transfers,
        sold=sold,
        flows=flows,
        movement_stats=movement_stats,
        returns=returns,
    )
    if len(stock) == 0:
        findings.append(
            Finding(
                "empty_snapshot",
                "no stock_current row was accepted: stock cannot be reconstructed",
                severity="warning",
                file="stock_current.csv",
                count=0,
            )
        )

    observed = pd.concat(
        [transfers["Date"], sold["Date"], stock["LastUpdatedAt"].dt.normalize()],
        ignore_index=True,
    ).dropna()
    report = ValidationReport(files=file_reports, findings=findings)
    if len(observed):
        history_start, history_end = observed.min(), observed.max()
        report.history_start = history_start.date().isoformat()
        report.history_end = history_end.date().isoformat()
    if out_dir is not None:
        path = Path(out_dir) / REPORT_FILENAME
        path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), "utf-8")
        logger.info("validation report written to %s", path)
    for f in findings:
        if f.severity == "warning":
            logger.warning("%s%s", f"{f.file}: " if f.file else "", f.message)
    if not len(observed):
        raise DataContractError(
            f"no usable dated row in stock_movement.csv, sales_transactions.csv or "
            f"stock_current.csv under {str(data_dir)!r}; see the reject reasons:\n{report.format()}"
        )
    return ChainData(
        stock_current=stock,
        flows=flows,
        transfers=transfers,
        branches=branches,
        items=items,
        employees=employees,
        report=report,
        history_start=pd.Timestamp(history_start),
        history_end=pd.Timestamp(history_end),
    )
