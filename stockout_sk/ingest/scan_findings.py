"""The findings of one file's scan: what its lines and values looked like, with examples.

Quarantined rows are already in the rejects file with a reason each; a finding adds what a
person needs to fix the export: which lines, how many, and what to do.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from stockout_sk.ingest.encoding import _Encoding
from stockout_sk.ingest.report import FileReport, Finding

#: Example lines a message shows.
_EXAMPLES = 3


@dataclass
class _LineEvents:
    """What the reader saw beyond good records, for the findings (a few examples each)."""

    unbalanced: list[tuple[int, int]] = field(default_factory=list)
    multiline: list[tuple[int, int]] = field(default_factory=list)
    #: Line, byte of the line and byte of the file of the first byte that does not decode.
    undecodable: list[tuple[int, int, int]] = field(default_factory=list)
    header_repeats: list[int] = field(default_factory=list)
    extra_lines: int = 0  # lines beyond the first of multi-line records


def _line_findings(
    rep: FileReport,
    events: _LineEvents,
    counts: Counter[tuple[str, str]],
    encoding: _Encoding,
) -> list[Finding]:
    """Every per-file finding, in a fixed order."""
    fn = rep.file
    out: list[Finding] = []
    for (what, col), n in sorted(counts.items()):
        if not n:
            continue
        if what == "thousands":
            text = f"{n} {col} value(s) used a thousands separator (e.g. '1,234'); read as numbers"
            out.append(Finding("thousands_separator", text, file=fn, count=n))
        elif what == "arabic_digits":
            text = f"{n} {col} value(s) are in Arabic-Indic digits (e.g. '١٢'); read as numbers"
            out.append(Finding("arabic_indic_digits", text, file=fn, count=n))
        elif what.startswith("future:"):
            text = (
                f"{n} {col} value(s) lie after today ({what.removeprefix('future:')}, UTC) and "
                "their rows were quarantined: a typo in the year? Fix them in the export"
            )
            out.append(
                Finding("future_dates", text, severity="warning", file=fn, count=n, blocking=True)
            )
        elif what == "offset_dropped":
            text = (
                f"{n} {col} value(s) carried a timezone offset; the offset was dropped and the "
                "wall-clock date kept"
            )
            out.append(Finding("timezone_dropped", text, file=fn, count=n))
    if rep.blank_lines:
        text = f"{rep.blank_lines} blank line(s) skipped"
        out.append(Finding("blank_lines", text, file=fn, count=rep.blank_lines))
    if events.unbalanced:
        n = len(events.unbalanced)
        shown = ", ".join(
            f"line {a} (would merge lines {a}–{b})" if b > a else f"line {a}"
            for a, b in events.unbalanced[:_EXAMPLES]
        )
        text = (
            f"{n} line(s) open a quote they do not close: {shown}{_more(n)}. Each such line is "
            "quarantined and the lines after it are read on their own (no record swallows "
            "them); fix the quoting of those lines in the export"
        )
        out.append(Finding("unbalanced_quote", text, severity="warning", file=fn, count=n))
    if events.multiline:
        n = len(events.multiline)
        shown = ", ".join(f"lines {a}–{b}" for a, b in events.multiline[:_EXAMPLES])
        text = (
            f"{n} record(s) span several lines (a quoted text field holds a line break): "
            f"{shown}{_more(n)}; line numbers count physical lines"
        )
        out.append(Finding("multiline_records", text, file=fn, count=n))
    if events.undecodable:
        n = len(events.undecodable)
        shown = ", ".join(f"line {a} byte {b}" for a, b, _ in events.undecodable[:_EXAMPLES])
        text = (
            f"{n} line(s) hold bytes that are not valid {encoding.codec.upper()} ({shown}"
            f"{_more(n)}) and were quarantined; if the export is in another encoding, re-run "
            "with --encoding (cp1256 for Arabic Windows, latin-1 for Western European)"
        )
        out.append(Finding("undecodable_bytes", text, severity="warning", file=fn, count=n))
    if events.header_repeats:
        n = len(events.header_repeats)
        shown = ", ".join(str(x) for x in events.header_repeats[:_EXAMPLES])
        text = (
            f"header repeated at line {shown}{_more(n)} (files concatenated?); the repeated "
            "header row(s) were quarantined"
        )
        out.append(Finding("header_repeated", text, severity="warning", file=fn, count=n))
    return out


def _more(n: int) -> str:
    return f" and {n - _EXAMPLES:,} more" if n > _EXAMPLES else ""
