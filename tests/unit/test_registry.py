"""Registry helpers that need no MLflow store: numbers as tags, links to a run, request examples."""

from __future__ import annotations

import pandas as pd
import pytest

from stockout_sk.contract import RAW_FIELDS
from stockout_sk.registry import (
    AliasMove,
    input_example,
    local_store_path,
    read_history,
    redact_uri,
    rollback_target,
    run_link,
)
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


# ------------------------------------------------------------------------- rollback target
def _move(action: str, before: str | None, after: str | None) -> AliasMove:
    return AliasMove("2026-01-01T00:00:00+00:00", action, before, after, "test", "")


def _versions(*numbers: str, **tags: dict[str, str]) -> dict[str, dict[str, str]]:
    return {n: dict(tags.get(f"v{n}", {})) for n in numbers}


def test_rollback_passes_over_a_version_replaced_by_a_manual_fix() -> None:
    """The issue's case: 3 went bad (monitoring fell back), an operator put 2 back by hand;
    rolling back from 2 must not re-install 3 (an undo of the last move would)."""
    moves = [
        _move("promoted", None, "1"),
        _move("promoted", "1", "2"),
        _move("promoted", "2", "3"),
        _move("fallback", "3", "3"),
        _move("manual-promotion", "3", "2"),
    ]
    plan = rollback_target(moves, "2", _versions("1", "2", "3"))
    assert plan.target == "1"
    assert plan.skipped == [
        "version 3: was rolled back from (or fallen back from) after it held production"
    ]


def test_a_manual_promotion_over_an_older_version_is_no_rollback() -> None:
    # 2 was rolled back to 1, then an operator decided 2 was fine after all and promoted it.
    moves = [
        _move("promoted", None, "1"),
        _move("promoted", "1", "2"),
        _move("rolled-back", "2", "1"),
        _move("manual-promotion", "1", "2"),
    ]
    assert rollback_target(moves, "2", _versions("1", "2")).target == "1"


def test_a_manual_promotion_back_to_an_older_version_judges_the_one_it_replaced() -> None:
    moves = [_move("promoted", None, "1"), _move("promoted", "1", "2")]
    moves.append(_move("manual-promotion", "2", "1"))
    plan = rollback_target(moves, "1", _versions("1", "2"))
    assert plan.target is None
    assert plan.skipped[0].startswith("version 2: was rolled back from")


def test_rollback_passes_over_deleted_and_unevaluated_versions() -> None:
    moves = [
        _move("promoted", None, "1"),
        _move("promoted", "1", "2"),
        _move("manual-promotion", "2", "3"),
        _move("promoted", "3", "4"),
    ]
    versions = _versions("1", "3", "4", v3={"stockout.decision": "unevaluated"})
    plan = rollback_target(moves, "4", versions)
    assert plan.target == "1"
    assert plan.skipped == [
        "version 3: was never evaluated by the gate",
        "version 2: no longer exists",
    ]


def test_without_history_rollback_follows_the_previous_production_tags() -> None:
    versions = _versions(
        "1",
        "2",
        "3",
        v3={"stockout.previous_production": "2"},
        v2={"stockout.previous_production": "1", "stockout.decision": "rolled-back"},
    )
    plan = rollback_target([], "3", versions)
    assert (plan.target, plan.source) == ("1", "tags")
    assert plan.skipped[0].startswith("version 2: was rolled back from")


def test_read_history_skips_unreadable_moves_and_keeps_time_order() -> None:
    import json

    later = _move("promoted", "1", "2").to_dict()
    earlier = _move("promoted", None, "1").to_dict()
    tags = {
        "stockout.history.20260102": json.dumps(later),
        "stockout.history.20260101": json.dumps(earlier),
        "stockout.history.20260103": "not json",
        "stockout.serving_mode": "model",
    }
    assert [m.to_version for m in read_history(tags)] == ["1", "2"]


# ------------------------------------------------------------------------------- store URIs
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://user:pw@host:5000/x", "http://user:***@host:5000/x"),
        ("https://ghp_TOKEN123@mlflow.example.com", "https://***@mlflow.example.com"),
        (
            "https://mlflow.example.com/?password=hunter2",
            "https://mlflow.example.com/?password=***",
        ),
        (
            "http://h:5000/api?token=abc&experiment_id=3",
            "http://h:5000/api?token=***&experiment_id=3",
        ),
        ("postgresql://mlflow:s3cret@[::1]:5432/db", "postgresql://mlflow:***@[::1]:5432/db"),
        ("s3://bucket/p?X-Amz-Signature=deadbeef", "s3://bucket/p?X-Amz-Signature=***"),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
        ("http://mlflow:5000", "http://mlflow:5000"),
    ],
)
def test_redact_uri_hides_every_kind_of_credential(uri: str, expected: str) -> None:
    assert redact_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:////srv/x/mlflow.db", "/srv/x/mlflow.db"),
        ("sqlite:///mlflow.db", "mlflow.db"),
        ("file:///srv/mlruns", "/srv/mlruns"),
        ("./mlruns", "mlruns"),
        ("http://mlflow:5000", None),
        ("postgresql://u@db/mlflow", None),
        ("databricks", None),
        ("databricks-uc", None),
    ],
)
def test_local_store_path(uri: str, path: str | None) -> None:
    found = local_store_path(uri)
    assert (None if found is None else found.as_posix()) == path
