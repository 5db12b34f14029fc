"""A clean block read as distinct values validates as its rows do (issue #14.4).

``_FileScan.chunks(keep=...)`` reads a block whose every line is one well-formed record as the
kept columns' distinct values and each row's code, and parses, strips and judges each distinct
value once (:mod:`stockout_sk.ingest.chunks`). Everything here is checked against the rows read
as strings: the typed values, each row's reason, what is counted (in rows, not values), the
report, the findings and the rejects — and that a chunk with anything to reject, a blank row or
a repeated header is read from its strings after all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockout_sk.dates import parse_dates
from stockout_sk.ingest.chunks import _Chunk, _chunk_values
from stockout_sk.ingest.parse import _read_distinct, _Shape
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.tables import _load_movements, _same_text
from stockout_sk.ingest.validate import _validate, _Values
from stockout_sk.schemas import ITEM_MASTER, SALES_TRANSACTIONS, STOCK_MOVEMENT

pytestmark = pytest.mark.unit

LATEST_DAY = pd.Timestamp("2024-06-02")
HEADER = "Date,BranchID,BranchName,InvoiceNumber,ItemCode,ItemName,QuantitySold"
NAMES = HEADER.split(",")
COLMAP = {c: c for c in NAMES}

#: What real exports put in the checked columns: good values, and every kind of bad one.
DATES = ["2024-01-05", " 2024-01-05", "05/01/2024", "12/01/2024", "2024-01-05T10:00+03:00",
         "", "soon", "2031-01-01", "13/13/2024", "2024-03-01 14:30"]  # fmt: skip
QUANTITIES = ["3", " 4 ", "1,234", "١٢", "1,5", "", "abc", "-2", "2.5", "nan", "inf", "007"]
IDS = ["B1", " B1", "B2", "", "  ", "B3 "]


def chunk(rng: np.random.Generator, n: int, dates: list[str]) -> pd.DataFrame:
    """``n`` rows of strings drawn from the lists above, a few values much more often."""

    def draw(values: list[str]) -> list[str]:
        p = rng.dirichlet(np.full(len(values), 0.5))
        return list(rng.choice(values, size=n, p=p))

    columns = {
        "Date": draw(dates),
        "BranchID": draw(IDS),
        "BranchName": draw(["Main", " Olaya "]),
        "InvoiceNumber": [f"INV{i}" for i in range(n)],
        "ItemCode": draw(IDS),
        "ItemName": draw(['Milk "Premium"', ""]),
        "QuantitySold": draw(QUANTITIES),
    }
    return pd.DataFrame(columns, dtype="str")


def distinct(raw: pd.DataFrame, keep: list[str]) -> dict[str, _Values]:
    """The columns ``keep`` of ``raw`` as distinct values and codes, first appearance first."""
    out = {}
    for name in keep:
        codes, values = pd.factorize(raw[name])
        out[name] = _Values(pd.Series(np.asarray(values, dtype=object), dtype="str"), codes)
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dayfirst", [True, False, None])
def test_distinct_values_validate_as_their_rows(seed: int, dayfirst: bool | None) -> None:
    rng = np.random.default_rng(seed)
    raw = chunk(rng, 400, DATES)

    def parse(values: pd.Series, col: str, weights: np.ndarray | None):
        return parse_dates(values, column=col, dayfirst=dayfirst, weights=weights)

    rows = {c: _Values(raw[c]) for c in raw.columns}
    want, want_reason, want_counts = _validate(
        rows, raw.index, SALES_TRANSACTIONS, COLMAP, LATEST_DAY, parse
    )
    keep = ["Date", "BranchID", "ItemCode", "QuantitySold"]
    got, reason, counts = _validate(
        distinct(raw, keep), raw.index, SALES_TRANSACTIONS, COLMAP, LATEST_DAY, parse
    )
    assert (reason is None) == (want_reason is None)  # None: every row usable
    if reason is not None:
        assert reason.tolist() == want_reason.tolist()
        valid = raw[want_reason == ""].reset_index(drop=True)
        _, no_reason, _ = _validate(
            distinct(valid, keep), valid.index, SALES_TRANSACTIONS, COLMAP, LATEST_DAY, parse
        )
        assert no_reason is None
    assert counts == want_counts
    assert list(got.columns) == keep  # free text no row can be rejected for is left out
    for c in keep:
        values = got[c].astype("str") if isinstance(got[c].dtype, pd.CategoricalDtype) else got[c]
        pd.testing.assert_series_equal(values, want[c], check_exact=True)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dayfirst", [True, None])
def test_parse_dates_of_distinct_values_counts_their_rows(seed: int, dayfirst: bool | None):
    rows = chunk(np.random.default_rng(seed), 300, DATES)["Date"]
    codes, values = pd.factorize(rows)
    values = pd.Series(np.asarray(values, dtype=object), dtype="str")
    weights = np.bincount(codes, minlength=len(values))
    want = parse_dates(rows, column="Date", dayfirst=dayfirst)
    got = parse_dates(values, column="Date", dayfirst=dayfirst, weights=weights)
    assert got.formats == want.formats
    assert got.n_offset_dropped == want.n_offset_dropped
    assert got.evidence == want.evidence
    assert got.dayfirst == want.dayfirst
    np.testing.assert_array_equal(got.values.to_numpy()[codes], want.values.to_numpy())


def test_a_chunk_holds_only_its_own_distinct_values() -> None:
    values = pd.Series(["a", "b", "c", "d"], dtype="str")
    got = _chunk_values(np.array([0, 3, 1, 3, 2]), values, 1, 4)
    assert got.strings.tolist() == ["b", "d"]
    assert got.codes.tolist() == [1, 0, 1]
    assert got.weights.tolist() == [1, 2]


def test_a_block_with_a_carriage_return_is_left_to_the_strings() -> None:
    shape = _Shape(",", NAMES, np.zeros(len(NAMES), dtype=bool), distinct=[0, 1])
    row = b"2024-01-05,B1,Main,INV1,ITM1,Milk,3"
    assert _read_distinct(row + b"\r\n", shape) is None
    read = _read_distinct(row + b"\n" + row.replace(b"B1", b"B2") + b"\n", shape)
    assert read is not None
    assert read.rows == 2
    codes, values = read.columns["BranchID"]
    assert codes.tolist() == [0, 1]
    assert values.tolist() == ["B1", "B2"]


def sales_file(folder: Path, n: int, trouble: dict[int, str], newline: str = "\n") -> Path:
    """``n`` clean sales rows (a quoted name, a few days, IDs and quantities), with the lines
    of ``trouble`` (row number → line) put in their place."""
    rows = [HEADER]
    for i in range(n):
        line = (
            f'2024-0{1 + i // 2000}-{10 + i % 3},B{i % 5},"Main, {i % 5}",INV{i},'
            f'ITM{i % 40},"Milk ""{i % 7}""",{i % 9 + 1}'
        )
        rows.append(trouble.get(i, line))
    path = folder / SALES_TRANSACTIONS.filename
    path.write_bytes((newline.join(rows) + newline).encode("utf-8"))
    return path


