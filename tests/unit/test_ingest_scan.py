"""A file read once gives what reading its dates first gives (issue #14.4).

:class:`~stockout_sk.ingest.scan._FileScan` defers a file's day/month decision when reading its
date columns up front cannot fail (every byte valid UTF-8): the main pass parses each chunk
without an order until it meets the first slashed day-month-year date, and only then reads the
evidence. Every test here runs the deferred read against the reference — the evidence read up
front, as before — and asks for the same valid rows, line numbers, reasons, report, findings
(in the same place) and rejects: with no slashed date, with one in the last chunk only, with
only ambiguous ones, with one that is impossible, and when another file stops ingestion.
"""

from __future__ import annotations

import mmap
import shutil
from pathlib import Path

import pandas as pd
import pytest

from stockout_sk.ingest import load_chain
from stockout_sk.ingest.encoding import _all_utf8
from stockout_sk.ingest.report import DataContractError
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.schemas import SALES_TRANSACTIONS
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.unit

LATEST_DAY = pd.Timestamp("2024-06-02")
HEADER = "Date,BranchID,BranchName,InvoiceNumber,ItemCode,ItemName,QuantitySold"


def sales_file(folder: Path, dates: list[str]) -> Path:
    """A sales export with one row per date (a bad quantity and a blank ID among them)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [HEADER]
    for i, day in enumerate(dates):
        quantity = "abc" if i == 5 else str(i % 7 + 1)
        branch = "" if i == 9 else f"B{i % 3}"
        rows.append(f'{day},{branch},"Main, {i}",INV{i},ITM{i % 4},حليب كامل,{quantity}')
    path = folder / SALES_TRANSACTIONS.filename
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def read(folder: Path, *, up_front: bool) -> tuple[_FileScan, list, bytes]:
    """The whole file scanned in chunks of 3 rows: the scan, its chunks, its rejects file."""
    rejects = folder / "rejects"  # one place for both reads: the report names it
    rejects.mkdir(exist_ok=True)
    scan = _FileScan(SALES_TRANSACTIONS, folder, rejects, 3, None, LATEST_DAY)
    scan.open_header()
    scan.decide_dates(scan.date_evidence() if up_front else None)
    chunks = list(scan.chunks())
    scan.accept(sum(len(c.typed) for c in chunks))
    scan.finish()
    return scan, chunks, (rejects / SALES_TRANSACTIONS.filename).read_bytes()


def assert_same_read(folder: Path) -> _FileScan:
    deferred, got, got_rejects = read(folder, up_front=False)
    reference, want, want_rejects = read(folder, up_front=True)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(a.typed, b.typed, check_exact=True)
        pd.testing.assert_frame_equal(a.raw, b.raw, check_exact=True)
        assert a.lines.tolist() == b.lines.tolist()
    assert deferred.report.to_dict() == reference.report.to_dict()
    assert [f.to_dict() for f in deferred.findings] == [f.to_dict() for f in reference.findings]
    assert got_rejects == want_rejects
    assert deferred.dayfirst == reference.dayfirst
    return deferred


ISO = [f"2024-0{1 + i % 5}-{10 + i % 18:02d}" for i in range(30)]


def test_a_file_without_slashed_dates_is_read_once(tmp_path, monkeypatch):
    sales_file(tmp_path, ISO)
    calls = []
    original = _FileScan.date_evidence
    monkeypatch.setattr(_FileScan, "date_evidence", lambda self: calls.append(1) or original(self))
    read(tmp_path, up_front=False)
    assert calls == []  # the evidence pass never ran
    assert_same_read(tmp_path)


@pytest.mark.parametrize(
    "late",
    [
        "25/03/2024",  # proves day-first, in the last chunk only
        "03/25/2024",  # proves month-first
        "01/02/2024",  # ambiguous: a warning, the default order
        "31/31/2024",  # impossible either way: no evidence, an unparseable date
        "13/12/2024 10:00 PM",  # with a time
    ],
)
def test_a_slashed_date_late_in_the_file_gives_the_decision_made_up_front(tmp_path, late):
    sales_file(tmp_path, [*ISO, late, "2024-02-02"])
    scan = assert_same_read(tmp_path)
    assert scan.report.dates["Date"]["formats"]


def test_slashed_dates_throughout_and_a_contradiction(tmp_path):
    dates = [*ISO[:4], "25/03/2024", *ISO[4:20], "03/25/2024", "26/03/2024", *ISO[20:]]
    sales_file(tmp_path, dates)
    scan = assert_same_read(tmp_path)
    assert scan.findings
    assert "contradict" in scan.findings[0].message


def test_a_file_with_an_undecodable_byte_is_decided_up_front(tmp_path):
    path = sales_file(tmp_path, [*ISO, "25/03/2024"])
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    path.write_bytes(data[:cut] + b"2024-02-01,B1,\xff,INV,ITM1,x,1\n" + data[cut:])
    scan = _FileScan(SALES_TRANSACTIONS, tmp_path, None, 3, None, LATEST_DAY)
    scan.open_header()
    scan.decide_dates()
    assert scan.dayfirst == {"Date": True}  # read first: the pass that meets the byte may fail
    assert_same_read(tmp_path)


def chain_outputs(data: Path, out: Path, monkeypatch, *, up_front: bool) -> dict:
    """``load_chain``'s tables, report and rejects; ``up_front``: every decision read first."""
    with monkeypatch.context() as patch:
        if up_front:
            patch.setattr(_FileScan, "_can_defer", lambda self: False)
        try:
            chain = load_chain(data, out_dir=out, today="2024-12-31")
            found = {
                "flows": chain.flows,
                "transfers": chain.transfers,
                "stock": chain.stock_current,
            }
        except DataContractError as exc:
            found = {"error": str(exc)}
    found["report"] = (out / "validation_report.json").read_text("utf-8")
    found["rejects"] = {p.name: p.read_bytes() for p in sorted((out / "rejects").iterdir())}
    shutil.rmtree(out)
    return found


