"""Unit tests for the censored-demand history features (stockout_sk.features._history_demand)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from stockout_sk.features.history import HistoryFeatures
from stockout_sk.features.names import (
    CENSORED,
    feature_label,
    history_feature_names,
    risk_directions,
)

pytestmark = pytest.mark.unit

WINDOWS = (2, 4)
CENSORED_NAMES = [
    "out_of_stock_share_2d",
    "out_of_stock_share_4d",
    "instock_velocity",
    "lost_sales_4d",
    "demand_velocity",
    "demand_projected_headroom_ratio",
]


def _flows(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "BranchID": "B1",
            "ItemCode": "I1",
            "Date": pd.to_datetime([r[0] for r in rows]),
            "inflow": [r[1] for r in rows],
            "outflow": [r[2] for r in rows],
            "sold": [r[3] for r in rows],
        }
    )


#: Stock at the end of 2024-01-02 … 05 is 4, 0, 5, 3 walked back from CurrentQuantity 3:
#: the 3rd ends out of stock (1 sold, 3 sent away), the 4th receives 6.
HAND_FLOWS = _flows(
    [
        ("2024-01-02", 0.0, 0.0, 3.0),
        ("2024-01-03", 0.0, 3.0, 1.0),
        ("2024-01-04", 6.0, 0.0, 1.0),
        ("2024-01-05", 0.0, 0.0, 2.0),
    ]
)


def _row(quantity: float, date: str = "2024-01-05", safety: float = 2.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "BranchID": ["B1"],
            "ItemCode": ["I1"],
            "Date": pd.to_datetime([date]),
            "CurrentQuantity": [quantity],
            "ReservedQuantity": [0.0],
            "SafetyStockLevel": [safety],
        }
    )


def _features(step: HistoryFeatures, X: pd.DataFrame, flows=HAND_FLOWS) -> pd.DataFrame:
    return pd.DataFrame(step.fit_transform(X, flows=flows))


def test_censored_demand_by_hand():
    step = HistoryFeatures(windows=WINDOWS, horizon=3)
    row = _features(step, _row(3.0)).iloc[0]
    # Out of stock: 2024-01-03 only, one day of the last four, none of the last two.
    assert row["out_of_stock_share_2d"] == 0.0
    assert row["out_of_stock_share_4d"] == 0.25
    # In stock: the 2nd (3 sold), 4th (1) and 5th (2): 2 a day; the sold-out day sold 1.
    assert row["instock_velocity"] == 2.0
    assert row["lost_sales_4d"] == 1.0
    assert row["demand_velocity"] == (3 + 1 + 1 + 2 + 1) / 4
    # (3 − 0 − 3 · max(2.0, velocity_short 1.5) − 2) / 2
    assert row["demand_projected_headroom_ratio"] == -2.5
    # The carried history answers a request the same way.
    served = pd.DataFrame(step.transform(_row(3.0))).iloc[0]
    pd.testing.assert_series_equal(served[CENSORED_NAMES], row[CENSORED_NAMES])


def test_a_sold_out_day_with_high_sales_raises_the_in_stock_rate():
    # 2024-01-03 sold 5 and ended at 0: with more stock it would have counted, and raised the
    # rate; the rate used is the highest at this or any larger quantity.
    flows = _flows(
        [
            ("2024-01-02", 0.0, 0.0, 3.0),
            ("2024-01-03", 0.0, 0.0, 5.0),
            ("2024-01-04", 6.0, 0.0, 1.0),
            ("2024-01-05", 0.0, 0.0, 2.0),
        ]
    )
    row = _features(HistoryFeatures(windows=WINDOWS), _row(3.0), flows).iloc[0]
    assert row["out_of_stock_share_4d"] == 0.25
    assert row["instock_velocity"] == (3 + 5 + 1 + 2) / 4
    assert row["lost_sales_4d"] == 0.0


def _random_flows(seed: int, days: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    inflow = np.where(rng.random(days) < 0.25, rng.integers(5, 30, days), 0).astype(float)
    return pd.DataFrame(
        {
            "BranchID": "B1",
            "ItemCode": "I1",
            "Date": dates,
            "inflow": inflow,
            "outflow": np.where(rng.random(days) < 0.1, 2.0, 0.0),
            "sold": rng.poisson(4, days).astype(float),
        }
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_censored_feature_is_monotone_in_the_stock_on_hand(seed):
    """More stock on hand: never more days out of stock, never a higher demand, never less
    projected headroom (the model's monotone constraints rely on it)."""
    flows = _random_flows(seed)
    grid = np.arange(0.0, 60.0, 0.5)
    X = pd.concat([_row(q, "2024-02-05") for q in grid], ignore_index=True)
    step = HistoryFeatures(windows=(7, 28), horizon=7)
    features = _features(step, X, flows)
    rising = {"demand_projected_headroom_ratio"}
    names = history_feature_names((7, 28), censored_demand=True)[-len(CENSORED) :]
    for name in names:
        values = features[name].to_numpy()
        assert np.isfinite(values).all(), name
        steps = np.diff(values)
        if name in rising:
            assert steps.min() >= -1e-12, name
        else:
            assert steps.max() <= 1e-12, name
    # The quantity sweep does move them: the test could fail.
    assert features["out_of_stock_share_28d"].iloc[0] > features["out_of_stock_share_28d"].iloc[-1]
    directions = risk_directions((7, 28), censored_demand=True)
    assert [directions[name] for name in names] == [1, 1, 1, 1, 1, -1]


def test_names_labels_and_directions_come_from_names_py():
    names = history_feature_names(WINDOWS, censored_demand=True)
    assert names[-len(CENSORED) :] == CENSORED_NAMES
    assert history_feature_names(WINDOWS) == names[: -len(CENSORED)]
    assert "instock_velocity" not in risk_directions(WINDOWS)
    assert feature_label("lost_sales_28d") == "sales lost to stock-outs, last 28 days (estimate)"
    assert feature_label("out_of_stock_share_7d") == "share of the last 7 days out of stock"


def test_switched_off_the_step_computes_exactly_the_features_it_did_before():
    X = _row(3.0)
    on = _features(HistoryFeatures(windows=WINDOWS), X)
    off_step = HistoryFeatures(windows=WINDOWS, censored_demand=False)
    off = _features(off_step, X)
    assert list(off.columns) == [c for c in on.columns if c not in CENSORED_NAMES]
    pd.testing.assert_frame_equal(off, on[off.columns])
    assert list(off_step.get_feature_names_out()) == list(off.columns)


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_a_step_saved_before_the_parameter_existed_loads_without_it(how):
    step = HistoryFeatures(windows=WINDOWS, censored_demand=False)
    expected = _features(step, _row(3.0))
    del step.__dict__["censored_demand"]  # what a model saved before this parameter holds
    if how == "pickle":
        loaded = pickle.loads(pickle.dumps(step))
    else:
        loaded = sio.loads(sio.dumps(step), trusted=[HistoryFeatures])
    assert loaded.censored_demand is False
    assert loaded.get_params()["censored_demand"] is False
    served = pd.DataFrame(loaded.transform(_row(3.0)))
    assert list(served.columns) == list(expected.columns)
    features = list(loaded.get_feature_names_out())[6:]
    pd.testing.assert_frame_equal(served[features], expected[features], check_dtype=False)


def test_unknown_history_and_missing_quantities_give_nan():
    step = HistoryFeatures(windows=WINDOWS, history_days=2)
    step.fit(_row(3.0), flows=HAND_FLOWS)
    # A request before the carried tail has no full window of known history.
    early = pd.DataFrame(step.transform(_row(3.0, "2024-01-03"))).iloc[0]
    assert early[CENSORED_NAMES].isna().all()
    with pytest.warns(UserWarning, match="missing 'CurrentQuantity'"):
        missing = pd.DataFrame(step.transform(_row(np.nan))).iloc[0]
    assert missing[CENSORED_NAMES].isna().all()
    # An unseen branch×item has no recorded flow: never out of stock while it holds stock.
    unseen = _row(3.0).assign(ItemCode="NEW")
    row = pd.DataFrame(step.transform(unseen)).iloc[0]
    assert row["out_of_stock_share_4d"] == 0.0
    assert row["lost_sales_4d"] == 0.0


def test_censored_demand_must_be_a_bool():
    with pytest.raises(ValueError, match="censored_demand must be True or False"):
        HistoryFeatures(censored_demand="yes").fit(_row(3.0), flows=HAND_FLOWS)
