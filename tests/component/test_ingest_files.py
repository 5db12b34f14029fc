"""load_chain on real, messy CSV files written to tmp_path.

The data set is small and hand-written so that every expected number below was computed by hand:
BOM and no BOM, CRLF and LF, quoted commas, Arabic text, ``007`` IDs, several date formats in one
column, day-first and month-first columns decided from the evidence, timezone offsets, a blank
line, a malformed line, and one bad row of each reject reason.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockout_sk.ingest import REPORT_FILENAME, DataContractError, load_chain

pytestmark = pytest.mark.component

D = pd.Timestamp

BRANCHES = [
    "BranchID,BranchName,OpeningDate",
    '001,"Riyadh, Olaya",2020-01-15',
    "002,فرع جدة,15/03/2021",
    " 003 ,Dammam,2022-06-01",
    "001,Duplicate Olaya,2020-01-01",
]
ITEMS = [
    "ItemCode,ArabicName,EnglishName,BrandOnBox",
    '007,حليب كامل الدسم,"Milk, full fat",المراعي',
    "ITM2,خبز,Bread,",
]
EMPLOYEES = [
    "EmployeeID,FullName,Department,BranchID",
    "E1,أحمد علي,Sales,001",
    "E2,Sara,Head office,",
    ",Nobody,Sales,002",
]
STOCK = [
    "BranchID,BranchName,ItemCode,ItemName,CurrentQuantity,ReservedQuantity,SafetyStockLevel,"
    "LastUpdatedAt",
    "001,Olaya,007,حليب,50,5,10,2024-03-05T18:00:00+03:00",  # line 2
    '002,"Jeddah, Corniche",007,Milk,"1,200",0,20,05/03/2024 09:00',  # line 3: ambiguous d/m
    "001,Olaya,ITM2,Bread,5,0,2,2024-03-13 08:00",  # line 4: the latest snapshot day
    "001,Olaya,007,حليب,40,5,10,2024-03-03",  # line 5: older copy of line 2 -> rejected
    "003,Dammam,ITM2,Bread,abc,0,2,2024-03-05",  # line 6: non-numeric CurrentQuantity
    "003,Dammam,007,Milk,10,-1,2,2024-03-05",  # line 7: negative ReservedQuantity
]
MOVEMENTS = [
    "MovementID,Date,FromBranchID,FromBranchName,ToBranchID,ToBranchName,ItemCode,ItemName,"
    "QuantityMoved",
    'M1,2024-03-01,WH,"Warehouse, Central",001,Olaya,007,حليب,100',  # 2
    "M2,2024-03-01T10:00:00Z,001,Olaya,002,Jeddah,007,Milk,30",  # 3
    "M3,02/03/2024,001,Olaya,002,Jeddah,007,Milk,5",  # 4: 2 March (day-first, see M4)
    "M4,13/03/2024 08:15,SUP,Supplier,002,Jeddah,ITM2,Bread,20",  # 5: proves day-first
    "M2,2024-03-01T10:00:00Z,001,Olaya,002,Jeddah,007,Milk,30",  # 6: duplicate MovementID
    "M5,2024-03-01 23:30:00-05:00,WH,,001,,007,,7",  # 7: offset dropped, stays 1 March
    "M6,not a date,WH,,001,,007,,1",  # 8: unparseable Date
    "M7,2024-03-02,WH,,001,,007,,",  # 9: missing QuantityMoved
    "M8,2024-03-02,WH,,001,,007,,-3",  # 10: negative QuantityMoved
    "M9,2024-03-02,WH,,001,,,,3",  # 11: missing ItemCode
    ",2024-03-02,WH,,001,,007,,3",  # 12: missing MovementID
    "M10,2024-03-02,WH,,001,,007,,1.5.2",  # 13: non-numeric QuantityMoved
    "M11,2024-03-02,WH,,001,,007,,12,5",  # 14: ten fields: malformed line
    ' M12 ,2024/03/03, 002 ,,001,,007,,"1,000"',  # 15: thousands separator, stray spaces
]
SALES = [
    "Date,BranchID,BranchName,InvoiceNumber,ItemCode,ItemName,QuantitySold",
    '2024-03-01,001,"Riyadh, Olaya",INV1,007,حليب,3',  # 2
    "2024-03-01 18:00,001,,INV2,007,,2",  # 3
    "03/01/2024,002,,INV3,007,,4",  # 4: 1 March (month-first, see next line)
    "03/13/2024 2:30 PM,002,,INV4,007,,1",  # 5: proves month-first
    "",  # 6: blank line
    "2024-03-02,001,,INV5,ITM2,,2",  # 7
    "2024-03-02,001,,INV6,ITM2,,-1",  # 8: a return
    "2024-03-02,003,,INV7,007,, 2 ",  # 9: key absent from the snapshot
    "2024-03-02,001,,INV8,007,,abc",  # 10: non-numeric QuantitySold
    ",001,,INV9,007,,1",  # 11: missing Date
    "2024-03-02,,,INV10,007,,1",  # 12: missing BranchID
]


def _write(path: Path, lines: list[str], *, bom: bool, crlf: bool) -> None:
    eol = "\r\n" if crlf else "\n"
    text = eol.join(lines) + eol
    path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))


def write_chain(data_dir: Path, **overrides: list[str]) -> Path:
    """Write the six files (BOM/CRLF varied per file); ``overrides`` replace a file's lines."""
    data_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "branches": (BRANCHES, True, True),
        "item_master": (ITEMS, True, False),
        "employees": (EMPLOYEES, False, True),
        "stock_current": (STOCK, False, False),
        "stock_movement": (MOVEMENTS, True, True),
        "sales_transactions": (SALES, False, True),
    }
    for name, (lines, bom, crlf) in files.items():
        _write(data_dir / f"{name}.csv", overrides.get(name, lines), bom=bom, crlf=crlf)
    return data_dir


