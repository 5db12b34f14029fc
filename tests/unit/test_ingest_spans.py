"""A file read in spans gives what one read of the whole file gives (issue #14 on #16's scanner).

:mod:`stockout_sk.ingest.spans` without a cluster: the spans of a messy sales file — records
whose quoted field holds line breaks (cut anywhere), an unbalanced quote, blank lines, a repeated
header, a ragged line, a future date, undecodable bytes — in UTF-8, UTF-8 with a BOM and CRLF,
UTF-16, cp1256 and with semicolons, each scanned on its own and added up, against the
single-process scan of the whole file: the same valid rows and line numbers, the same report,
findings and rejects.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockout_sk.config import CsvFormat
from stockout_sk.dates import DayfirstEvidence
from stockout_sk.ingest.encoding import _Encoding
from stockout_sk.ingest.reader import _Span
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.spans import (
    _absorb,
    _count_lines,
    _cuts,
    _plan,
    _span_scan,
    _survey,
    _take_rejects,
)
from stockout_sk.schemas import SALES_TRANSACTIONS

pytestmark = pytest.mark.unit

LATEST_DAY = pd.Timestamp("2024-06-02")
HEADER = ["Date", "BranchID", "BranchName", "InvoiceNumber", "ItemCode", "ItemName", "QuantitySold"]


def messy_rows(n: int = 8) -> list[str]:
    """Lines (without line ends) of a sales export with every kind of trouble, ``n`` times."""
    head = ",".join(HEADER)
    out = [head]
    for i in range(n):
        day = f"2024-01-{i % 28 + 1:02d}"
        name = "حليب كامل" if i % 2 else "Milk"
        out += [
            f"{day},B1,Main,INV{i}a,ITM{i % 5},{name},{i % 7 + 1}",
            f'{day},B2,"North, Mall",INV{i}b,ITM{i % 3},"two\nline {name}",3',
            "",
            f'{day},B1,Main,INV{i}c,ITM1,"open quote,3',
            f"{day},B1,Main,INV{i}d,ITM2,ok,4",
            f'{day},B2,North,INV{i}e,ITM3,"three\n\nlines",٣',
            f"{day},B1,Main,INV{i}f,ITM1,ragged,4,extra",
            ",,,,,,",
            f'{day},B2,North,INV{i}g,ITM4,"a ""quoted"" word",2',
        ]
        if i % 4 == 1:
            out.append(head)  # files concatenated
        if i % 5 == 2:
            out.append(f"2031-{day[5:]},B1,Main,INV{i}h,ITM1,typo in the year,1")
    return out


def write(path: Path, lines: list[str], *, encoding: str, newline: str, delimiter: str) -> None:
    text = newline.join(line.replace(",", delimiter) for line in lines)
    if encoding == "cp1256":  # it has no Arabic-Indic digits
        text = text.replace("٣", "3")
    path.write_bytes(text.encode(encoding))


#: Encoding, line end, delimiter, and the run's CSV settings.
VARIANTS = {
    "utf8": ("utf-8", "\n", ",", CsvFormat()),
    "bom-crlf": ("utf-8-sig", "\r\n", ",", CsvFormat()),
    "utf16": ("utf-16", "\n", ",", CsvFormat()),
    "cp1256": ("cp1256", "\r\n", ",", CsvFormat("cp1256")),
    "semicolon": ("utf-8", "\n", ";", CsvFormat()),
}


def new_scan(data: Path, rejects: Path, fmt: CsvFormat) -> _FileScan:
    rejects.mkdir(parents=True, exist_ok=True)
    scan = _FileScan(SALES_TRANSACTIONS, data, rejects, 4, fmt, LATEST_DAY)
    scan.open_header()
    return scan


def read_whole(data: Path, rejects: Path, fmt: CsvFormat):
    scan = new_scan(data, rejects, fmt)
    scan.decide_dates()
    chunks = list(scan.chunks())
    scan.accept(sum(len(c.typed) for c in chunks))
    scan.finish()
    return scan, chunks


def read_in_spans(data: Path, rejects: Path, fmt: CsvFormat, block_bytes: int):
    scan = new_scan(data, rejects, fmt)
    cuts = _cuts(scan, block_bytes)
    lines = [
        _count_lines(scan.path, scan.header.encoding, a, b) for a, b in itertools.pairwise(cuts)
    ]
    surveys = _plan(scan, cuts, lines, lambda spans: [_survey(scan, s) for s in spans])
    evidence = {"Date": DayfirstEvidence()}
    for found in surveys:
        evidence["Date"] = evidence["Date"] + found.evidence["Date"]
    scan.decide_dates(evidence)
    chunks = []
    for found in surveys:
        part = _span_scan(scan, found.span, found.clean, rejects=True)
        got = list(part.chunks())
        part.accept(sum(len(c.typed) for c in got))
        chunks += got
        kept = part.rejects_path
        _absorb(scan, part, _take_rejects(part))
        assert kept is not None
        assert not kept.exists()  # a temporary file, removed
    scan.finish()
    return scan, chunks, cuts, surveys


def rejects_of(scan: _FileScan) -> pd.DataFrame:
    frame = pd.read_csv(scan.rejects_path, dtype=str, keep_default_na=False)
    return frame.sort_values("line", key=lambda s: s.astype(int), kind="stable").reset_index(
        drop=True
    )


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("block_bytes", [1, 97, 1 << 20])
def test_spans_add_up_to_the_whole_file(tmp_path, variant, block_bytes) -> None:
    encoding, newline, delimiter, fmt = VARIANTS[variant]
    data = tmp_path / "data"
    data.mkdir()
    rows = messy_rows()
    if encoding == "utf-8":
        rows.insert(5, "2024-01-02,B1,Main,INV-x,ITM1,@STRAY@ byte,1")
    path = data / SALES_TRANSACTIONS.filename
    write(path, rows, encoding=encoding, newline=newline, delimiter=delimiter)
    if encoding == "utf-8":
        path.write_bytes(path.read_bytes().replace(b"@STRAY@", b"\xff"))  # not valid UTF-8

    whole, expected = read_whole(data, tmp_path / "one", fmt)
    spans, got, cuts, surveys = read_in_spans(data, tmp_path / "spans", fmt, block_bytes)

    if block_bytes < 1000:
        assert len(surveys) > 5
    if block_bytes == 1:  # every line end a cut: some fall inside a record and move back
        assert any(s.span.start != cut for s, cut in zip(surveys, cuts, strict=False))
    assert [s.span.start for s in surveys[1:]] == [s.end for s in surveys[:-1]]
    for attr in ("raw", "typed"):
        pd.testing.assert_frame_equal(
            pd.concat([getattr(c, attr) for c in got], ignore_index=True),
            pd.concat([getattr(c, attr) for c in expected], ignore_index=True),
        )
    assert np.array_equal(
        np.concatenate([c.lines for c in got]), np.concatenate([c.lines for c in expected])
    )
    report, expected_report = spans.report.to_dict(), whole.report.to_dict()
    for r in (report, expected_report):
        r.pop("rejects_path")
    assert report == expected_report
    assert spans.findings == whole.findings
    assert spans.events == whole.events
    pd.testing.assert_frame_equal(rejects_of(spans), rejects_of(whole))
    codes = {f.code for f in whole.findings}
    assert {"header_repeated", "future_dates", "multiline_records", "unbalanced_quote"} <= codes
    assert whole.report.blank_lines > 0


def test_a_span_that_ends_inside_a_record_leaves_it_to_the_next(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    lines = [
        ",".join(HEADER),
        '2024-01-02,B1,Main,I1,ITM1,"two',
        'lines",3',
        "2024-01-02,B1,M,I2,ITM1,x,4",
    ]
    write(data / SALES_TRANSACTIONS.filename, lines, encoding="utf-8", newline="\n", delimiter=",")
    scan = new_scan(data, tmp_path / "rejects", CsvFormat())
    header_end = len(lines[0]) + 1
    inside = header_end + len(lines[1]) + 1  # the cut between the record's two lines
    first = _survey(scan, _Span(header_end, inside, 2))
    assert (first.end, first.last_line) == (header_end, 1)  # nothing of its own: all carried
    second = _survey(scan, _Span(first.end, inside + len(lines[2]) + 1, 2))
    assert (second.end, second.last_line) == (inside + len(lines[2]) + 1, 3)


def test_line_feeds_counted_where_the_file_is_mapped(tmp_path, monkeypatch):
    """Any range of a file, over many map windows (a window begins on the system's mapping
    granularity, not on the range's start), past the file's end, empty, UTF-16."""
    monkeypatch.setattr("stockout_sk.ingest.spans._COUNT_WINDOW", 1 << 16)
    rng = np.random.default_rng(3)
    data = rng.choice(np.frombuffer(b"ab,\n\r", dtype=np.uint8), 300_000).tobytes()
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    utf8 = _Encoding("utf-8")
    for a, b in [(0, len(data)), (0, 0), (5, 5), (70_000, len(data) + 99)]:
        assert _count_lines(path, utf8, a, b) == data[a:b].count(b"\n")
    for a in rng.integers(0, len(data), 100):
        b = int(a + rng.integers(0, 200_000))
        assert _count_lines(path, utf8, int(a), b) == data[a:b].count(b"\n"), (a, b)
    wide = tmp_path / "f16.csv"
    wide.write_bytes("a\nb\n\nc".encode("utf-16-le"))
    assert _count_lines(wide, _Encoding("utf-16-le"), 0, wide.stat().st_size) == 3
