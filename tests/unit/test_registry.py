"""Registry helpers that need no MLflow store: numbers as tags, links to a run, request examples."""

from __future__ import annotations

import pandas as pd
import pytest

from stockout_sk.contract import RAW_FIELDS
from stockout_sk.registry import input_example, run_link
from stockout_sk.registry.state import HOLDOUT_METRICS, tag_float, tag_number

pytestmark = pytest.mark.unit


def test_tag_number_keeps_six_significant_digits_and_writes_none_as_empty() -> None:
    assert tag_number(0.123456789) == "0.123457"
    assert tag_number(0.7) == "0.7"
    assert tag_number(None) == ""


@pytest.mark.parametrize(
    ("text", "expected"), [("0.75", 0.75), ("1e-3", 0.001), ("", None), (None, None), ("n/a", None)]
)
def test_tag_float_reads_numbers_back_and_anything_else_as_none(text, expected) -> None:
    assert tag_float(text) == expected


def test_tag_number_round_trips_through_tag_float() -> None:
    assert tag_float(tag_number(0.8125)) == 0.8125
    assert tag_float(tag_number(None)) is None


def test_holdout_metrics_are_the_metrics_without_the_threshold() -> None:
    assert HOLDOUT_METRICS == ("f1", "precision", "recall", "pr_auc", "roc_auc", "brier")


def test_run_link_points_a_server_at_its_ui_and_a_local_store_at_mlflow_ui() -> None:
    assert run_link("http://mlflow:5000/", "3", "abc") == (
        "http://mlflow:5000/#/experiments/3/runs/abc"
    )
    local = run_link("sqlite:///x.db", "3", "abc")
    assert "mlflow ui --backend-store-uri sqlite:///x.db" in local
    assert "run abc" in local


def test_input_example_sends_ids_and_date_as_strings_and_quantities_as_floats() -> None:
    X = pd.DataFrame(
        {
            "BranchID": [7, 8],
            "ItemCode": ["007", "008"],
            "Date": pd.to_datetime(["2024-04-01", "2024-04-02"]),
            "CurrentQuantity": [120, 3],
            "ReservedQuantity": [10, 0],
            "SafetyStockLevel": [50, 5],
            "extra": [1, 2],
        }
    )
    example = input_example(X, rows=1)
    assert list(example.columns) == list(RAW_FIELDS)
    assert example.iloc[0].to_dict() == {
        "BranchID": "7",
        "ItemCode": "007",
        "Date": "2024-04-01",
        "CurrentQuantity": 120.0,
        "ReservedQuantity": 10.0,
        "SafetyStockLevel": 50.0,
    }
    assert example["CurrentQuantity"].dtype == "float64"