@pytest.fixture
def chain_dir(tmp_path: Path) -> Path:
    return write_chain(tmp_path / "data")


@pytest.fixture
def loaded(chain_dir: Path, tmp_path: Path):
    return load_chain(chain_dir, out_dir=tmp_path / "out", chunksize=100)


def _flow(b, i, d, inflow=0.0, outflow=0.0, sold=0.0):
    return {
        "BranchID": b,
        "ItemCode": i,
        "Date": D(d),
        "inflow": inflow,
        "outflow": outflow,
        "sold": sold,
    }


EXPECTED_FLOWS = pd.DataFrame(
    [
        _flow("001", "007", "2024-03-01", inflow=107, outflow=30, sold=5),
        _flow("001", "007", "2024-03-02", outflow=5),
        _flow("001", "007", "2024-03-03", inflow=1000),
        _flow("001", "ITM2", "2024-03-02", sold=1),
        _flow("002", "007", "2024-03-01", inflow=30, sold=4),
        _flow("002", "007", "2024-03-02", inflow=5),
        _flow("002", "007", "2024-03-03", outflow=1000),
        _flow("002", "007", "2024-03-13", sold=1),
        _flow("002", "ITM2", "2024-03-13", inflow=20),
        _flow("003", "007", "2024-03-02", sold=2),
        _flow("SUP", "ITM2", "2024-03-13", outflow=20),
        _flow("WH", "007", "2024-03-01", outflow=107),
    ]
).astype(
    {
        "BranchID": "str",
        "ItemCode": "str",
        "Date": "datetime64[ns]",
        "inflow": "float64",
        "outflow": "float64",
        "sold": "float64",
    }
)


def test_flows_exact(loaded):
    pd.testing.assert_frame_equal(loaded.flows, EXPECTED_FLOWS)


def test_transfers_exact_and_deduplicated(loaded):
    expected = pd.DataFrame(
        {
            "Date": pd.to_datetime(
                ["2024-03-01", "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-13"]
            ).astype("datetime64[ns]"),
            "FromBranchID": ["001", "WH", "001", "002", "SUP"],
            "ToBranchID": ["002", "001", "002", "001", "002"],
            "ItemCode": ["007", "007", "007", "007", "ITM2"],
            "QuantityMoved": [30.0, 107.0, 5.0, 1000.0, 20.0],
        }
    ).astype({"FromBranchID": "str", "ToBranchID": "str", "ItemCode": "str"})
    pd.testing.assert_frame_equal(loaded.transfers, expected)


def test_reconciliation_per_file(loaded):
    counts = {
        name: (r.read, r.accepted, r.rejected, r.duplicates)
        for name, r in loaded.report.files.items()
    }
    assert counts == {
        "branches.csv": (4, 3, 1, 1),
        "item_master.csv": (2, 2, 0, 0),
        "employees.csv": (3, 2, 1, 0),
        "stock_current.csv": (6, 3, 3, 1),
        "stock_movement.csv": (14, 6, 8, 1),
        "sales_transactions.csv": (10, 7, 3, 0),
    }
    for rep in loaded.report.files.values():
        assert rep.read == rep.accepted + rep.rejected
        assert sum(rep.reasons.values()) == rep.rejected
    assert loaded.report.reconciled
    # Quarantined rows do not make the data unusable; "ok" is usable, "clean" is no rejects.
    assert loaded.report.ok
    assert loaded.report.usable
    assert not loaded.report.clean
    assert loaded.report.files["sales_transactions.csv"].blank_lines == 1
    # Physical lines: the header, every record, the blank line.
    assert loaded.report.files["sales_transactions.csv"].lines == len(SALES)
    assert loaded.report.files["stock_movement.csv"].lines == len(MOVEMENTS)