def read(folder: Path, name: str, keep: list[str] | None) -> tuple[_FileScan, list, bytes]:
    rejects = folder / name
    rejects.mkdir()
    scan = _FileScan(SALES_TRANSACTIONS, folder, rejects, 1000, None, LATEST_DAY)
    scan.open_header()
    scan.decide_dates()
    chunks = list(scan.chunks(keep=keep))
    scan.accept(sum(len(c.typed) for c in chunks))
    scan.finish()
    return scan, chunks, (rejects / SALES_TRANSACTIONS.filename).read_bytes()


TROUBLE = {
    1500: "2024-01-10,B1,Main,INV,ITM1,Milk,abc",  # a quantity that is not one
    4200: ",,,,,,",  # a blank row of a spreadsheet
    6100: HEADER,  # a second export appended
    7000: "2024-01-10,  ,Main,INV,ITM1,Milk,2",  # an ID of spaces
    7300: "2024-01-10,B1,Main,INV,ITM1,Milk",  # a field short
    8800: "2025-01-10,B1,Main,INV,ITM1,Milk,2",  # a date after today
}
#: A valid row whose name holds a lone carriage return, which Arrow would end a line at.
LONE_CR = {2500: "2024-01-10,B1,Main,INV,ITM1,Milk\rX,2"}


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_file_read_for_some_columns_equals_the_file_read_whole(tmp_path, newline):
    sales_file(tmp_path, 9000, {**TROUBLE, **LONE_CR}, newline)
    keep = ["Date", "BranchID", "ItemCode", "QuantitySold"]
    scan, got, got_rejects = read(tmp_path, "kept", keep)
    reference, want, want_rejects = read(tmp_path, "whole", None)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        typed = a.typed[keep].astype(dict.fromkeys(("BranchID", "ItemCode"), "str"))
        pd.testing.assert_frame_equal(typed, b.typed[keep], check_exact=True)
        assert a.lines.tolist() == b.lines.tolist()
    report = {**reference.report.to_dict(), "rejects_path": None}
    assert {**scan.report.to_dict(), "rejects_path": None} == report
    assert [f.to_dict() for f in scan.findings] == [f.to_dict() for f in reference.findings]
    assert got_rejects == want_rejects
    assert scan.report.rejected == len(TROUBLE) - 1  # the blank row is no record
    # Only the chunks of those rows were read from their strings (CRLF line ends as well).
    troubled = {next(i for i, c in enumerate(want) if c.lines[-1] >= row + 2) for row in TROUBLE}
    strings = [c.raw is not None for c in got]
    cr = next(i for i, c in enumerate(want) if c.lines[-1] >= 2502)
    assert strings[cr]  # a block holding a lone carriage return is read as strings, whole
    strings[cr - 1 : cr + 2] = [i in troubled for i in range(cr - 1, cr + 2)]
    assert strings == [i in troubled for i in range(len(got))]


