"""The morning list without a registry: ranking, names, what was not scored, files, the page."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stockout_sk.ingest import FileReport, ValidationReport
from stockout_sk.scoring import (
    NO_SNAPSHOT,
    QUARANTINED,
    build_morning_list,
    check_outputs,
    feature_label,
    output_paths,
    page_data,
    render_html,
    unscored_items,
    write_morning_list,
)
from stockout_sk.serving import Snapshot
from stockout_sk.vocabulary import Source

pytestmark = pytest.mark.unit

RULE_BASELINE = Source.RULE_BASELINE
REJECTS_HEADER = (
    "BranchID,BranchName,ItemCode,ItemName,CurrentQuantity,ReservedQuantity,SafetyStockLevel,"
    "LastUpdatedAt,reason,line\n"
)


def _chain(report: ValidationReport | None = None, flows: pd.DataFrame | None = None):
    stock = pd.DataFrame(
        {
            "BranchID": ["001", "001", "002", "002"],
            "BranchName": ["Al Malaz", '=HYPERLINK("http://x","x")', "Olaya", "Olaya"],
            "ItemCode": ["ITM1", "ITM2", "ITM1", "ITM3"],
            "ItemName": ["milk", "eggs <b>", "milk", "dates"],
            "CurrentQuantity": [5.0, 40.0, 2.0, 0.0],
            "ReservedQuantity": [1.0, 0.0, 0.0, 0.0],
            "SafetyStockLevel": [10.0, 10.0, 3.0, 0.0],
            "LastUpdatedAt": pd.to_datetime(
                ["2024-04-01 09:00", "2024-04-01 00:00", "2024-03-31 00:00", "2024-04-01 00:00"]
            ),
        }
    )
    items = pd.DataFrame(
        {
            "ItemCode": ["ITM1", "ITM2", "ITM9"],
            "ArabicName": ["حليب", "بيض", "تمر"],
            "EnglishName": ["Milk 1 L", "<script>alert(1)</script>", ""],
            "BrandOnBox": ["", "", ""],
        }
    )
    branches = pd.DataFrame({"BranchID": ["001", "002"], "BranchName": ["Al Malaz", "Olaya"]})
    if flows is None:
        flows = pd.DataFrame(columns=["BranchID", "ItemCode", "Date", "inflow", "outflow", "sold"])
    return SimpleNamespace(
        stock_current=stock,
        items=items,
        branches=branches,
        flows=flows,
        report=report or ValidationReport(files={}),
    )


@pytest.fixture
def morning():
    snapshot = Snapshot(source=RULE_BASELINE, reason="no version holds alias 'production'")
    return build_morning_list(_chain(), snapshot)


def test_rule_baseline_list_is_ranked_and_named(morning) -> None:
    frame = morning.frame
    assert frame["rank"].tolist() == [1, 2, 3, 4]
    # At risk first (rule: current < safety), the tighter headroom first among equals.
    assert frame[["BranchID", "ItemCode"]].values.tolist() == [
        ["001", "ITM1"],
        ["002", "ITM1"],
        ["002", "ITM3"],
        ["001", "ITM2"],
    ]
    assert frame["at_risk"].tolist() == [1, 1, 0, 0]
    assert frame["probability"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert frame["headroom"].tolist() == [-6.0, -1.0, 0.0, 30.0]
    assert frame["as_of"].tolist() == ["2024-04-01", "2024-03-31", "2024-04-01", "2024-04-01"]
    # Names from the item master when it has them, else from stock_current.
    names = dict(zip(frame["ItemCode"], frame["ItemName"], strict=True))
    assert names == {"ITM1": "Milk 1 L", "ITM2": "<script>alert(1)</script>", "ITM3": "dates"}
    assert frame.loc[0, "ArabicName"] == "حليب"
    # The rule's reason in a planner's words, with the numbers.
    assert frame.loc[0, "reason_1"] == (
        "only 5 units on hand, below the safety stock of 10 units (rule baseline)"
    )
    assert frame.loc[3, "reason_1"] == ""
    # No sales rate without the model: days to safety stock only for rows already below.
    assert frame["days_to_safety_stock"].tolist()[:2] == [0.0, 0.0]
    assert frame["days_to_safety_stock"].iloc[2:].isna().all()
    assert frame["expected_shortfall"].isna().all()
    assert (frame["source"] == RULE_BASELINE).all()
    summary = morning.summary()
    assert (summary["rows"], summary["at_risk"], summary["branches"]) == (4, 2, 2)
    assert (summary["not_scored"], summary["not_scored_by_kind"]) == (0, {})
    assert (summary["as_of_first"], summary["as_of_last"]) == ("2024-03-31", "2024-04-01")
    assert summary["fallback_reason"] == "no version holds alias 'production'"


def _page_json(page: str) -> dict:
    block = re.search(
        r'<script type="application/json" id="morning-data">(.*?)</script>', page, re.S
    )
    assert block is not None
    return json.loads(block.group(1))


def test_page_is_self_contained_escaped_and_carries_every_row(morning) -> None:
    page = render_html(morning)
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    # Names reach the page only inside the JSON block, where no "<" survives as such.
    assert "<script>alert(1)</script>" not in page
    assert "eggs <b>" not in page
    assert "The rule baseline scored this list" in page
    assert "no version holds alias" in page
    # Nothing is fetched from elsewhere: no external scripts, styles, fonts or images.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page
    assert "fetch(" not in page
    assert "XMLHttpRequest" not in page
    # The controls a planner uses, and sortable columns.
    for control in ('id="branch"', 'id="decision"', 'id="min"', 'id="search"', 'id="unscored"'):
        assert control in page
    assert '<option value="risk">At risk only</option>' in page  # the default view
    assert len(re.findall(r"<th data-sort=", page)) >= 8
    # Right-to-left names are isolated (bdi) and their direction is decided by their text.
    assert "bdi" in page
    assert 'dir="auto"' in page
    data = _page_json(page)
    assert len(data["rows"]) == len(morning.frame)
    items = {code: (name, arabic) for code, name, arabic in data["items"]}
    assert items["ITM2"] == ("<script>alert(1)</script>", "بيض")
    assert data["meta"]["at_risk"] == 2


def test_page_data_round_trips_the_list(morning) -> None:
    data = page_data(morning)
    frame = morning.frame
    for k, row in enumerate(data["rows"]):
        branch, item = data["branches"][row[0]], data["items"][row[1]]
        assert branch[0] == frame.loc[k, "BranchID"]
        assert item[0] == frame.loc[k, "ItemCode"]
        assert data["dates"][row[2]] == frame.loc[k, "as_of"]
        assert row[3] == pytest.approx(frame.loc[k, "probability"], abs=1e-4)
        assert row[4] == frame.loc[k, "at_risk"]
        assert (
            row[5:8]
            == frame.loc[k, ["CurrentQuantity", "ReservedQuantity", "SafetyStockLevel"]].tolist()
        )
        assert row[9] == frame.loc[k, "headroom"]
        reasons = [data["reasons"][r] for r in row[13]]
        expected = [frame.loc[k, f"reason_{j}"] for j in (1, 2, 3)]
        assert reasons == [r for r in expected if r]
    assert json.dumps(data, allow_nan=False)  # strict JSON: no NaN reaches the page


def test_page_caps_rows_but_keeps_every_at_risk_row(morning) -> None:
    data = page_data(morning, max_rows=1)
    assert len(data["rows"]) == 2  # both at-risk rows, nothing else
    page = render_html(morning, max_rows=1)
    assert "This page holds the 2 highest-risk rows; the CSV has all 4" in page


def test_unscored_lists_quarantined_rows_and_keys_without_a_snapshot(tmp_path) -> None:
    rejects = tmp_path / "stock_current.csv"
    rejects.write_text(
        REJECTS_HEADER
        + "005,Yasmin,,,5,0,3,2024-04-01,missing ItemCode,23\n"
        + "001,Al Malaz,ITM9,,4,0,2,2024-02-30,unparseable LastUpdatedAt,113\n"
        # A rejected duplicate of a key that was scored is not missing.
        + "001,Al Malaz,ITM1,,4,0,2,2024-03-01,duplicate BranchID×ItemCode,7\n",
        encoding="utf-8",
    )
    report = ValidationReport(
        files={
            "stock_current.csv": FileReport(
                file="stock_current.csv",
                path="x",
                read=7,
                accepted=4,
                rejected=3,
                reasons={"missing ItemCode": 1, "unparseable LastUpdatedAt": 1, "duplicate": 1},
                rejects_path=str(rejects),
            )
        }
    )
    flows = pd.DataFrame(
        {
            "BranchID": ["002", "002", "WH01", "001"],
            "ItemCode": ["ITM7", "ITM7", "ITM8", "ITM9"],
            "Date": pd.to_datetime(["2024-03-30", "2024-03-31", "2024-03-31", "2024-03-20"]),
            "inflow": [0.0, 5.0, 0.0, 0.0],
            "outflow": [0.0, 0.0, 5.0, 0.0],
            "sold": [2.0, 1.0, 0.0, 1.0],
        }
    )
    chain = _chain(report, flows)
    snapshot = Snapshot(source=RULE_BASELINE, reason="test")
    morning = build_morning_list(chain, snapshot)
    unscored = morning.unscored
    assert unscored[["BranchID", "ItemCode", "kind"]].values.tolist() == [
        ["005", "", QUARANTINED],
        ["001", "ITM9", QUARANTINED],  # quarantined; its sales do not list it twice
        ["002", "ITM7", NO_SNAPSHOT],  # sells at a branch, no stock_current row at all
    ]  # WH01 is a warehouse, not a branch: not an item that should have been scored
    assert unscored.loc[0, "reason"] == "missing ItemCode (stock_current.csv line 23)"
    assert unscored["line"].tolist()[:2] == [23, 113]
    assert unscored.loc[1, "ItemName"] == "تمر"  # the item master's name (Arabic only)
    assert "last on 2024-03-31" in unscored.loc[2, "reason"]
    assert morning.summary()["not_scored"] == 3
    data = _page_json(render_html(morning))
    assert [u[1] for u in data["unscored"]] == ["", "ITM9", "ITM7"]
    assert '<details id="unscored" open>' in render_html(morning)


def test_unscored_without_a_rejects_file_counts_per_reason() -> None:
    report = ValidationReport(
        files={
            "stock_current.csv": FileReport(
                file="stock_current.csv",
                path="x",
                read=6,
                accepted=4,
                rejected=2,
                reasons={"missing ItemCode": 2},
            )
        }
    )
    scored = pd.MultiIndex.from_arrays([["001"], ["ITM1"]])
    unscored = unscored_items(_chain(report), scored)
    assert unscored[["kind", "count"]].values.tolist() == [[QUARANTINED, 2]]
    assert unscored.loc[0, "reason"].startswith("missing ItemCode")


def test_csv_cells_cannot_run_as_spreadsheet_formulas(tmp_path, morning) -> None:
    csv_path, html_path = write_morning_list(morning, tmp_path / "out" / "list.csv")
    assert (csv_path.name, html_path.name) == ("list.csv", "list.html")
    assert (tmp_path / "out" / "list_unscored.csv").is_file()
    back = pd.read_csv(csv_path, dtype={"BranchID": str, "ItemCode": str})
    assert back["BranchID"].tolist()[:2] == ["001", "002"]  # leading zeros kept
    assert list(back.columns[:4]) == ["rank", "BranchID", "BranchName", "ItemCode"]
    names = back.set_index("ItemCode")["BranchName"]
    assert names["ITM2"] == '\'=HYPERLINK("http://x","x")'  # text, not a live link
    for column in back.select_dtypes(include=["object", "string"]).columns:
        text = back[column].dropna().astype(str)
        assert not text.str.match(r"[=+\-@\t\r]").any(), column
    assert (back["headroom"] < 0).any()  # numbers stay numbers


def test_output_paths_and_overwrite_protection(tmp_path, morning) -> None:
    assert output_paths("x/list.html") == output_paths("x/list.csv")
    assert output_paths("x/list.csv")[2].name == "list_unscored.csv"
    with pytest.raises(ValueError, match=r"--out must name a \.csv or \.html"):
        output_paths("list.xlsx")
    data = tmp_path / "data"
    data.mkdir()
    (data / "stock_current.csv").write_text("x\n")
    # An input file is never overwritten, --force or not.
    for force in (False, True):
        with pytest.raises(ValueError, match="a file of the input folder"):
            check_outputs(data / "stock_current.csv", inputs=[data], force=force)
    out = tmp_path / "morning" / "list.csv"
    write_morning_list(morning, out, force=False)
    with pytest.raises(ValueError, match=r"already exist.*pass --force"):
        check_outputs(out, inputs=[data])
    assert check_outputs(out, inputs=[data], force=True)[0] == out
    assert (data / "stock_current.csv").read_text() == "x\n"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("days_of_cover", "days of cover"),
        ("sold_14d", "units sold, last 14 days"),
        ("days_below_safety_28d", "days below safety stock, last 28 days"),
        ("ID hashes", "branch / item identity"),
        ("something_new", "something_new"),
    ],
)
def test_feature_labels(name: str, label: str) -> None:
    assert feature_label(name) == label


def test_page_data_numbers_are_plain_json() -> None:
    snapshot = Snapshot(source=RULE_BASELINE, reason="x")
    chain = _chain()
    chain.stock_current.loc[0, "CurrentQuantity"] = np.nan  # an unknown quantity → null
    data = page_data(build_morning_list(chain, snapshot))
    assert any(None in row[5:8] for row in data["rows"])
    json.dumps(data, allow_nan=False)


def test_a_list_without_reasons(tmp_path) -> None:
    snapshot = Snapshot(source=RULE_BASELINE, reason="x")
    morning = build_morning_list(_chain(), snapshot, top_reasons=0)
    assert not [c for c in morning.frame.columns if c.startswith("reason_")]
    data = page_data(morning)
    assert all(row[13] == [] for row in data["rows"])
    write_morning_list(morning, tmp_path / "list.csv")
