"""Unit tests of stockout_sk.ingest building blocks and stockout_sk.schemas (no CSV files)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest

from stockout_sk.ingest import (
    DataContractError,
    FileReport,
    Finding,
    ValidationReport,
    load_chain,
)
from stockout_sk.ingest.aggregate import (
    _FLOW_DTYPES,
    _SOLD_DTYPES,
    _TRANSFER_DTYPES,
    _Aggregator,
    _empty_frame,
)
from stockout_sk.ingest.dedup import _SeenKeys
from stockout_sk.ingest.findings import (
    _distinct_keys,
    _empty_snapshot,
    _examples,
    _flows_after_snapshot,
    _flows_and_findings,
    _key_index,
    _sales_without_snapshot,
    _unknown_branches,
)
from stockout_sk.ingest.flows import _build_flows
from stockout_sk.ingest.header import _read_header
from stockout_sk.ingest.quantities import (
    _QTY_MISSING,
    _QTY_NON_NUMERIC,
    _QTY_OK,
    _QTY_THOUSANDS,
    _parse_quantities,
)
from stockout_sk.ingest.tables import _calendar_days, _MovementStats, _SnapshotStats
from stockout_sk.schemas import SCHEMAS, FileSchema

pytestmark = pytest.mark.unit


# --- schemas ------------------------------------------------------------------------------------
DESIGN_COLUMNS = {
    "stock_movement.csv": "MovementID, Date, FromBranchID, FromBranchName, ToBranchID, "
    "ToBranchName, ItemCode, ItemName, QuantityMoved",
    "stock_current.csv": "BranchID, BranchName, ItemCode, ItemName, CurrentQuantity, "
    "ReservedQuantity, SafetyStockLevel, LastUpdatedAt",
    "sales_transactions.csv": "Date, BranchID, BranchName, InvoiceNumber, ItemCode, ItemName, "
    "QuantitySold",
    "item_master.csv": "ItemCode, ArabicName, EnglishName, BrandOnBox",
    "employees.csv": "EmployeeID, FullName, Department, BranchID",
    "branches.csv": "BranchID, BranchName, OpeningDate",
}


def test_schemas_columns_are_exactly_the_design_contract():
    by_file = {s.filename: s for s in SCHEMAS.values()}
    assert set(by_file) == set(DESIGN_COLUMNS)
    for filename, columns in DESIGN_COLUMNS.items():
        assert by_file[filename].columns == tuple(c.strip() for c in columns.split(","))
        assert SCHEMAS[filename.removesuffix(".csv")] is by_file[filename]


def test_schema_roles():
    mv = SCHEMAS["stock_movement"]
    assert mv.optional == ("FromBranchName", "ToBranchName", "ItemName")
    assert set(mv.required) == {
        "MovementID",
        "Date",
        "FromBranchID",
        "ToBranchID",
        "ItemCode",
        "QuantityMoved",
    }
    assert mv.quantity_columns == ("QuantityMoved",)
    assert mv.date_columns == ("Date",)
    assert "MovementID" in mv.id_columns
    assert "ItemCode" in mv.id_columns
    sc = SCHEMAS["stock_current"]
    assert set(sc.quantity_columns) <= set(sc.required)
    assert "LastUpdatedAt" in sc.value_required
    assert sc.key == ("BranchID", "ItemCode")
    assert set(SCHEMAS["sales_transactions"].optional) == {
        "BranchName",
        "InvoiceNumber",
        "ItemName",
    }
    for schema in SCHEMAS.values():
        # Names are never required; every column is typed exactly once.
        assert not any(c.endswith("Name") for c in schema.required)
        assert not set(schema.id_columns) & set(schema.quantity_columns)
        assert not set(schema.date_columns) & set(schema.text_columns)


def test_schema_rejects_typos_at_definition():
    with pytest.raises(ValueError, match="Qty"):
        FileSchema(name="x", filename="x.csv", columns=("A",), required=("A",), key=("Qty",))
    with pytest.raises(ValueError, match="subset"):
        FileSchema(name="x", filename="x.csv", columns=("A", "B"), required=("A",), nullable=("B",))


def test_schema_is_frozen():
    with pytest.raises(AttributeError):
        SCHEMAS["branches"].filename = "other.csv"  # type: ignore[misc]


# --- quantities ---------------------------------------------------------------------------------
def test_parse_quantities_lenient_but_not_ambiguous():
    raw = pd.Series(
        [" 12 ", "3.5", "1,234", "-1,234.5", "1,5", "12,34", "abc", "", "  ", "inf", "1e3", "-2"],
        dtype="str",
    )
    values, status = _parse_quantities(raw)
    ok, missing, bad, thousands = (
        _QTY_OK,
        _QTY_MISSING,
        _QTY_NON_NUMERIC,
        _QTY_THOUSANDS,
    )
    assert status.tolist() == [
        ok,
        ok,
        thousands,
        thousands,
        bad,
        bad,
        bad,
        missing,
        missing,
        bad,
        ok,
        ok,
    ]
    expected = [12.0, 3.5, 1234.0, -1234.5, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 1e3, -2]
    np.testing.assert_array_equal(values, np.array(expected))
    assert values.dtype == np.float64


# --- duplicate detection ------------------------------------------------------------------------
def test_seen_keys_across_and_within_chunks():
    seen = _SeenKeys()
    keys1 = pd.util.hash_array(np.array(["M1", "M2", "M1"], dtype=object))
    content1 = np.array([1, 2, 1], dtype=np.uint64)
    dup, conflicting = seen.mark(keys1, content1)
    assert dup.tolist() == [False, False, True]
    assert conflicting == 0
    keys2 = pd.util.hash_array(np.array(["M3", "M2", "M2", "M4"], dtype=object))
    content2 = np.array([3, 2, 99, 4], dtype=np.uint64)
    dup, conflicting = seen.mark(keys2, content2)
    assert dup.tolist() == [False, True, True, False]
    assert conflicting == 1  # the M2 copy with content 99 differs from the kept copy
    assert len(seen._keys) == 4
    assert np.all(np.diff(seen._keys.astype(np.float64)) >= 0)
    assert seen.mark(np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint64))[1] == 0


# --- aggregation --------------------------------------------------------------------------------
def test_aggregator_equals_one_shot_groupby_and_stays_bounded():
    rng = np.random.default_rng(0)
    n = 2_000
    frame = pd.DataFrame(
        {
            "BranchID": pd.Series(rng.choice(["001", "002", "WH"], n), dtype="str"),
            "ItemCode": pd.Series(rng.choice(["A", "B"], n), dtype="str"),
            "Date": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 5, n), "D"),
            "sold": rng.integers(0, 9, n).astype(np.float64),
        }
    )
    agg = _Aggregator(["BranchID", "ItemCode", "Date"], ["sold"], _SOLD_DTYPES, min_rows=10)
    peak = 0
    for start in range(0, n, 37):
        agg.add(frame.iloc[start : start + 37])
        peak = max(peak, agg._rows)
    got = agg.result().sort_values(["BranchID", "ItemCode", "Date"], ignore_index=True)
    expected = (
        frame.groupby(["BranchID", "ItemCode", "Date"], as_index=False)["sold"]
        .sum()
        .sort_values(["BranchID", "ItemCode", "Date"], ignore_index=True)
    )
    expected = expected.astype({"Date": "datetime64[ns]"}).astype(_SOLD_DTYPES)
    pd.testing.assert_frame_equal(got, expected)
    distinct = len(expected)  # 3 × 2 × 5 = 30 keys
    assert peak <= 2 * distinct + 37 + 10


def test_aggregator_empty_has_contract_dtypes():
    agg = _Aggregator(["a"], ["sold"], _SOLD_DTYPES, min_rows=1)
    out = agg.result()
    assert len(out) == 0
    assert list(out.columns) == ["BranchID", "ItemCode", "Date", "sold"]
    assert [str(t) for t in out.dtypes] == ["category", "category", "category", "float64"]


def test_build_flows_inflow_outflow_sold_and_zero_days_dropped():
    d1, d2 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")
    transfers = pd.DataFrame(
        {
            "Date": [d1, d1, d2],
            "FromBranchID": ["WH", "001", "001"],
            "ToBranchID": ["001", "002", "002"],
            "ItemCode": ["X", "X", "Y"],
            "QuantityMoved": [10.0, 4.0, 0.0],
        }
    ).astype(_TRANSFER_DTYPES)
    sold = pd.DataFrame(
        {"BranchID": ["001"], "ItemCode": ["X"], "Date": [d1], "sold": [3.0]}
    ).astype(_SOLD_DTYPES)
    flows = _build_flows(transfers, sold)
    assert list(flows.columns) == ["BranchID", "ItemCode", "Date", "inflow", "outflow", "sold"]
    assert flows.to_dict("records") == [
        {
            "BranchID": "001",
            "ItemCode": "X",
            "Date": d1,
            "inflow": 10.0,
            "outflow": 4.0,
            "sold": 3.0,
        },
        {
            "BranchID": "002",
            "ItemCode": "X",
            "Date": d1,
            "inflow": 4.0,
            "outflow": 0.0,
            "sold": 0.0,
        },
        {
            "BranchID": "WH",
            "ItemCode": "X",
            "Date": d1,
            "inflow": 0.0,
            "outflow": 10.0,
            "sold": 0.0,
        },
    ]  # the zero-quantity Y movement makes no flow day
    assert flows["Date"].dtype == np.dtype("datetime64[ns]")
    assert str(flows["BranchID"].dtype) == "str"


def test_build_flows_empty():
    empty = _build_flows(_empty_frame(_TRANSFER_DTYPES), _empty_frame(_SOLD_DTYPES))
    assert len(empty) == 0
    assert list(empty.columns) == list(_FLOW_DTYPES)


# --- report -------------------------------------------------------------------------------------
def _report() -> ValidationReport:
    good = FileReport(file="branches.csv", path="/d/branches.csv", read=3, accepted=3)
    bad = FileReport(
        file="stock_movement.csv",
        path="/d/stock_movement.csv",
        read=10,
        accepted=6,
        rejected=4,
        duplicates=2,
        reasons={"duplicate MovementID": 2, "unparseable Date": 1, "missing ItemCode": 1},
        dates={
            "Date": {"dayfirst": True, "note": "n", "formats": {"%Y-%m-%d": 9}, "offset_dropped": 0}
        },
    )
    return ValidationReport(
        files={good.file: good, bad.file: bad},
        findings=[Finding("external_ids", "2 external IDs", file="stock_movement.csv", count=2)],
        history_start="2024-01-01",
        history_end="2024-02-01",
    )


def test_report_ok_reconciled_and_top_reasons():
    report = _report()
    assert report.files["branches.csv"].ok
    assert not report.files["stock_movement.csv"].ok
    assert report.reconciled
    # One meaning of "ok": usable. Quarantined rows make the data unclean, not unusable.
    assert report.ok
    assert report.usable
    assert not report.clean
    assert report.files["stock_movement.csv"].top_reasons(2) == [
        ("duplicate MovementID", 2),
        ("missing ItemCode", 1),
    ]
    report.files["branches.csv"].accepted = 2
    assert not report.reconciled


def test_report_to_dict_is_json_and_format_is_a_table():
    report = _report()
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["files"]["stock_movement.csv"]["rejected"] == 4
    assert as_json["files"]["stock_movement.csv"]["dates"]["Date"]["formats"] == {"%Y-%m-%d": 9}
    assert as_json["findings"][0]["code"] == "external_ids"
    assert as_json["ok"] is True
    assert as_json["usable"] is True
    assert as_json["clean"] is False
    assert as_json["error"] is None
    text = report.format()
    lines = text.splitlines()
    assert lines[0].split() == [
        "file",
        "read",
        "accepted",
        "rejected",
        "duplicates",
        "top",
        "reject",
        "reasons",
    ]
    movement_line = next(line for line in lines if line.startswith("stock_movement.csv"))
    assert movement_line.split()[1:5] == ["10", "6", "4", "2"]
    assert "duplicate MovementID (2)" in movement_line
    assert "history: 2024-01-01 .. 2024-02-01" in text
    assert "[info] stock_movement.csv: 2 external IDs" in text


# --- argument checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "100"])
def test_load_chain_rejects_bad_chunksize(tmp_path, bad):
    with pytest.raises(ValueError, match="chunksize"):
        load_chain(tmp_path, chunksize=bad)


def test_load_chain_missing_directory(tmp_path):
    with pytest.raises(DataContractError, match="does not exist"):
        load_chain(tmp_path / "nope")


def test_data_contract_error_is_a_value_error():
    assert issubclass(DataContractError, ValueError)


# --- header mapping -----------------------------------------------------------------------------
def test_read_header_maps_loosely_and_lists_extra_and_absent_columns(tmp_path):
    path = tmp_path / "stock_movement.csv"
    path.write_text(
        "\ufeffmovementid , Date,From Branch ID,ToBranchID,ItemCode,QuantityMoved,Extra,Extra\n",
        encoding="utf-8",
    )
    header = _read_header(SCHEMAS["stock_movement"], path)
    assert header.names[-2:] == ["Extra", "Extra.1"]
    assert header.colmap["MovementID"] == "movementid"
    assert header.colmap["FromBranchID"] == "From Branch ID"
    assert header.missing_optional == ["FromBranchName", "ToBranchName", "ItemName"]
    assert header.extra_columns == ["Extra", "Extra.1"]
    assert [f.code for f in header.findings] == [
        "column_renamed",
        "column_renamed",
        "extra_columns",
        "optional_columns_absent",
    ]


def test_read_header_names_the_missing_required_column(tmp_path):
    path = tmp_path / "branches.csv"
    path.write_text("BranchName,OpeningDate\nx,2020-01-01\n", encoding="utf-8")
    with pytest.raises(DataContractError, match=r"branches\.csv: missing required.*'BranchID'"):
        _read_header(SCHEMAS["branches"], path)


# --- cross-file checks --------------------------------------------------------------------------
def _tables(**overrides):
    d = pd.Timestamp("2024-03-01")
    tables = {
        "branches": pd.DataFrame({"BranchID": ["001", "002"]}),
        "items": pd.DataFrame({"ItemCode": ["X"]}),
        "employees": pd.DataFrame({"BranchID": ["001", ""]}),
        "stock": pd.DataFrame(
            {
                "BranchID": ["001", "002"],
                "ItemCode": ["X", "X"],
                "CurrentQuantity": [5.0, 1.0],
                "LastUpdatedAt": [d, d],
            }
        ),
        "transfers": pd.DataFrame(
            {
                "Date": [d],
                "FromBranchID": ["001"],
                "ToBranchID": ["002"],
                "ItemCode": ["X"],
                "QuantityMoved": [2.0],
            }
        ).astype(_TRANSFER_DTYPES),
        "sold": pd.DataFrame(
            {"BranchID": ["001"], "ItemCode": ["X"], "Date": [d], "sold": [1.0]}
        ).astype(_SOLD_DTYPES),
        "movement_stats": _MovementStats(),
        "snapshot_stats": _SnapshotStats(),
        "returns": 0,
    }
    tables.update(overrides)
    tables["flows"] = _build_flows(tables["transfers"], tables["sold"])
    return tables


def _chain_findings(*, flows: pd.DataFrame, **tables) -> list:
    """Every cross-file check on tables whose flows are built already, in report order."""
    return _flows_and_findings(lambda: flows, **tables)[1]


def test_chain_findings_clean_tables_have_none():
    assert _chain_findings(**_tables()) == []


def test_chain_findings_each_check_in_report_order():
    d = pd.Timestamp("2024-03-02")
    tables = _tables(
        transfers=pd.DataFrame(
            {
                "Date": [d, d],
                "FromBranchID": ["WH", "002"],
                "ToBranchID": ["001", "002"],
                "ItemCode": ["Y", "X"],
                "QuantityMoved": [3.0, 1.0],
            }
        ).astype(_TRANSFER_DTYPES),
        employees=pd.DataFrame({"BranchID": ["009"]}),
        movement_stats=_MovementStats(conflicting_duplicates=2, self_transfers=1),
        returns=4,
    )
    tables["stock"].loc[0, "CurrentQuantity"] = -1.0
    codes = [(f.code, f.file, f.count) for f in _chain_findings(**tables)]
    assert codes == [
        ("external_ids", "stock_movement.csv", 1),
        ("movements_without_snapshot", "stock_movement.csv", 1),
        ("flows_after_snapshot", "stock_current.csv", 1),
        ("unknown_items", "item_master.csv", 1),
        ("unknown_branches", "employees.csv", 1),
        ("negative_current_quantity", "stock_current.csv", 1),
        ("sales_returns", "sales_transactions.csv", 4),
        ("self_transfers", "stock_movement.csv", 1),
        ("conflicting_duplicates", "stock_movement.csv", 2),
    ]


def test_flows_are_built_while_the_checks_without_them_run():
    """The flows come from the callable, built on this thread while the checks that do not
    read them run on another; the findings are those of the flows given whole, in order."""
    d = pd.Timestamp("2024-03-02")
    tables = _tables(
        transfers=pd.DataFrame(
            {"Date": [d], "FromBranchID": ["WH"], "ToBranchID": ["001"], "ItemCode": ["Y"]}
            | {"QuantityMoved": [3.0]}
        ).astype(_TRANSFER_DTYPES),
        returns=2,
    )
    flows = tables.pop("flows")
    threads: list[str] = []

    def build() -> pd.DataFrame:
        threads.append(threading.current_thread().name)
        return flows

    built, findings = _flows_and_findings(build, **tables)
    assert built is flows
    assert threads == [threading.main_thread().name]
    assert findings == _chain_findings(flows=flows, **tables)
    assert [f.code for f in findings] == [
        "external_ids",
        "movements_without_snapshot",
        "unknown_items",  # of the flows: between the two groups of checks on the other thread
        "sales_returns",
    ]

    def broken() -> pd.DataFrame:
        raise MemoryError("no room for the flows")

    with pytest.raises(MemoryError, match="no room"):
        _flows_and_findings(broken, **tables)


def test_calendar_days_are_a_categorical_of_days_in_order_of_first_appearance():
    stamps = pd.to_datetime(
        ["2024-03-02 10:00", "2024-03-01", "2024-03-02", None, "2024-03-02 23:59", "2024-03-01"],
        format="ISO8601",
    )
    days = _calendar_days(pd.Series(stamps, index=range(10, 16), name="Date"))
    assert list(days.cat.categories) == [pd.Timestamp("2024-03-02"), pd.Timestamp("2024-03-01")]
    assert days.index.tolist() == list(range(10, 16))
    plain = pd.Series(stamps).dt.normalize()
    assert days.astype("datetime64[ns]").tolist() == plain.tolist()  # NaT where NaT
    assert days.value_counts(sort=False).to_dict() == plain.value_counts(sort=False).to_dict()
    midnight = _calendar_days(pd.Series(plain.to_numpy(), name="Date"))  # each stamp a day
    pd.testing.assert_series_equal(midnight, days.reset_index(drop=True))


def test_unknown_branches_and_snapshot_checks():
    tables = _tables()
    branch_ids = pd.Index(["001"], dtype=object)
    (unknown,) = _unknown_branches(tables["stock"], "stock_current.csv", branch_ids)
    assert (unknown.code, unknown.severity, unknown.count) == ("unknown_branches", "warning", 1)
    assert "'002'" in unknown.message
    assert _unknown_branches(tables["stock"].iloc[:0], "stock_current.csv", branch_ids) == []
    (absent,) = _sales_without_snapshot(tables["sold"], _key_index(tables["stock"].iloc[1:]))
    assert absent.message.endswith("'001×X'")
    (empty,) = _empty_snapshot(tables["stock"].iloc[:0])
    assert (empty.code, empty.count) == ("empty_snapshot", 0)
    assert _empty_snapshot(tables["stock"]) == []


@pytest.mark.parametrize("dtype", ["str", "category"])
def test_distinct_keys_are_the_distinct_pairs_whatever_the_columns_hold(dtype):
    """Branch×item pairs counted on the columns' codes: the pairs ``drop_duplicates`` keeps,
    strings or categories (with unused ones), a missing ID a value like any other."""
    rng = np.random.default_rng(4)
    n = 5000
    frame = pd.DataFrame(
        {
            "ToBranchID": rng.choice(["001", "002", "WH01", None], n, p=[0.5, 0.3, 0.19, 0.01]),
            "ItemCode": rng.choice([f"I{i}" for i in range(40)], n),
        }
    ).astype(dtype)
    if dtype == "category":
        frame["ItemCode"] = frame["ItemCode"].cat.add_categories(["never"])
    got = _distinct_keys(frame, "ToBranchID", "ItemCode")
    assert list(got.columns) == ["BranchID", "ItemCode"]
    want = frame.drop_duplicates().astype(object)
    as_set = {(b if b == b else None, i) for b, i in got.astype(object).itertuples(index=False)}
    assert len(got) == len(want)
    assert as_set == {(b if b == b else None, i) for b, i in want.itertuples(index=False)}
    assert _distinct_keys(frame.iloc[:0], "ToBranchID", "ItemCode").empty


def test_flows_after_the_snapshot_counted_by_key_in_any_row_order():
    """Each flow row against its own key's snapshot day, the flows grouped by key or not."""
    stock = pd.DataFrame(
        {
            "BranchID": ["001", "001", "002"],
            "ItemCode": ["X", "Y", "X"],
            "LastUpdatedAt": pd.to_datetime(["2024-03-02", "2024-03-05", "2024-03-01"]),
        }
    )
    day = pd.Timestamp("2024-03-01") + pd.to_timedelta([0, 2, 3, 4, 6, 1, 2, 5], unit="D")
    flows = pd.DataFrame(
        {
            "BranchID": ["001", "001", "001", "001", "001", "002", "002", "003"],
            "ItemCode": ["X", "X", "X", "Y", "Y", "X", "X", "X"],
            "Date": day.as_unit("ns"),
        }
    ).astype({"BranchID": "str", "ItemCode": "str"})
    for order in (np.arange(8), np.random.default_rng(2).permutation(8)):
        (found,) = _flows_after_snapshot(flows.iloc[order].reset_index(drop=True), stock)
        # 001×X after 03-02: 03-03, 03-04; 001×Y after 03-05: 03-07; 002×X after 03-01:
        # 03-02, 03-03; 003×X has no snapshot row.
        assert (found.count, found.message.split(" on ")[1][:6]) == (5, "3 key(")


def test_examples_are_sorted_and_capped():
    assert _examples(["b", "a"]) == "'a', 'b'"
    assert _examples([f"k{i}" for i in range(7)]) == "'k0', 'k1', 'k2', 'k3', 'k4' and 2 more"