def test_reject_reasons_per_file(loaded):
    files = loaded.report.files
    assert files["stock_movement.csv"].reasons == {
        "duplicate MovementID": 1,
        "unparseable Date": 1,
        "missing QuantityMoved": 1,
        "negative QuantityMoved": 1,
        "missing ItemCode": 1,
        "missing MovementID": 1,
        "non-numeric QuantityMoved": 1,
        "malformed line: expected 9 fields, saw 10": 1,
    }
    assert files["sales_transactions.csv"].reasons == {
        "non-numeric QuantitySold": 1,
        "missing Date": 1,
        "missing BranchID": 1,
    }
    assert files["stock_current.csv"].reasons == {
        "duplicate BranchID×ItemCode (a later LastUpdatedAt is kept)": 1,
        "non-numeric CurrentQuantity": 1,
        "negative ReservedQuantity": 1,
    }
    assert files["branches.csv"].reasons == {"duplicate BranchID": 1}
    assert files["employees.csv"].reasons == {"missing EmployeeID": 1}


def test_rejects_files_hold_original_rows_reason_and_line(loaded, tmp_path):
    rejects = pd.read_csv(
        tmp_path / "out" / "rejects" / "stock_movement.csv", dtype=str, keep_default_na=False
    )
    assert list(rejects.columns) == [
        "MovementID",
        "Date",
        "FromBranchID",
        "FromBranchName",
        "ToBranchID",
        "ToBranchName",
        "ItemCode",
        "ItemName",
        "QuantityMoved",
        "reason",
        "line",
        "raw",
    ]
    got = list(
        zip(rejects["MovementID"], rejects["reason"], rejects["line"].astype(int), strict=True)
    )
    assert sorted(got, key=lambda t: t[2]) == [
        ("M2", "duplicate MovementID", 6),
        ("M6", "unparseable Date", 8),
        ("M7", "missing QuantityMoved", 9),
        ("M8", "negative QuantityMoved", 10),
        ("M9", "missing ItemCode", 11),
        ("", "missing MovementID", 12),
        ("M10", "non-numeric QuantityMoved", 13),
        ("", "malformed line: expected 9 fields, saw 10", 14),
    ]
    # The line number points at the source line; the original text is kept as read.
    source = (loaded.report.files["stock_movement.csv"].path, 8)
    assert Path(source[0]).read_text("utf-8-sig").splitlines()[source[1] - 1].startswith("M6,")
    row = rejects.set_index("MovementID").loc["M6"]
    assert row["Date"] == "not a date"
    # A line that cannot be split into the columns keeps its text in "raw".
    malformed = rejects[rejects["reason"].str.startswith("malformed")]
    assert malformed["raw"].tolist() == [MOVEMENTS[13]]
    assert (rejects.loc[rejects["MovementID"] != "", "raw"] == "").all()

    sales = pd.read_csv(
        tmp_path / "out" / "rejects" / "sales_transactions.csv", dtype=str, keep_default_na=False
    )
    # The blank line 6 is not a record, but the lines after it keep their true numbers.
    assert sales[["reason", "line"]].values.tolist() == [
        ["non-numeric QuantitySold", "10"],
        ["missing Date", "11"],
        ["missing BranchID", "12"],
    ]
    stock = pd.read_csv(
        tmp_path / "out" / "rejects" / "stock_current.csv", dtype=str, keep_default_na=False
    )
    dup = stock[stock["reason"].str.startswith("duplicate")]
    assert dup[["CurrentQuantity", "ItemName", "line"]].values.tolist() == [["40", "حليب", "5"]]


def test_validation_report_json_written(loaded, tmp_path):
    written = json.loads((tmp_path / "out" / REPORT_FILENAME).read_text("utf-8"))
    assert written == json.loads(json.dumps(loaded.report.to_dict()))
    assert written["files"]["stock_movement.csv"]["rejected"] == 8
    assert written["history_start"] == "2024-03-01"
    assert written["history_end"] == "2024-03-13"


