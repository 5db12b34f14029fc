"""Unit tests for stockout_sk.evaluate: purged time split, threshold, metrics, baselines, report."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from stockout_sk.evaluate import (
    METRIC_KEYS,
    EvaluationWarning,
    choose_threshold,
    classification_metrics,
    evaluate_holdout,
    rule_baseline,
    rule_decision,
    time_split,
    validation_split,
    velocity_baseline,
)

pytestmark = pytest.mark.unit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _days(start: str, periods: int, repeat: int = 1) -> pd.Series:
    """`repeat` rows per calendar day, like branch×item rows sharing an as-of day."""
    days = pd.date_range(start, periods=periods, freq="D")
    return pd.Series(np.repeat(days, repeat), name="Date")


# --------------------------------------------------------------------------------------------------
# time_split / validation_split
# --------------------------------------------------------------------------------------------------


def test_time_split_purge_gap_is_exactly_horizon_days():
    dates = _days("2024-01-01", 20, repeat=2)  # 2024-01-01 .. 2024-01-20

    split = time_split(dates, horizon=3, holdout_days=4, min_train_days=5)

    assert split.holdout_start == pd.Timestamp("2024-01-17")
    assert split.holdout_end == pd.Timestamp("2024-01-20")
    # Last training day t must satisfy t + 3 < 2024-01-17, i.e. t <= 2024-01-13.
    assert split.train_end == pd.Timestamp("2024-01-13")
    assert split.cutoff == pd.Timestamp("2024-01-13")
    assert split.train_start == pd.Timestamp("2024-01-01")
    assert split.gap_days == 3
    assert (split.n_train_days, split.n_holdout_days) == (13, 4)
    np.testing.assert_array_equal(split.train, (dates <= "2024-01-13").to_numpy())
    np.testing.assert_array_equal(split.holdout, (dates >= "2024-01-17").to_numpy())
    np.testing.assert_array_equal(split.purged, dates.between("2024-01-14", "2024-01-16"))
    assert split.rows() == {"train": 26, "holdout": 8}


def test_time_split_no_training_label_window_reaches_the_holdout():
    dates = _days("2024-03-01", 60, repeat=3).sample(frac=1.0, random_state=1)
    horizon = 7

    split = time_split(dates, horizon=horizon, holdout_days=10, min_train_days=20)

    train_days = set(dates[split.train])
    holdout_days = set(dates[split.holdout])
    assert not train_days & holdout_days
    assert not np.any(split.train & split.holdout)
    # The label of as-of day t looks at [t+1, t+horizon]; it must end before the first held-out day.
    assert max(train_days) + pd.Timedelta(days=horizon) < min(holdout_days)
    assert len(holdout_days) == 10


def test_time_split_masks_are_positional_and_ignore_time_of_day():
    # Shuffled rows, a non-default index and timestamps with a time of day.
    base = _days("2024-01-01", 12)
    dates = (base + pd.Timedelta(hours=17, minutes=30)).iloc[::-1]
    dates.index = [f"row{i}" for i in range(len(dates))]

    split = time_split(dates, horizon=2, holdout_days=3, min_train_days=4)

    # Reversed order: the first three rows are the latest days.
    np.testing.assert_array_equal(split.holdout, [True] * 3 + [False] * 9)
    np.testing.assert_array_equal(split.train, [False] * 5 + [True] * 7)
    assert split.holdout_start == pd.Timestamp("2024-01-10")
    assert split.train_end == pd.Timestamp("2024-01-07")


def test_time_split_holdout_counts_distinct_days_present():
    # No rows on 2024-01-17 and 2024-01-18: the holdout still takes 3 distinct days that exist.
    days = pd.to_datetime([f"2024-01-{d:02d}" for d in range(1, 17)] + ["2024-01-19", "2024-01-20"])
    dates = pd.Series(days)

    split = time_split(dates, horizon=2, holdout_days=3, min_train_days=5)

    assert split.holdout_start == pd.Timestamp("2024-01-16")
    assert split.train_end == pd.Timestamp("2024-01-13")
    assert int(split.holdout.sum()) == 3


def test_time_split_is_deterministic():
    dates = _days("2024-01-01", 70, repeat=4)
    first = time_split(dates, horizon=7)
    second = time_split(dates, horizon=7)
    np.testing.assert_array_equal(first.train, second.train)
    np.testing.assert_array_equal(first.holdout, second.holdout)


def test_time_split_exactly_enough_days_works():
    # 4 holdout + 3 purge + 5 training = 12 consecutive days.
    split = time_split(_days("2024-01-01", 12), horizon=3, holdout_days=4, min_train_days=5)
    assert split.n_train_days == 5


def test_time_split_too_few_days_says_needed_and_found():
    with pytest.raises(ValueError, match=r"at least 12 consecutive days") as info:
        time_split(_days("2024-01-01", 11), horizon=3, holdout_days=4, min_train_days=5)
    message = str(info.value)
    assert "11 distinct as-of day(s)" in message
    assert "4 are usable for training" in message
    assert "2024-01-04" in message  # the cutoff: first holdout day 01-08 − 3 − 1


def test_time_split_fewer_days_than_the_holdout():
    with pytest.raises(ValueError, match=r"holdout needs 21 distinct as-of days"):
        time_split(_days("2024-01-01", 10), horizon=7)


def test_time_split_rejects_bad_input():
    with pytest.raises(TypeError, match="datetime64"):
        time_split(pd.Series(["2024-01-01"] * 40), horizon=7)
    dates = _days("2024-01-01", 40)
    dates.iloc[5] = pd.NaT
    with pytest.raises(ValueError, match=r"1 missing date.*position 5"):
        time_split(dates, horizon=7)
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        time_split(_days("2024-01-01", 40), horizon=0)
    with pytest.raises(TypeError, match="holdout_days must be an int"):
        time_split(_days("2024-01-01", 40), horizon=7, holdout_days=2.5)


def test_validation_split_uses_the_same_purge_rule():
    dates = _days("2024-01-01", 30, repeat=2)
    outer = time_split(dates, horizon=3, holdout_days=5, min_train_days=10)
    train_dates = dates[outer.train]

    inner = validation_split(train_dates, horizon=3, validation_days=4, min_train_days=5)

    assert len(inner.train) == len(train_dates)
    assert inner.holdout_start == pd.Timestamp("2024-01-19")
    assert inner.train_end == pd.Timestamp("2024-01-15")
    assert inner.gap_days == 3
    assert not np.any(inner.train & inner.holdout)
    with pytest.raises(ValueError, match=r"validation_split.*training needs 30"):
        validation_split(train_dates, horizon=3, validation_days=4, min_train_days=30)


# --------------------------------------------------------------------------------------------------
# choose_threshold
# --------------------------------------------------------------------------------------------------


def test_choose_threshold_hand_case():
    y = [0, 0, 1, 1, 0, 1]
    proba = [0.1, 0.4, 0.35, 0.8, 0.7, 0.9]
    # Cuts (desc): 0.9 → F1 .5, 0.8 → .8, 0.7 → .667, 0.4 → .571, 0.35 → .75, 0.1 → .667.
    # Best cut flags {0.9, 0.8}; the threshold sits halfway to the next score, 0.7.
    assert choose_threshold(y, proba) == pytest.approx(0.75)


def test_choose_threshold_ties_go_to_the_highest_threshold():
    # Flagging only 0.9 and flagging all four both give F1 = 2/3.
    y = [1, 0, 0, 1]
    proba = [0.9, 0.6, 0.5, 0.2]
    threshold = choose_threshold(y, proba)
    assert threshold == pytest.approx(0.75)
    assert f1_score(y, np.asarray(proba) >= threshold) == pytest.approx(2 / 3)


def test_choose_threshold_groups_equal_scores_and_can_flag_everything():
    # Equal scores cannot be split: {0.5, 0.5} → F1 .5, all → .8; below the minimum, halfway to 0.
    assert choose_threshold([1, 0, 1], [0.5, 0.5, 0.2]) == pytest.approx(0.1)


def test_choose_threshold_maximises_f1_against_brute_force():
    rng = np.random.default_rng(11)
    y = (rng.random(400) < 0.3).astype(int)
    proba = np.round(np.clip(0.35 * y + rng.normal(0.3, 0.2, 400), 0, 1), 2)  # many ties

    threshold = choose_threshold(y, proba)

    best = max(f1_score(y, proba >= t, zero_division=0) for t in np.unique(proba))
    assert f1_score(y, proba >= threshold) == pytest.approx(best)
    # Same decision with > and >=: the threshold is not one of the scores.
    assert not np.any(proba == threshold)


@pytest.mark.parametrize("label", [0, 1])
def test_choose_threshold_one_class_falls_back_with_a_warning(label):
    with pytest.warns(EvaluationWarning, match=r"all 3 validation labels.*falling back to 0.5"):
        assert choose_threshold([label] * 3, [0.2, 0.6, 0.9]) == 0.5


def test_choose_threshold_rejects_bad_input():
    with pytest.raises(ValueError, match=r"proba must lie in \[0, 1\]"):
        choose_threshold([0, 1], [0.2, 1.5])
    with pytest.raises(ValueError, match="proba has 1 values but there are 2 labels"):
        choose_threshold([0, 1], [0.2])
    with pytest.raises(ValueError, match=r"0/1 labels, found 2.0 at position 1"):
        choose_threshold([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError, match="y_true is empty"):
        choose_threshold([], [])


# --------------------------------------------------------------------------------------------------
# classification_metrics
# --------------------------------------------------------------------------------------------------

Y6 = [1, 0, 1, 1, 0, 0]
S6 = [0.9, 0.8, 0.6, 0.3, 0.2, 0.1]


def test_metrics_hand_computed_six_rows():
    metrics = classification_metrics(Y6, S6, threshold=0.5)

    # Flagged 0.9, 0.8, 0.6: TP 2, FP 1, FN 1.
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 / 3)
    # AP: positives at ranks 1, 3, 4 → (1 + 2/3 + 3/4) / 3.
    assert metrics["pr_auc"] == pytest.approx(29 / 36)
    # Positive-negative pairs ranked correctly: 3 + 2 + 2 of 9.
    assert metrics["roc_auc"] == pytest.approx(7 / 9)
    # (0.1² + 0.8² + 0.4² + 0.7² + 0.2² + 0.1²) / 6.
    assert metrics["brier"] == pytest.approx(0.225)
    assert metrics["threshold"] == 0.5
    assert (metrics["n"], metrics["positives"]) == (6, 3)
    assert set(metrics) == {*METRIC_KEYS, "n", "positives"}


def test_metrics_score_equal_to_threshold_is_positive():
    metrics = classification_metrics([1, 0], [0.5, 0.4], threshold=0.5)
    assert metrics["recall"] == 1.0
    assert metrics["precision"] == 1.0


def test_metrics_match_sklearn():
    rng = np.random.default_rng(5)
    y = (rng.random(500) < 0.25).astype(int)
    proba = np.clip(0.3 * y + rng.random(500) * 0.7, 0, 1)
    pred = proba >= 0.45

    metrics = classification_metrics(pd.Series(y), pd.Series(proba), threshold=0.45)

    assert metrics["f1"] == pytest.approx(f1_score(y, pred))
    assert metrics["precision"] == pytest.approx(precision_score(y, pred))
    assert metrics["recall"] == pytest.approx(recall_score(y, pred))
    assert metrics["pr_auc"] == pytest.approx(average_precision_score(y, proba))
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, proba))
    assert metrics["brier"] == pytest.approx(brier_score_loss(y, proba))
    assert all(type(metrics[key]) is float for key in METRIC_KEYS)


def test_metrics_no_positives_is_undefined_not_zero_and_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn's "no positive class" warnings must not leak
        metrics = classification_metrics([0, 0, 0], [0.1, 0.7, 0.2], threshold=0.5)
    assert metrics["pr_auc"] is None
    assert metrics["roc_auc"] is None
    assert (metrics["f1"], metrics["precision"], metrics["recall"]) == (0.0, 0.0, 0.0)
    assert metrics["brier"] == pytest.approx((0.01 + 0.49 + 0.04) / 3)


def test_metrics_only_positives():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = classification_metrics([1, 1], [0.3, 0.9], threshold=0.5)
    assert metrics["roc_auc"] is None
    assert metrics["pr_auc"] == 1.0
    assert metrics["recall"] == 0.5
    assert metrics["precision"] == 1.0


def test_metrics_nothing_flagged_gives_zero_not_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = classification_metrics([1, 0], [0.2, 0.1], threshold=0.9)
    assert (metrics["f1"], metrics["precision"], metrics["recall"]) == (0.0, 0.0, 0.0)


def test_metrics_margin_score_needs_explicit_proba():
    with pytest.raises(ValueError, match=r"score \(used as proba.*pass proba="):
        classification_metrics([1, 0], [2.0, -1.0], threshold=0.0)
    metrics = classification_metrics([1, 0], [2.0, -1.0], threshold=0.0, proba=[1, 0])
    assert metrics["brier"] == 0.0
    assert metrics["roc_auc"] == 1.0


def test_metrics_prediction_overrides_the_threshold_rule():
    # Scores equal to the threshold, but the rule (strict) says negative.
    metrics = classification_metrics(
        [1, 0], [0.0, 0.0], threshold=0.0, proba=[0, 0], prediction=[0, 0]
    )
    assert metrics["recall"] == 0.0
    assert metrics["brier"] == 0.5


def test_metrics_reject_non_finite_scores():
    with pytest.raises(ValueError, match=r"score has 1 missing or infinite.*position 1"):
        classification_metrics([1, 0], [0.2, np.nan], threshold=0.5)
    with pytest.raises(ValueError, match="threshold must be finite"):
        classification_metrics([1, 0], [0.2, 0.1], threshold=float("nan"))


# --------------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def hand_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "BranchID": ["B1", "B1", "B2", "B2"],
            "ItemCode": ["I1", "I2", "I1", "I2"],
            "CurrentQuantity": [5.0, 10.0, 50.0, 12.0],
            "ReservedQuantity": [0.0, 0.0, 5.0, 2.0],
            "SafetyStockLevel": [10.0, 10.0, 10.0, 0.0],
        }
    )


def test_rule_baseline_hand_rows(hand_rows):
    baseline = rule_baseline(hand_rows)

    np.testing.assert_allclose(baseline.score, [0.5, 0.0, -4.0, -12.0])
    # CurrentQuantity == SafetyStockLevel is not below it (strict <).
    np.testing.assert_array_equal(baseline.prediction, [1, 0, 0, 0])
    assert baseline.threshold == 0.0
    assert baseline.name == "rule"


def test_rule_decision_is_the_rule_baselines_decision(hand_rows):
    decision = rule_decision(hand_rows["CurrentQuantity"], hand_rows["SafetyStockLevel"])

    np.testing.assert_array_equal(decision, rule_baseline(hand_rows).prediction)
    assert decision.dtype == np.int64


def test_rule_decision_takes_plain_arrays_and_one_row():
    # What serving hands it: one request's values, not a DataFrame; a missing value is not at risk.
    assert rule_decision([5], [10]).tolist() == [1]
    assert rule_decision(np.array([10.0, np.nan]), np.array([10.0, 10.0])).tolist() == [0, 0]


def test_velocity_baseline_hand_rows(hand_rows):
    baseline = velocity_baseline(hand_rows, [0.0, 0.0, 6.0, 1.0], horizon=7)

    # Projected: 5, 10, 50 − 5 − 42 = 3, 12 − 2 − 7 = 3; SS 0 is divided by max(SS, 1) = 1.
    np.testing.assert_allclose(baseline.score, [0.5, 0.0, 0.7, -3.0])
    np.testing.assert_array_equal(baseline.prediction, [1, 0, 1, 0])
    np.testing.assert_array_equal(baseline.prediction, baseline.score > baseline.threshold)
    assert "7·velocity" in baseline.rule


def test_velocity_baseline_score_is_monotone_in_velocity(hand_rows):
    slow = velocity_baseline(hand_rows, np.full(4, 0.5), horizon=7).score
    fast = velocity_baseline(hand_rows, np.full(4, 2.0), horizon=7).score
    assert np.all(fast > slow)


def test_baseline_metrics_use_the_hard_decision_for_brier(hand_rows):
    metrics = rule_baseline(hand_rows).metrics([1, 1, 0, 0])
    # Decision [1, 0, 0, 0]: one miss out of four.
    assert metrics["brier"] == 0.25
    assert metrics["recall"] == 0.5
    assert metrics["precision"] == 1.0
    assert metrics["threshold"] == 0.0
    assert metrics["roc_auc"] == 1.0  # the margin ranks both positives first


def test_velocity_baseline_missing_velocity_counts_as_zero(hand_rows):
    with pytest.warns(EvaluationWarning, match="1 of 4 velocities are missing"):
        baseline = velocity_baseline(hand_rows, [np.nan, 0.0, 6.0, 1.0], horizon=7)
    assert baseline.score[0] == pytest.approx(0.5)


def test_baselines_reject_bad_input(hand_rows):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['SafetyStockLevel'\]"):
        rule_baseline(hand_rows.drop(columns="SafetyStockLevel"))
    with pytest.raises(ValueError, match="velocity has 2 values but X has 4 rows"):
        velocity_baseline(hand_rows, [1.0, 2.0], horizon=7)
    broken = hand_rows.astype({"CurrentQuantity": object})
    broken.loc[2, "CurrentQuantity"] = "lots"
    with pytest.raises(ValueError, match=r"'CurrentQuantity' has 1 missing.*row 2 \('lots'\)"):
        rule_baseline(broken)
    with pytest.raises(TypeError, match="X must be a pandas DataFrame"):
        rule_baseline(hand_rows.to_numpy())


# --------------------------------------------------------------------------------------------------
# evaluate_holdout and the written report
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def holdout():
    rng = np.random.default_rng(42)
    n = 240
    y = (rng.random(n) < 0.2).astype(int)
    proba = np.clip(0.45 * y + rng.normal(0.25, 0.15, n), 0, 1)
    X = pd.DataFrame(
        {
            "CurrentQuantity": rng.integers(0, 80, n).astype(float),
            "ReservedQuantity": rng.integers(0, 5, n).astype(float),
            "SafetyStockLevel": rng.integers(5, 30, n).astype(float),
        }
    )
    velocity = rng.random(n) * 3
    return y, proba, X, velocity


def _assert_plain_json(value):
    if isinstance(value, dict):
        for item in value.values():
            _assert_plain_json(item)
    else:
        assert value is None or type(value) in (int, float), (value, type(value))


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    return struct.unpack(">II", data[16:24])  # IHDR width, height


def test_evaluate_holdout_to_dict_shape_and_json_round_trip(holdout):
    y, proba, X, velocity = holdout

    report = evaluate_holdout(
        y,
        proba,
        threshold=0.5,
        X=X,
        velocity=velocity,
        horizon=7,
        rows={"train": 900, "holdout": 240},
    )
    summary = report.to_dict()

    assert set(summary) == {"model", "baselines", "rows", "positive_rate"}
    assert set(summary["model"]) == set(METRIC_KEYS)
    assert set(summary["baselines"]) == {"rule", "velocity"}
    assert all(set(block) == set(METRIC_KEYS) for block in summary["baselines"].values())
    assert summary["rows"] == {"train": 900, "holdout": 240}
    assert summary["positive_rate"] == pytest.approx(y.mean())
    assert summary["model"]["threshold"] == 0.5
    assert summary["baselines"]["rule"]["threshold"] == 0.0
    assert summary["model"]["f1"] == pytest.approx(f1_score(y, proba >= 0.5))
    _assert_plain_json(summary)
    assert json.loads(json.dumps(summary, allow_nan=False)) == summary
    assert report.paths == []


def test_evaluate_holdout_baselines_scored_on_the_same_rows(holdout):
    y, proba, X, velocity = holdout
    report = evaluate_holdout(y, proba, threshold=0.5, X=X, velocity=velocity, horizon=7)

    expected = velocity_baseline(X, velocity, horizon=7).metrics(y)
    assert report.baselines["velocity"] == expected
    assert report.baselines["rule"] == rule_baseline(X).metrics(y)
    assert report.to_dict()["rows"] == {"train": None, "holdout": len(y)}


def test_evaluate_holdout_writes_plots_and_summaries(holdout, tmp_path):
    y, proba, X, velocity = holdout
    importance = pd.Series(np.arange(30, dtype=float), index=[f"f{i}" for i in range(30)])
    out_dir = tmp_path / "nested" / "eval"

    report = evaluate_holdout(
        y,
        proba,
        threshold=0.5,
        X=X,
        velocity=velocity,
        horizon=7,
        feature_importance=importance,
        out_dir=out_dir,
        rows={"train": 900, "holdout": 240},
        threshold_source="max F1 on validation days 2024-03-01..2024-03-14",
    )

    names = [path.name for path in report.paths]
    assert names == [
        "pr_curve.png",
        "calibration.png",
        "confusion_matrix.png",
        "feature_importance.png",
        "summary.md",
        "summary.json",
    ]
    for path in report.paths:
        assert path.parent == out_dir
        assert path.is_file()
    for path in report.paths[:4]:
        width, height = _png_size(path)
        assert 300 <= width <= 3000
        assert 300 <= height <= 3000
        assert path.stat().st_size > 10_000  # a real figure, not an empty canvas

    assert json.loads((out_dir / "summary.json").read_text()) == report.to_dict()
    markdown = (out_dir / "summary.md").read_text()
    assert "| model |" in markdown
    assert "| rule baseline |" in markdown
    assert "| velocity baseline |" in markdown
    assert "validation days 2024-03-01..2024-03-14" in markdown
    assert "holdout 240" in markdown
    assert "train 900" in markdown


def test_evaluate_holdout_skips_feature_importance_with_a_note(holdout, tmp_path):
    y, proba, X, velocity = holdout

    report = evaluate_holdout(
        y, proba, threshold=0.5, X=X, velocity=velocity, horizon=7, out_dir=tmp_path
    )

    assert not (tmp_path / "feature_importance.png").exists()
    assert any("feature_importance.png not written" in note for note in report.notes)
    assert "feature_importance.png not written" in (tmp_path / "summary.md").read_text()


def test_evaluate_holdout_one_class_holdout_still_reports(holdout, tmp_path):
    _, proba, X, velocity = holdout
    y = np.zeros(len(proba), dtype=int)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = evaluate_holdout(
            y, proba, threshold=0.5, X=X, velocity=velocity, horizon=7, out_dir=tmp_path
        )

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["model"]["roc_auc"] is None
    assert summary["model"]["pr_auc"] is None
    assert summary["baselines"]["rule"]["roc_auc"] is None
    assert summary["positive_rate"] == 0.0
    assert _png_size(tmp_path / "pr_curve.png")[0] >= 300
    assert "n/a" in (tmp_path / "summary.md").read_text()
    assert any("no positive rows" in note for note in report.notes)


def test_evaluate_holdout_rejects_inconsistent_rows(holdout):
    y, proba, X, velocity = holdout
    with pytest.raises(ValueError, match=r"rows\['holdout'\]=10 but 240 rows"):
        evaluate_holdout(
            y,
            proba,
            threshold=0.5,
            X=X,
            velocity=velocity,
            horizon=7,
            rows={"train": 5, "holdout": 10},
        )
    with pytest.raises(ValueError, match="X has 239 rows but y_true has 240"):
        evaluate_holdout(y, proba, threshold=0.5, X=X.iloc[1:], velocity=velocity, horizon=7)


def test_no_pyplot_and_no_matplotlib_at_import(tmp_path):
    # In a fresh interpreter: importing the module loads no matplotlib, and writing plots never
    # touches pyplot's global state.
    code = f"""
import sys
import numpy as np, pandas as pd
import stockout_sk.evaluate as ev
assert "matplotlib" not in sys.modules, "matplotlib imported at module import"
X = pd.DataFrame({{"CurrentQuantity": [1.0, 9.0], "ReservedQuantity": [0.0, 0.0],
                  "SafetyStockLevel": [5.0, 5.0]}})
ev.evaluate_holdout([1, 0], [0.8, 0.1], threshold=0.5, X=X, velocity=[0.0, 0.0], horizon=7,
                    out_dir={str(tmp_path)!r})
assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "confusion_matrix.png").read_bytes()[:8] == PNG_SIGNATURE
