"""The morning list without a registry: ranking, names, the page a planner reads."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pandas as pd
import pytest

from stockout_sk.scoring import (
    build_morning_list,
    feature_label,
    output_paths,
    render_html,
    write_morning_list,
)
from stockout_sk.serving import Snapshot
from stockout_sk.vocabulary import Source

pytestmark = pytest.mark.unit

RULE_BASELINE = Source.RULE_BASELINE


def _chain() -> SimpleNamespace:
    stock = pd.DataFrame(
        {
            "BranchID": ["001", "001", "002", "002"],
            "BranchName": ["Al Malaz", "Al Malaz", "Olaya", "Olaya"],
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
            "ItemCode": ["ITM1", "ITM2"],
            "ArabicName": ["حليب", "بيض"],
            "EnglishName": ["Milk 1 L", "<script>alert(1)</script>"],
            "BrandOnBox": ["", ""],
        }
    )
    return SimpleNamespace(stock_current=stock, items=items)


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
    assert frame.loc[0, "reason_1"] == "rule: current quantity below safety stock"
    assert (frame["source"] == RULE_BASELINE).all()
    summary = morning.summary()
    assert (summary["rows"], summary["at_risk"], summary["branches"]) == (4, 2, 2)
    assert (summary["as_of_first"], summary["as_of_last"]) == ("2024-03-31", "2024-04-01")
    assert summary["fallback_reason"] == "no version holds alias 'production'"


def test_html_page_is_self_contained_escaped_and_highlights_risk(morning) -> None:
    page = render_html(morning)
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "eggs <b>" not in page
    assert len(re.findall(r'<tr class="risk">', page)) == 2
    assert "The rule baseline scored this list" in page
    assert "no version holds alias" in page
    # Nothing is fetched from elsewhere: no external scripts, styles, fonts or images.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page
    assert "حليب" not in page or 'dir="auto"' in page


def test_html_shows_every_at_risk_row_but_caps_the_rest(morning) -> None:
    page = render_html(morning, max_rows=1)
    assert page.count("<tr class=") == 2  # both at-risk rows, nothing else
    assert "the CSV has all 4" in page


def test_write_and_output_paths(tmp_path, morning) -> None:
    csv_path, html_path = write_morning_list(morning, tmp_path / "out" / "list.csv")
    assert (csv_path.name, html_path.name) == ("list.csv", "list.html")
    back = pd.read_csv(csv_path, dtype={"BranchID": str, "ItemCode": str})
    assert back["BranchID"].tolist()[:2] == ["001", "002"]  # leading zeros kept
    assert list(back.columns[:4]) == ["rank", "BranchID", "BranchName", "ItemCode"]
    assert output_paths("x/list.html") == (output_paths("x/list.csv"))
    with pytest.raises(ValueError, match=r"--out must name a \.csv or \.html"):
        output_paths("list.xlsx")


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