def test_ids_stay_strings_and_text_survives(loaded):
    assert loaded.items["ItemCode"].tolist() == ["007", "ITM2"]
    assert loaded.items.loc[0, "ArabicName"] == "حليب كامل الدسم"
    assert loaded.items.loc[0, "EnglishName"] == "Milk, full fat"
    assert loaded.branches["BranchID"].tolist() == ["001", "002", "003"]
    assert loaded.branches.loc[0, "BranchName"] == "Riyadh, Olaya"  # first copy wins
    assert loaded.branches["OpeningDate"].tolist() == [
        D("2020-01-15"),
        D("2021-03-15"),
        D("2022-06-01"),
    ]
    assert loaded.employees["BranchID"].tolist() == ["001", ""]
    for frame in (loaded.items, loaded.branches, loaded.employees, loaded.stock_current):
        for col in frame.columns:
            if col.endswith(("ID", "Code")):
                assert str(frame[col].dtype) == "str", col


def test_stock_current_latest_snapshot_wall_clock_and_dtypes(loaded):
    sc = loaded.stock_current
    assert list(sc.columns) == [
        "BranchID",
        "BranchName",
        "ItemCode",
        "ItemName",
        "CurrentQuantity",
        "ReservedQuantity",
        "SafetyStockLevel",
        "LastUpdatedAt",
    ]
    assert sc[["BranchID", "ItemCode"]].values.tolist() == [
        ["001", "007"],
        ["001", "ITM2"],
        ["002", "007"],
    ]
    assert sc["CurrentQuantity"].tolist() == [50.0, 5.0, 1200.0]
    assert sc["LastUpdatedAt"].tolist() == [
        D("2024-03-05 18:00"),  # +03:00 dropped, not converted
        D("2024-03-13 08:00"),
        D("2024-03-05 09:00"),  # 05/03 ambiguous -> day-first by default
    ]
    assert sc["LastUpdatedAt"].dtype == np.dtype("datetime64[ns]")
    assert sc["CurrentQuantity"].dtype == np.dtype("float64")
    assert sc.loc[2, "BranchName"] == "Jeddah, Corniche"


def test_history_bounds(loaded):
    assert loaded.history_start == D("2024-03-01")
    assert loaded.history_end == D("2024-03-13")


def test_dayfirst_decided_per_column_from_evidence(loaded):
    files = loaded.report.files
    assert files["stock_movement.csv"].dates["Date"]["dayfirst"] is True
    assert files["sales_transactions.csv"].dates["Date"]["dayfirst"] is False
    assert files["stock_current.csv"].dates["LastUpdatedAt"]["dayfirst"] is True
    assert files["stock_movement.csv"].dates["Date"]["offset_dropped"] == 3
    dayfirst = {(f.file, f.severity) for f in loaded.report.findings if f.code == "dayfirst"}
    assert ("stock_current.csv", "warning") in dayfirst  # ambiguous only: default, flagged
    assert ("stock_movement.csv", "info") in dayfirst
    assert ("sales_transactions.csv", "info") in dayfirst


def test_findings(loaded):
    by_code = {}
    for f in loaded.report.findings:
        by_code.setdefault(f.code, []).append(f)
    (external,) = by_code["external_ids"]
    assert external.count == 2
    assert "'SUP'" in external.message
    assert "'WH'" in external.message
    (sales_absent,) = by_code["sales_without_snapshot"]
    assert sales_absent.count == 1
    assert "003×007" in sales_absent.message
    (moves_absent,) = by_code["movements_without_snapshot"]
    assert moves_absent.count == 1
    assert "002×ITM2" in moves_absent.message
    (after,) = by_code["flows_after_snapshot"]
    assert after.count == 1
    assert by_code["sales_returns"][0].count == 1
    assert {f.file for f in by_code["thousands_separator"]} == {
        "stock_current.csv",
        "stock_movement.csv",
    }
    assert "blank_lines" in by_code
    text = loaded.report.format()
    assert "stock_movement.csv" in text
    assert "external" in text


def test_chunksize_does_not_change_the_result(chain_dir, tmp_path):
    small = load_chain(chain_dir, out_dir=tmp_path / "small", chunksize=3)
    big = load_chain(chain_dir, out_dir=tmp_path / "big", chunksize=1_000_000)
    pd.testing.assert_frame_equal(small.flows, big.flows)
    pd.testing.assert_frame_equal(small.flows, EXPECTED_FLOWS)
    pd.testing.assert_frame_equal(small.transfers, big.transfers)
    pd.testing.assert_frame_equal(small.stock_current, big.stock_current)
    for table in ("branches", "items", "employees"):
        pd.testing.assert_frame_equal(getattr(small, table), getattr(big, table))

    def counts(chain):
        return {
            name: {k: v for k, v in rep.to_dict().items() if k not in ("path", "rejects_path")}
            for name, rep in chain.report.files.items()
        }

    assert counts(small) == counts(big)
    for name in small.report.files:
        rejects = [
            pd.read_csv(root / "rejects" / name, dtype=str, keep_default_na=False)
            .sort_values("line", key=lambda s: s.astype(int))
            .reset_index(drop=True)
            for root in (tmp_path / "small", tmp_path / "big")
        ]
        pd.testing.assert_frame_equal(rejects[0], rejects[1])