def test_a_repeated_header_of_text_columns_is_told_from_the_rows(tmp_path):
    """An item master appended to another: its header row is a valid ItemCode ("ItemCode"),
    so no check of the values rejects it; only the rows' text tells it is a header."""
    lines = ["ItemCode,ArabicName,EnglishName,BrandOnBox"]
    lines += [f"ITM{i},حليب,Milk {i},Jood" for i in range(3000)]
    lines.insert(2000, lines[0])
    (tmp_path / ITEM_MASTER.filename).write_text("\n".join(lines) + "\n", encoding="utf-8")
    reads = []
    for keep in (["ItemCode"], None):
        rejects = tmp_path / f"rejects-{keep is None}"
        rejects.mkdir()
        scan = _FileScan(ITEM_MASTER, tmp_path, rejects, 500, None, LATEST_DAY)
        scan.open_header()
        scan.decide_dates()
        chunks = list(scan.chunks(keep=keep))
        reads.append((scan, chunks, (rejects / ITEM_MASTER.filename).read_bytes()))
    (scan, got, got_rejects), (reference, want, want_rejects) = reads
    assert scan.events.header_repeats == reference.events.header_repeats == [2001]
    assert got_rejects == want_rejects
    assert b"header repeated at line 2001" in got_rejects
    assert [c.lines.tolist() for c in got] == [c.lines.tolist() for c in want]
    assert any(c.raw is None for c in got)


def movements_file(folder: Path, n: int) -> None:
    """``n`` movements with repeated IDs (some the same row again, some not), self-transfers
    and names holding delimiters: every block clean, every row valid."""
    rows = [",".join(STOCK_MOVEMENT.columns)]
    for i in range(n):
        movement = f"MV{i:06d}" if i % 97 else f"MV{i - 50:06d}"  # a duplicate every 97 rows
        to = f"B{(i + 1) % 4}" if i % 13 else f"B{i % 4}"  # a self-transfer every 13
        quantity = (i - 50) % 9 + 1 if i % 194 else 9  # half the duplicates conflict
        rows.append(
            f'{movement},2024-02-{1 + i // 600:02d},B{i % 4},"Main, {i % 4}",{to},To,'
            f"ITM{i % 30},Milk,{quantity if i % 97 == 0 else i % 9 + 1}"
        )
    (folder / STOCK_MOVEMENT.filename).write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_movements_read_for_some_columns_equal_movements_read_whole(tmp_path, monkeypatch):
    movements_file(tmp_path, 8000)
    read_again = []  # per duplicate's chunk: read from its block's bytes (no strings kept)?
    original = _Chunk.text
    monkeypatch.setattr(_Chunk, "text", lambda c: read_again.append(c.raw is None) or original(c))
    got = {}
    for kept in (True, False):
        rejects = tmp_path / f"rejects-{kept}"
        rejects.mkdir()
        scan = _FileScan(STOCK_MOVEMENT, tmp_path, rejects, 1000, None, LATEST_DAY)
        scan.open_header()
        scan.decide_dates()
        transfers, stats = _load_movements(scan, 4000, chunks=None if kept else scan.chunks())
        scan.finish()
        report = {**scan.report.to_dict(), "rejects_path": None}
        text = (rejects / STOCK_MOVEMENT.filename).read_bytes()
        got[kept] = (transfers, stats, report, text)
    (transfers, stats, report, text), (want, want_stats, want_report, want_text) = got.values()
    pd.testing.assert_frame_equal(transfers, want, check_exact=True)
    assert stats.conflicting_duplicates == want_stats.conflicting_duplicates > 0
    assert stats.self_transfers == want_stats.self_transfers > 0
    assert stats.days.series().equals(want_stats.days.series())
    assert report == want_report
    assert report["duplicates"] > 50
    assert text == want_text  # the duplicates' text, read again from their blocks
    assert read_again.count(True) == len(read_again) // 2 > 0  # the distinct read's chunks


def test_same_text_of_categoricals_with_categories_of_their_own() -> None:
    a = pd.Series(pd.Categorical(["B1", "B2", "B3", "B1"], categories=["B3", "B1", "B2"]))
    b = pd.Series(pd.Categorical(["B1", "B1", "B3", "B9"], categories=["B9", "B1", "B3"]))
    assert _same_text(a, b).tolist() == [True, False, True, False]
    assert _same_text(a.astype("str"), b.astype("str")).tolist() == [True, False, True, False]