def assert_same_chain(data: Path, tmp_path: Path, monkeypatch) -> dict:
    out = tmp_path / "out"
    got = chain_outputs(data, out, monkeypatch, up_front=False)
    want = chain_outputs(data, out, monkeypatch, up_front=True)
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[key], value, check_exact=True)
        else:
            assert got[key] == value, key
    return got


def test_a_messy_chain_read_once_equals_the_chain_read_with_dates_first(tmp_path, monkeypatch):
    data = tmp_path / "messy"
    generate_chain(data, branches=2, items=6, days=40, seed=3, messy=True)
    assert_same_chain(data, tmp_path, monkeypatch)


def test_decisions_deferred_are_reported_when_another_file_stops_ingestion(tmp_path, monkeypatch):
    """The snapshot's and the movements' slashed dates are decided (and reported, in place)
    although their files are never read to the end: the sales file is refused first."""
    data = tmp_path / "chain"
    generate_chain(data, branches=2, items=6, days=40, seed=3)
    snapshot = data / "stock_current.csv"
    lines = snapshot.read_text("utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rsplit(",", 1)[0] + ",12/11/2024 10:00:00\n"
    snapshot.write_text("".join(lines), "utf-8")
    sales = data / SALES_TRANSACTIONS.filename
    sales.write_bytes(sales.read_bytes().replace(b",ITM", b",\xe9TM"))
    got = assert_same_chain(data, tmp_path, monkeypatch)
    assert "error" in got
    assert "ambiguous" in got["report"]


@pytest.mark.parametrize("where", [0, 1, 2, 3, 4, 4095, 4096, 4097, 8190, 8191, 8192])
def test_the_whole_file_utf8_check_across_map_windows(tmp_path, monkeypatch, where):
    monkeypatch.setattr("stockout_sk.ingest.encoding._MAP_BYTES", 2 * mmap.ALLOCATIONGRANULARITY)
    text = ("حليب كامل 250 مل, milk\n" * 2000).encode("utf-8")
    path = tmp_path / "f.csv"
    path.write_bytes(text)
    assert _all_utf8(path)
    where = where % len(text)
    for bad in (b"\xff", b"\xd9", b"\x80"):
        broken = text[:where] + bad + text[where:]
        path.write_bytes(broken)
        try:
            broken.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            valid = False
        assert _all_utf8(path) is valid
    path.write_bytes(text + "مل".encode()[:-1])  # a character cut at the end of the file
    assert not _all_utf8(path)


def test_a_range_of_the_file_checked_as_utf8_alone(tmp_path, monkeypatch):
    """Bytes ``[start, stop)`` only, across map windows: a bad byte outside them does not
    count, inside them it does, whichever window it falls in."""
    monkeypatch.setattr("stockout_sk.ingest.encoding._MAP_BYTES", 2 * mmap.ALLOCATIONGRANULARITY)
    line = "حليب كامل 250 مل, milk\n".encode()
    text = line * 3000
    path = tmp_path / "f.csv"
    start, stop = 40 * len(line), 2500 * len(line)  # both on line ends
    for at, inside in ((5, False), (start - 2, False), (start, True), (30000, True), (stop, False)):
        path.write_bytes(text[:at] + b"\xff" + text[at + 1 :])
        assert _all_utf8(path, start, stop) is not inside
        assert not _all_utf8(path)
    path.write_bytes(text)
    assert _all_utf8(path, start, stop)
    assert _all_utf8(path, stop, stop)  # nothing to check