def test_without_out_dir_nothing_is_written_but_everything_is_counted(chain_dir, tmp_path):
    before = sorted(p.name for p in tmp_path.rglob("*"))
    chain = load_chain(chain_dir)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert chain.report.files["stock_movement.csv"].rejected == 8
    assert chain.report.files["stock_movement.csv"].rejects_path is None


def test_missing_file_names_it(chain_dir):
    (chain_dir / "employees.csv").unlink()
    with pytest.raises(DataContractError, match=r"employees\.csv"):
        load_chain(chain_dir)


def test_missing_required_column_names_file_column_and_found_columns(tmp_path):
    header = "Date,BranchID,BranchName,InvoiceNumber,ItemCode,ItemName"
    data = write_chain(tmp_path / "d", sales_transactions=[header, "2024-03-01,001,,I,007,"])
    with pytest.raises(DataContractError, match=r"sales_transactions\.csv") as err:
        load_chain(data)
    assert "'QuantitySold'" in str(err.value)
    assert "'InvoiceNumber'" in str(err.value)  # lists the columns found


def test_headers_are_checked_before_any_row_is_read(tmp_path):
    # Movements (read before sales) hold an unbalanced quote; the missing sales column must win.
    broken_movements = [MOVEMENTS[0], 'M1,"2024-03-01,WH,,001,,007,,1', *MOVEMENTS[2:4]]
    data = write_chain(
        tmp_path / "d",
        stock_movement=broken_movements,
        sales_transactions=["Date,BranchID,ItemCode", "2024-03-01,001,007"],
    )
    with pytest.raises(DataContractError, match="QuantitySold"):
        load_chain(data)
    # On its own, the unbalanced quote costs its line only (it used to make the file fatal).
    ok_sales = write_chain(tmp_path / "e", stock_movement=broken_movements)
    chain = load_chain(ok_sales)
    rep = chain.report.files["stock_movement.csv"]
    assert (rep.read, rep.accepted, rep.rejected) == (3, 2, 1)
    assert list(rep.reasons) == [
        "unbalanced quote: a quoted field opened on this line does not close on it"
    ]


def test_optional_columns_may_be_absent_and_headers_are_matched_loosely(tmp_path):
    movements = ["movementid , Date,From Branch ID,ToBranchID,ItemCode,QuantityMoved,Extra"]
    movements += ["M1,2024-03-01,WH,001,007,5,x", "M2,2024-03-02,001,002,007,2,y"]
    data = write_chain(tmp_path / "d", stock_movement=movements)
    chain = load_chain(data)
    rep = chain.report.files["stock_movement.csv"]
    assert rep.missing_optional == ["FromBranchName", "ToBranchName", "ItemName"]
    assert rep.extra_columns == ["Extra"]
    assert (rep.read, rep.accepted, rep.rejected) == (2, 2, 0)
    assert chain.transfers["QuantityMoved"].tolist() == [5.0, 2.0]
    assert chain.transfers["FromBranchID"].tolist() == ["WH", "001"]
    codes = {f.code for f in chain.report.findings}
    assert {"column_renamed", "extra_columns", "optional_columns_absent"} <= codes


def test_a_file_in_another_encoding_is_fatal_and_names_it(tmp_path):
    data = write_chain(tmp_path / "d")
    lines = ["ItemCode,ArabicName", *(f"{i:03d},café crème {i}" for i in range(20))]
    (data / "item_master.csv").write_bytes("\n".join(lines).encode("latin-1"))
    with pytest.raises(DataContractError, match=r"item_master\.csv: not valid UTF-8") as err:
        load_chain(data)
    message = str(err.value)
    assert "line 2, byte 8 of the line" in message  # "000,caf" then the \xe9
    assert "--encoding latin-1" in message
    assert "byte 130933" not in message


def test_empty_file_is_a_contract_error(tmp_path):
    data = write_chain(tmp_path / "d")
    (data / "branches.csv").write_bytes(b"")
    with pytest.raises(DataContractError, match=r"branches\.csv.*empty"):
        load_chain(data)


def test_header_only_files_are_fine(tmp_path):
    data = write_chain(
        tmp_path / "d",
        employees=[EMPLOYEES[0]],
        item_master=[ITEMS[0]],
        sales_transactions=[SALES[0]],
    )
    chain = load_chain(data)
    assert len(chain.employees) == 0
    assert list(chain.employees.columns) == ["EmployeeID", "FullName", "Department", "BranchID"]
    assert chain.flows["sold"].sum() == 0
    assert chain.report.files["sales_transactions.csv"].read == 0


