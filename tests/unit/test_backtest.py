"""Unit tests for stockout_sk.backtest: origins, one fold, the report (small chain, few trees)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stockout_sk.backtest import (
    BACKTEST_FILES,
    MODELS,
    PLAIN_FEATURES,
    chain_until,
    mean_interval,
    plan_origins,
    run_backtest,
)
from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import NotEnoughHistoryError, recall_at_top
from stockout_sk.ingest import load_chain
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.unit

SMALL = ModelConfig(n_estimators=10, num_leaves=7, min_child_samples=5)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backtest-chain")
    generate_chain(folder, branches=2, items=8, days=100, seed=6)
    return load_chain(folder)


@pytest.fixture(scope="module")
def report(chain):
    return run_backtest(chain, SMALL, folds=2, step_days=5, progress=lambda line: None)


def test_origins_end_on_the_last_matured_day_step_days_apart():
    days = pd.date_range("2024-01-01", "2024-04-09", freq="D")
    assert plan_origins(days, folds=3, step_days=5) == list(
        pd.to_datetime(["2024-03-30", "2024-04-04", "2024-04-09"])
    )
    # Scoring three days from each origin: the last origin leaves them matured.
    assert plan_origins(days, folds=1, window_days=3)[0] == pd.Timestamp("2024-04-07")


def test_each_fold_trains_on_its_export_and_scores_its_morning_list(chain, report):
    last_matured = chain.history_end - pd.Timedelta(days=SMALL.horizon)
    origins = [f.origin for f in report.folds]
    assert origins == [last_matured - pd.Timedelta(days=5), last_matured]
    for fold in report.folds:
        assert fold.scored == (fold.origin, fold.origin)
        assert fold.rows == len(chain.stock_current)  # every branch×item, as of the origin
        assert fold.positives == int(fold.y.sum())
        assert fold.export_days == (fold.origin - chain.history_start).days + 1
        # The deployed model is the refit on every row matured by the origin, no later.
        assert fold.fit_rows["refit"] is True
        assert pd.Timestamp(fold.fit_rows["end"]) == fold.origin - pd.Timedelta(days=7)
        assert pd.Timestamp(fold.fitted.fit_rows["end"]) < pd.Timestamp(fold.fit_rows["end"])
        assert set(fold.metrics) >= set(MODELS)
        for name in MODELS:
            assert fold.metrics[name]["recall_at_top"] == recall_at_top(
                fold.y, fold.scores[name], report.top_share
            )


def test_the_summary_compares_the_model_with_each_bar_fold_by_fold(report):
    summary = report.summary()
    for other in ("plain", "velocity", "rule"):
        block = summary["versus"][other]["pr_auc"]
        deltas = [f.metrics["model"]["pr_auc"] - f.metrics[other]["pr_auc"] for f in report.folds]
        assert block["mean"] == pytest.approx(np.mean(deltas))
        assert block["wins"] == sum(d >= 0 for d in deltas)
        assert block["folds"] == 2
    payload = report.to_dict()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    assert [f["fold"] for f in payload["folds"]] == [1, 2]
    table = report.table()
    assert "pipeline − plain LightGBM" in table
    assert "morning list" in table


def test_write_gives_a_table_a_json_summary_and_one_plot(report, tmp_path):
    paths = report.write(tmp_path)
    assert [p.name for p in paths] == list(BACKTEST_FILES)
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths[0].read_text())["summary"] == json.loads(
        json.dumps(report.to_dict()["summary"])
    )


def test_chain_until_cuts_the_flows_at_the_origin(chain):
    origin = chain.history_start + pd.Timedelta(days=60)
    cut = chain_until(chain, origin)
    assert cut.flows["Date"].max() <= origin < chain.flows["Date"].max()
    assert cut.transfers["Date"].max() <= origin
    assert cut.history_end == origin
    assert cut.stock_current is chain.stock_current


def test_an_origin_below_the_floor_names_the_fold(chain):
    early = chain.history_start + pd.Timedelta(days=40)
    with pytest.raises(NotEnoughHistoryError, match=r"backtest fold 1 \(origin .*not enough"):
        run_backtest(chain, SMALL, origins=[early], progress=lambda line: None)


def test_an_origin_without_matured_rows_is_refused(chain):
    with pytest.raises(ValueError, match="no matured row from the origin"):
        run_backtest(chain, SMALL, origins=[chain.history_end], progress=lambda line: None)


def test_bad_arguments_are_named(chain):
    with pytest.raises(ValueError, match="top_share must be in"):
        run_backtest(chain, SMALL, top_share=0.0)
    with pytest.raises(ValueError, match="folds must be >= 1"):
        run_backtest(chain, SMALL, folds=0)


def test_mean_interval_of_one_value_has_no_interval():
    assert mean_interval([0.4]) == {
        "mean": 0.4, "low": None, "high": None, "min": 0.4, "max": 0.4, "n": 1,
    }  # fmt: skip
    assert mean_interval([None, float("nan")])["n"] == 0
    assert len(PLAIN_FEATURES) == 10
