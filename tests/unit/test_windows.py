"""Unit tests for stockout_sk.evaluate.windows, rolling_folds and the fold threshold."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from stockout_sk.evaluate import (
    FLOOR,
    FULL_SIZE,
    EvaluationWarning,
    InactiveWindowError,
    NotEnoughHistoryError,
    check_activity,
    choose_threshold,
    fold_threshold,
    plan_windows,
    rolling_folds,
)

pytestmark = pytest.mark.unit

HORIZON = 7


def _fits(plan) -> bool:
    return plan.needed_days <= plan.asof_days


# --------------------------------------------------------------------------------------------------
# plan_windows
# --------------------------------------------------------------------------------------------------


def test_a_long_history_gets_every_window_at_full_size():
    plan = plan_windows(365 - HORIZON, horizon=HORIZON)
    assert (plan.holdout_days, plan.validation_days, plan.folds, plan.min_train_days) == (
        FULL_SIZE["holdout_days"],
        FULL_SIZE["validation_days"],
        FULL_SIZE["folds"],
        FULL_SIZE["min_train_days"],
    )
    assert plan.purge_days == HORIZON
    assert plan.scale == 1.0
    assert set(plan.chosen.values()) == {"full size"}
    assert "full size" in plan.reason
    assert "358 as-of days" in plan.reason


@pytest.mark.parametrize("export_days", [56, 60, 75, 80, 90, 365])
def test_any_export_of_eight_weeks_or_more_fits_with_the_defaults(export_days):
    plan = plan_windows(export_days - HORIZON, horizon=HORIZON)
    assert _fits(plan)
    assert plan.purge_days >= HORIZON
    assert plan.holdout_days >= FLOOR["holdout_days"]
    assert plan.validation_days >= FLOOR["validation_days"]
    assert plan.min_train_days >= FLOOR["min_train_days"]
    assert plan.folds >= 1


def test_windows_grow_with_the_history_and_never_exceed_full_size():
    plans = [plan_windows(n, horizon=HORIZON) for n in range(42, 140)]
    for name in ("holdout_days", "validation_days", "min_train_days"):
        sizes = [getattr(p, name) for p in plans]
        assert sizes == sorted(sizes), name
        assert max(sizes) == FULL_SIZE[name]
    assert all(_fits(p) for p in plans)
    # Shrunk in proportion: at about half the full budget, about half the full holdout.
    half = plan_windows(2 * HORIZON + 45, horizon=HORIZON)
    assert 0.4 < half.scale < 0.6
    assert half.chosen["holdout_days"] == "scaled"
    assert half.holdout_days == int(FULL_SIZE["holdout_days"] * half.scale)


def test_the_number_of_folds_never_drops_as_the_history_grows():
    folds = [plan_windows(n, horizon=HORIZON).folds for n in range(42, 200)]
    assert folds == sorted(folds)
    assert folds[0] == 1
    assert folds[-1] == FULL_SIZE["folds"]


def test_below_the_floor_the_error_says_what_is_there_needed_and_how_to_change_it():
    with pytest.raises(NotEnoughHistoryError) as caught:
        plan_windows(41, horizon=HORIZON)  # an export of 48 days
    message = str(caught.value)
    assert "41 as-of day(s)" in message
    assert "an export of 48 days" in message
    assert "at least 42" in message
    assert "at least 49 days" in message
    assert "--holdout-days" in message
    assert "--validation-days" in message
    assert "--horizon (7)" in message
    assert isinstance(caught.value, ValueError)


def test_the_floor_is_exactly_enough():
    floor = FLOOR["holdout_days"] + FLOOR["validation_days"] + FLOOR["min_train_days"]
    plan = plan_windows(floor + 2 * HORIZON, horizon=HORIZON)
    assert _fits(plan)
    assert (plan.holdout_days, plan.validation_days, plan.folds) == (7, 7, 1)


def test_sizes_the_user_sets_are_kept_even_below_the_floor():
    long = plan_windows(300, horizon=HORIZON, holdout_days=10, validation_days=5)
    assert (long.holdout_days, long.validation_days) == (10, 5)
    assert long.chosen["holdout_days"] == long.chosen["validation_days"] == "set"
    assert long.min_train_days == FULL_SIZE["min_train_days"]
    short = plan_windows(41, horizon=HORIZON, holdout_days=5, validation_days=5)
    assert _fits(short)
    assert (short.holdout_days, short.validation_days) == (5, 5)


def test_a_size_set_too_large_is_named_in_the_error():
    with pytest.raises(NotEnoughHistoryError, match="STOCKOUT_HOLDOUT_DAYS"):
        plan_windows(53, horizon=HORIZON, holdout_days=30)


def test_the_purge_follows_the_horizon():
    plan = plan_windows(120, horizon=14)
    assert plan.purge_days == 14
    assert _fits(plan)
    with pytest.raises(NotEnoughHistoryError, match="horizon of 14"):
        plan_windows(55, horizon=14)


def test_a_plan_without_holdout_is_the_training_side_only():
    plan = plan_windows(60, horizon=HORIZON, with_holdout=False)
    assert plan.holdout_days == 0
    assert plan.needed_days == plan.training_side_days <= 60
    assert "holdout" not in plan.reason.split(";")[0]


def test_plan_records_itself_for_the_run():
    plan = plan_windows(73, horizon=HORIZON)
    params = plan.params()
    assert params["window_holdout_days"] == str(plan.holdout_days)
    assert params["window_purge_days"] == "7"
    as_dict = plan.to_dict()
    assert as_dict["needed_days"] == plan.needed_days
    assert as_dict["reason"] == plan.reason


def test_plan_rejects_bad_arguments():
    with pytest.raises(TypeError, match="horizon must be an int"):
        plan_windows(100, horizon=7.0)
    with pytest.raises(ValueError, match="holdout_days must be >= 1"):
        plan_windows(100, horizon=7, holdout_days=0)


# --------------------------------------------------------------------------------------------------
# check_activity
# --------------------------------------------------------------------------------------------------


def test_a_window_without_any_flow_is_refused_with_its_dates():
    active = pd.to_datetime(["2024-01-01", "2024-01-02", "2031-01-01"])
    with pytest.raises(InactiveWindowError) as caught:
        check_activity(
            "holdout",
            pd.Timestamp("2030-12-04"),
            pd.Timestamp("2030-12-24"),
            active,
            history=(pd.Timestamp("2024-01-01"), pd.Timestamp("2031-01-01")),
        )
    message = str(caught.value)
    assert "holdout 2030-12-04..2030-12-24 has no flow at all" in message
    assert "last flow before it is on 2024-01-02" in message
    assert "next on 2031-01-01" in message
    assert "mistyped year" in message


def test_a_window_with_flows_passes_and_counts_its_active_days():
    active = pd.Series(
        pd.to_datetime(["2024-01-03", "2024-01-03", "2024-01-05 10:30"], format="ISO8601")
    )
    assert (
        check_activity("fold", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-07"), active) == 2
    )


# --------------------------------------------------------------------------------------------------
# rolling_folds
# --------------------------------------------------------------------------------------------------


def _dates(days: int, repeat: int = 3) -> pd.Series:
    return pd.Series(np.repeat(pd.date_range("2024-01-01", periods=days, freq="D"), repeat))


def test_folds_tile_the_latest_training_days_each_purged():
    dates = _dates(60)
    folds = rolling_folds(dates, horizon=5, validation_days=6, folds=3, min_train_days=10)
    assert len(folds) == 3
    assert folds[-1].holdout_end == dates.max()
    for earlier, later in itertools.pairwise(folds):
        assert later.holdout_start == earlier.holdout_end + pd.Timedelta(days=1)
    for fold in folds:
        window = dates[fold.holdout]
        fit = dates[fold.train]
        assert window.nunique() == 6
        # No label window [t+1, t+5] of a fitted row reaches the fold's first day.
        assert fit.max() + pd.Timedelta(days=5) < window.min()
        assert not (fold.train & fold.holdout).any()
    # A later fold fits on the earlier folds' windows.
    assert dates[folds[-1].train].max() > folds[0].holdout_start


def test_one_fold_is_the_single_validation_window():
    from stockout_sk.evaluate import validation_split

    dates = _dates(40)
    (fold,) = rolling_folds(dates, horizon=3, validation_days=7, folds=1, min_train_days=5)
    single = validation_split(dates, horizon=3, validation_days=7, min_train_days=5)
    assert (fold.train == single.train).all()
    assert (fold.holdout == single.holdout).all()


def test_too_many_folds_name_the_fold_that_does_not_fit():
    with pytest.raises(ValueError, match="validation fold 1 of 4"):
        rolling_folds(_dates(40), horizon=5, validation_days=7, folds=4, min_train_days=10)


# --------------------------------------------------------------------------------------------------
# fold_threshold
# --------------------------------------------------------------------------------------------------


def test_fold_threshold_methods_on_a_hand_case():
    labels = [[0, 1, 1, 0], [0, 0, 1, 1], [0, 1, 0, 1]]
    scores = [[0.1, 0.8, 0.9, 0.3], [0.2, 0.5, 0.6, 0.7], [0.1, 0.4, 0.2, 0.9]]
    pooled = fold_threshold(labels, scores, method="pooled")
    own = [choose_threshold(y, p) for y, p in zip(labels, scores, strict=True)]
    assert [f["threshold"] for f in pooled.folds] == own  # 0.55, 0.55, 0.3
    pooled_rows = list(itertools.chain.from_iterable(labels))
    pooled_scores = list(itertools.chain.from_iterable(scores))
    assert pooled.threshold == choose_threshold(pooled_rows, pooled_scores)
    assert fold_threshold(labels, scores, method="median").threshold == float(np.median(own))
    assert fold_threshold(labels, scores, method="last").threshold == own[-1]
    assert pooled.candidates == {
        "pooled": pooled.threshold,
        "median": float(np.median(own)),
        "last": own[-1],
    }
    assert pooled.spread["range"] == pytest.approx(max(own) - min(own))
    assert [f["f1_own"] for f in pooled.folds] == [1.0, 1.0, 1.0]
    assert "3 purged rolling-origin fold(s)" in pooled.describe()


def test_one_class_folds_are_left_out_of_the_median_and_the_spread():
    labels = [[0, 0, 0], [0, 1, 1]]
    scores = [[0.9, 0.1, 0.2], [0.1, 0.6, 0.8]]
    choice = fold_threshold(labels, scores, method="median", windows=[("a", "b"), ("c", "d")])
    assert choice.folds[0]["threshold"] is None
    assert choice.threshold == choose_threshold([0, 1, 1], [0.1, 0.6, 0.8])
    assert choice.spread["range"] == 0.0
    assert choice.folds[1]["start"] == "c"
    assert "cuts n/a (one class), 0.350" in choice.describe()


def test_all_one_class_folds_warn():
    with pytest.warns(EvaluationWarning, match="every validation fold holds one class"):
        fold_threshold([[0, 0], [0]], [[0.3, 0.2], [0.1]])


def test_fold_threshold_rejects_bad_input():
    with pytest.raises(ValueError, match="method must be one of"):
        fold_threshold([[0, 1]], [[0.1, 0.9]], method="mean")
    with pytest.raises(ValueError, match="one array of labels and one of scores"):
        fold_threshold([[0, 1]], [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fold_threshold([[0, 1]], [[0.1, 0.9]])  # a clean two-class fold warns about nothing