# --- broken copies of sample_data (issues #16 and #17) ------------------------------------------
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
TODAY = "2026-12-05"


@pytest.fixture(scope="module")
def sample_chain():
    """The untouched sample, read once: what every broken copy is compared with."""
    return load_chain(SAMPLE, today=TODAY)


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    out = tmp_path / "sample"
    out.mkdir()
    for path in SAMPLE.glob("*.csv"):
        (out / path.name).write_bytes(path.read_bytes())
    return out


def lines_of(path: Path) -> list[str]:
    """The file's physical lines, line ends kept (a BOM stays on the first)."""
    return path.read_text("utf-8").splitlines(keepends=True)


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_bytes("".join(lines).encode("utf-8"))


def rejects_of(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / "rejects" / name, dtype=str, keep_default_na=False)


def _sales_edited(sample_copy, sample_chain, tmp_path, lines):
    """The sample with its sales file's ``lines`` loaded: the chain, its sales report and the
    sample's; the history must be the sample's."""
    write_lines(sample_copy / "sales_transactions.csv", lines)
    chain = load_chain(sample_copy, out_dir=tmp_path / "out", today=TODAY)
    assert (chain.history_start, chain.history_end) == (
        sample_chain.history_start,
        sample_chain.history_end,
    )
    name = "sales_transactions.csv"
    return chain, chain.report.files[name], sample_chain.report.files[name]


def test_a_year_typo_never_stretches_the_history(sample_copy, sample_chain, tmp_path):
    # 30 sales rows typed 2031 (after today) and 20 typed 2021 (a stretch years before the rest):
    # the history stayed 2021..2031 before, and a holdout in the empty years scored F1 ≈ 1.
    path = sample_copy / "sales_transactions.csv"
    lines = lines_of(path)
    iso = [i for i, line in enumerate(lines) if line.startswith("2024-0")]
    future, past = iso[100:3100:100], iso[5000:7000:100]
    for i in future:
        lines[i] = "2031" + lines[i][4:]
    for i in past:
        lines[i] = "2021" + lines[i][4:]
    chain, rep, original = _sales_edited(sample_copy, sample_chain, tmp_path, lines)
    assert rep.read == original.read
    assert rep.rejected == original.rejected + len(future) + len(past)
    assert rep.reasons["Date after today (2026-12-05): a typo in the year?"] == len(future)
    rejects = rejects_of(tmp_path / "out", "sales_transactions.csv")
    cut = rejects[rejects["reason"].str.startswith("dated 2021-")]
    assert sorted(cut["line"].astype(int)) == [i + 1 for i in past]
    codes = {f.code: f for f in chain.report.findings}
    assert codes["future_dates"].blocking
    assert codes["history_trimmed"].blocking
    assert not chain.report.usable


def test_a_year_no_timestamp_holds_is_quarantined_not_read_as_another_day(
    sample_copy, sample_chain, tmp_path
):
    """``0202-…`` (a typo of 2020 or 2022) was read as a day of 1955, and quarantined as
    dated outside the history under that wrong date; it is an unparseable date."""
    path = sample_copy / "sales_transactions.csv"
    lines = lines_of(path)
    typos = [i for i, line in enumerate(lines) if line.startswith("2024-0")][200:2200:200]
    for i in typos:
        lines[i] = "0202" + lines[i][4:]
    _, rep, original = _sales_edited(sample_copy, sample_chain, tmp_path, lines)
    assert rep.rejected == original.rejected + len(typos)
    assert rep.reasons["unparseable Date"] == original.reasons.get("unparseable Date", 0) + len(
        typos
    )
    rejects = rejects_of(tmp_path / "out", "sales_transactions.csv")
    typo_rows = rejects[rejects["reason"] == "unparseable Date"]
    assert {i + 1 for i in typos} <= set(typo_rows["line"].astype(int))


def test_last_updated_at_in_the_future_is_quarantined(sample_copy, sample_chain):
    path = sample_copy / "stock_current.csv"
    lines = lines_of(path)
    for i in range(1, 11):
        lines[i] = lines[i].replace("2024-07-28", "2030-07-28")
    write_lines(path, lines)
    chain = load_chain(sample_copy, today=TODAY)
    assert chain.history_end == sample_chain.history_end
    rep = chain.report.files["stock_current.csv"]
    assert rep.reasons["LastUpdatedAt after today (2026-12-05): a typo in the year?"] == 10
    assert len(chain.stock_current) == len(sample_chain.stock_current) - 10


