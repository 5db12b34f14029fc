"""What ingestion read, accepted, rejected and noticed: the report types and the contract error.

:class:`ValidationReport` is written to ``<out_dir>/`` :data:`REPORT_FILENAME` (always, also when
a fatal error stops ingestion: then with the error) and printed by ``stockout-sk validate``;
every rejected row goes to ``<out_dir>/rejects/<file>.csv`` with its original columns plus
:data:`REJECT_REASON_COLUMN`, :data:`REJECT_LINE_COLUMN` (the physical line of the file) and
:data:`REJECT_RAW_COLUMN` (the line as read, for lines that could not be split into columns).

One meaning of "ok": :attr:`ValidationReport.usable` — every row accounted for, a snapshot to
anchor stock on, and no *blocking* finding (what would make training fail or lie). Quarantined
rows do not make data unusable; they are what :attr:`ValidationReport.clean` counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "REJECT_LINE_COLUMN",
    "REJECT_RAW_COLUMN",
    "REJECT_REASON_COLUMN",
    "REPORT_FILENAME",
    "DataContractError",
    "FileReport",
    "Finding",
    "ValidationReport",
]

#: Columns appended to every rejects file.
REJECT_REASON_COLUMN = "reason"
REJECT_LINE_COLUMN = "line"
REJECT_RAW_COLUMN = "raw"
#: Name of the JSON summary written to ``out_dir``.
REPORT_FILENAME = "validation_report.json"


class DataContractError(ValueError):
    """The input breaks the data contract: a file or a required column is missing or unreadable.

    The message names the file, the column (when one is at fault), what was found, and how to fix
    it. Row-level problems are never raised: those rows are quarantined and reported.

    Attributes
    ----------
    report : ValidationReport or None
        What was read before the error, with the error in it (set by ``load_chain``).
    """

    report: ValidationReport | None = None


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
    blocking : bool
        The data is not fit to train on as it is: training would fail or lie (an empty sales
        file, a history too short for the windows), or the export's dates are wrong (rows dated
        after today or after the snapshot, a stretch cut off the history). ``stockout-sk
        validate`` reports the data as not usable.
    """

    code: str
    message: str
    severity: Literal["info", "warning"] = "info"
    file: str | None = None
    count: int | None = None
    blocking: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "code": self.code,
            "severity": self.severity,
            "blocking": self.blocking,
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
        Records read (every non-blank line after the header, malformed ones included; a record
        whose quoted field holds a line break is one record over several lines).
    accepted : int
        Records that made it into :class:`ChainData`.
    rejected : int
        Records quarantined (``duplicates`` included).
    duplicates : int
        Rejected because their key was already seen (e.g. the same ``MovementID`` exported twice).
    blank_lines : int
        Fully blank lines, skipped (not records).
    lines : int
        Physical lines of the file, the header's included.
    encoding : str or None
        The codec the file was read with (``utf-8``, ``utf-16-le``, ``cp1256`` …).
    bom : bool
        The file starts with a byte-order mark.
    delimiter : str or None
        The field delimiter (detected from the header unless the run named one).
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
    lines: int = 0
    encoding: str | None = None
    bom: bool = False
    delimiter: str | None = None
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
            "lines": int(self.lines),
            "encoding": self.encoding,
            "bom": self.bom,
            "delimiter": self.delimiter,
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
    error : str or None
        The fatal error that stopped ingestion (the report then holds what was read before it).
    """

    files: dict[str, FileReport] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    history_start: str | None = None
    history_end: str | None = None
    error: str | None = None

    @property
    def usable(self) -> bool:
        """Training may go on: no fatal error, every file reconciles, and no finding says
        training would fail or lie (an empty snapshot is one). Quarantined rows are no reason
        to stop: they are in the rejects files."""
        return self.error is None and bool(self.files) and self.reconciled and not self.blocking

    @property
    def ok(self) -> bool:
        """The one meaning of "ok": :attr:`usable` (``validate`` exits 0 exactly when it holds)."""
        return self.usable

    @property
    def clean(self) -> bool:
        """No fatal error, every file reconciles and no row was rejected."""
        return self.error is None and all(f.ok for f in self.files.values())

    @property
    def reconciled(self) -> bool:
        """Every file satisfies ``read == accepted + rejected``."""
        return all(f.reconciled for f in self.files.values())

    @property
    def blocking(self) -> list[Finding]:
        """The findings that would make training fail or lie."""
        return [f for f in self.findings if f.blocking]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict, as written to ``validation_report.json``."""
        return {
            "ok": self.ok,
            "usable": self.usable,
            "clean": self.clean,
            "reconciled": self.reconciled,
            "error": self.error,
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
        if self.error is not None:
            lines.append(f"FATAL: {self.error}")
        lines.append("findings:" if self.findings else "findings: none")
        for f in self.findings:
            where = f"{f.file}: " if f.file else ""
            tag = "BLOCKING" if f.blocking else f.severity
            lines.append(f"  [{tag}] {where}{f.message}")
        return "\n".join(lines)