def test_a_header_only_sales_file_is_a_blocking_finding(sample_copy):
    path = sample_copy / "sales_transactions.csv"
    write_lines(path, lines_of(path)[:1])
    chain = load_chain(sample_copy, today=TODAY)
    (empty,) = [f for f in chain.report.findings if f.code == "empty_sales_transactions"]
    assert empty.blocking
    assert "training will fail or lie" in empty.message
    assert not chain.report.usable
    assert not chain.report.to_dict()["ok"]


def test_an_unbalanced_quote_loses_no_transaction(sample_copy, sample_chain, tmp_path):
    # Line 101 opens a quote in its last field. pandas merged it with the next line into one
    # rejected record: one real transaction vanished and `read` dropped, with no finding.
    path = sample_copy / "sales_transactions.csv"
    lines = lines_of(path)
    lines[100] = lines[100].rstrip("\n")[:-1] + '"1\n'
    write_lines(path, lines)
    chain = load_chain(sample_copy, out_dir=tmp_path / "out", today=TODAY)
    rep = chain.report.files["sales_transactions.csv"]
    original = sample_chain.report.files["sales_transactions.csv"]
    assert (rep.read, rep.accepted) == (original.read, original.accepted - 1)
    assert rep.lines == len(lines)
    rejects = rejects_of(tmp_path / "out", "sales_transactions.csv")
    (quote,) = rejects[rejects["reason"].str.startswith("unbalanced quote")].itertuples()
    assert (int(quote.line), quote.raw) == (101, lines[100].rstrip("\n"))
    (finding,) = [f for f in chain.report.findings if f.code == "unbalanced_quote"]
    assert "line 101 (would merge lines 101–102)" in finding.message
    # The next line's transaction is there: its day's sales are one line short, no more.
    sold = chain.flows["sold"].sum()
    assert sold == sample_chain.flows["sold"].sum() - 1


def test_a_ragged_first_row_does_not_shift_later_rows(sample_copy, sample_chain, tmp_path):
    # With one field too many on the first data row, pandas switched to truncation mode and read
    # a later 8-field line with shifted values (QuantitySold 12 instead of 3), warning only.
    path = sample_copy / "sales_transactions.csv"
    lines = lines_of(path)
    lines[1] = lines[1].rstrip("\n") + ",EXTRA\n"
    fields = lines[600].split(",")
    lines[600] = ",".join([*fields[:2], "x", *fields[2:]])
    write_lines(path, lines)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw ParserWarning may leak
        chain = load_chain(sample_copy, out_dir=tmp_path / "out", today=TODAY)
    rejects = rejects_of(tmp_path / "out", "sales_transactions.csv")
    malformed = rejects[rejects["reason"] == "malformed line: expected 7 fields, saw 8"]
    assert sorted(malformed["line"].astype(int)) == [2, 601]
    original = sample_chain.report.files["sales_transactions.csv"]
    assert chain.report.files["sales_transactions.csv"].accepted == original.accepted - 2
    quantities = [float(lines[1].split(",")[6]), float(fields[-1])]
    assert chain.flows["sold"].sum() == sample_chain.flows["sold"].sum() - sum(quantities)


def test_reject_line_numbers_are_physical_lines(sample_copy, tmp_path):
    # A quoted line break and an unbalanced quote on line 101: every reject after
    # them still names the physical line of the file that holds its row.
    path = sample_copy / "sales_transactions.csv"
    lines = lines_of(path)
    j = next(i for i in range(50, 5000) if '"' not in lines[i])
    fields = lines[j].split(",")
    fields[5] = f'"{fields[5]}\nsecond line"'
    lines[j] = ",".join(fields)
    lines[100] = lines[100].rstrip("\n")[:-1] + '"1\n'
    write_lines(path, lines)
    chain = load_chain(sample_copy, out_dir=tmp_path / "out", today=TODAY)
    physical = path.read_text("utf-8").split("\n")
    rejects = rejects_of(tmp_path / "out", "sales_transactions.csv")
    checked = rejects[rejects["InvoiceNumber"] != ""]
    assert len(checked) >= 5
    for row in checked.itertuples():
        assert row.InvoiceNumber in physical[int(row.line) - 1], row
    (multi,) = [f for f in chain.report.findings if f.code == "multiline_records"]
    assert f"lines {j + 1}–{j + 2}" in multi.message


def test_a_stray_byte_quarantines_its_line_only(sample_copy, sample_chain, tmp_path):
    path = sample_copy / "sales_transactions.csv"
    data = path.read_bytes().split(b"\n")
    data[3000] = data[3000].replace(b"2024", b"2024\xe9", 1)
    path.write_bytes(b"\n".join(data))
    chain = load_chain(sample_copy, out_dir=tmp_path / "out", today=TODAY)
    original = sample_chain.report.files["sales_transactions.csv"]
    assert chain.report.files["sales_transactions.csv"].accepted == original.accepted - 1
    rejects = rejects_of(tmp_path / "out", "sales_transactions.csv")
    (bad,) = rejects[rejects["reason"] == "not valid UTF-8"].itertuples()
    assert int(bad.line) == 3001
    assert "\\xe9" in bad.raw
    (finding,) = [f for f in chain.report.findings if f.code == "undecodable_bytes"]
    assert "line 3001 byte 5" in finding.message


def test_conflicting_snapshot_duplicates_are_flagged(sample_copy, tmp_path):
    path = sample_copy / "stock_current.csv"
    lines = lines_of(path)
    copy = lines[5].split(",")
    copy[4] = "777"
    write_lines(path, [*lines, ",".join(copy), lines[7]])
    chain = load_chain(sample_copy, out_dir=tmp_path / "out", today=TODAY)
    rep = chain.report.files["stock_current.csv"]
    assert (
        rep.reasons[
            "conflicting duplicate BranchID×ItemCode: same LastUpdatedAt, different quantities "
            "(the later line is kept)"
        ]
        == 1
    )
    assert rep.reasons["duplicate BranchID×ItemCode (identical to the copy kept)"] == 1
    (finding,) = [f for f in chain.report.findings if f.code == "conflicting_duplicates"]
    assert finding.file == "stock_current.csv"
    assert f"(lines 6 and {len(lines) + 1})" in finding.message


def test_real_export_formats(sample_copy, sample_chain, monkeypatch):
    """cp1256, UTF-16 with a BOM, semicolons, tabs, a repeated header and Arabic-Indic digits:
    read as the same chain once the run names the encoding."""
    items = (sample_copy / "item_master.csv").read_text("utf-8-sig")
    (sample_copy / "item_master.csv").write_bytes(items.encode("cp1256"))
    moves = (sample_copy / "stock_movement.csv").read_text("utf-8")
    (sample_copy / "stock_movement.csv").write_bytes(moves.encode("utf-16"))
    stock = pd.read_csv(sample_copy / "stock_current.csv", dtype=str, keep_default_na=False)
    stock.to_csv(sample_copy / "stock_current.csv", sep="\t", index=False)
    sales = SAMPLE.joinpath("sales_transactions.csv").read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(sales)))
    rows[5][6] = rows[5][6].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerows([*rows[:2000], rows[0], *rows[2000:]])  # the header again on line 2001
    (sample_copy / "sales_transactions.csv").write_text(out.getvalue(), "utf-8")

    with pytest.raises(DataContractError, match=r"item_master\.csv.*--encoding cp1256"):
        load_chain(sample_copy, today=TODAY)
    monkeypatch.setenv("STOCKOUT_CSV_ENCODING", "cp1256")
    chain = load_chain(sample_copy, today=TODAY)
    pd.testing.assert_frame_equal(chain.items, sample_chain.items)
    pd.testing.assert_frame_equal(chain.transfers, sample_chain.transfers)
    pd.testing.assert_frame_equal(chain.stock_current, sample_chain.stock_current)
    pd.testing.assert_frame_equal(chain.flows, sample_chain.flows)
    files = chain.report.files
    assert files["stock_movement.csv"].encoding == "utf-16-le"
    assert files["stock_current.csv"].delimiter == "\t"
    assert files["sales_transactions.csv"].delimiter == ";"
    assert files["sales_transactions.csv"].reasons["header repeated at line 2001"] == 1
    messages = {
        f.code: f.message for f in chain.report.findings if f.file == "sales_transactions.csv"
    }
    assert messages["header_repeated"].startswith("header repeated at line 2001")
    assert messages["arabic_indic_digits"].startswith("1 QuantitySold value(s)")
    assert messages["delimiter"] == "fields delimited by ';' (detected from the header)"


def test_the_flows_ingest_task_passes_the_csv_options_on(tmp_path):
    from flows.common import ingest

    data = write_chain(tmp_path / "d")
    for path in data.glob("*.csv"):  # an export with pipes, every file of it
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
        out = io.StringIO()
        csv.writer(out, delimiter="|", lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue(), "utf-8")
    chain = ingest.fn(str(data), None, delimiter="pipe", horizon=7)
    assert {rep.delimiter for rep in chain.report.files.values()} == {"|"}
    pd.testing.assert_frame_equal(chain.flows, EXPECTED_FLOWS)
    with pytest.raises(DataContractError, match=r"re-run with --delimiter '\|'"):
        ingest.fn(str(data), None, delimiter=",")
