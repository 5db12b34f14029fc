"""Unit tests for stockout_sk.training: train and evaluate on a small simulated chain."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import (
    METRIC_KEYS,
    InactiveWindowError,
    NotEnoughHistoryError,
    plan_windows,
)
from stockout_sk.ingest import load_chain
from stockout_sk.synth import generate_chain
from stockout_sk.training import TrainingResult, fit_model, prepare, train_and_evaluate

pytestmark = pytest.mark.unit

CONFIG = ModelConfig(
    horizon=3,
    windows=(3, 7),
    history_days=21,
    hash_features=8,
    holdout_days=10,
    validation_days=7,
    n_estimators=30,
    num_leaves=7,
    min_child_samples=5,
)


def simulate_chain(seed: int = 3, n_days: int = 90):
    """A small chain shaped like ``ChainData``, simulated day by day (independent of ingest).

    Every branch×item sells a Poisson amount a day (never more than it holds), reorders from the
    external warehouse WH01 when it falls under its reorder point (delivered two days later), and
    B1 sends B2 a few units now and then. ``stock_current`` is the stock at the end of the last day.
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", periods=n_days, freq="D", unit="ns")
    branches, items = ("B1", "B2"), ("I1", "I2", "I3", "I4")
    stock = {(b, i): float(rng.integers(30, 60)) for b in branches for i in items}
    rate = {key: float(rng.uniform(2, 6)) for key in stock}
    safety = {key: float(rng.integers(6, 12)) for key in stock}
    reserved = {key: float(rng.integers(0, 3)) for key in stock}
    due: dict[tuple[int, str, str], float] = {}
    moves, sales = [], []
    for d, day in enumerate(days):
        for key in [k for k in due if k[0] == d]:  # deliveries arriving today
            _, b, i = key
            qty = due.pop(key)
            stock[(b, i)] += qty
            moves.append((day, "WH01", b, i, qty))
        if rng.random() < 0.2:  # an inter-branch transfer
            i = str(rng.choice(items))
            qty = min(stock[("B1", i)], float(rng.integers(1, 6)))
            if qty > 0:
                stock[("B1", i)] -= qty
                stock[("B2", i)] += qty
                moves.append((day, "B1", "B2", i, qty))
        for (b, i), level in stock.items():
            sold = min(level, float(rng.poisson(rate[(b, i)])))
            stock[(b, i)] = level - sold
            if sold:
                sales.append((b, i, day, sold))
            pending = any(k[1:] == (b, i) for k in due)
            if stock[(b, i)] < safety[(b, i)] + rate[(b, i)] and not pending:
                due[(d + 2, b, i)] = float(rng.integers(25, 50))
    transfers = pd.DataFrame(
        moves, columns=["Date", "FromBranchID", "ToBranchID", "ItemCode", "QuantityMoved"]
    )
    transfers = transfers.groupby(
        ["Date", "FromBranchID", "ToBranchID", "ItemCode"], as_index=False
    )["QuantityMoved"].sum()
    index = ["BranchID", "ItemCode", "Date"]
    inflow = transfers.groupby(["ToBranchID", "ItemCode", "Date"])["QuantityMoved"].sum()
    outflow = transfers.groupby(["FromBranchID", "ItemCode", "Date"])["QuantityMoved"].sum()
    sold = pd.DataFrame(sales, columns=[*index, "sold"]).set_index(index)["sold"]
    inflow.index.names = outflow.index.names = index
    flows = pd.concat({"inflow": inflow, "outflow": outflow, "sold": sold}, axis=1).fillna(0.0)
    flows = flows.reset_index().sort_values(index, ignore_index=True)
    keys = list(stock)
    stock_current = pd.DataFrame(
        {
            "BranchID": [b for b, _ in keys],
            "BranchName": [f"Branch {b}" for b, _ in keys],
            "ItemCode": [i for _, i in keys],
            "ItemName": [f"Item {i}" for _, i in keys],
            "CurrentQuantity": [stock[k] for k in keys],
            "ReservedQuantity": [reserved[k] for k in keys],
            "SafetyStockLevel": [safety[k] for k in keys],
            "LastUpdatedAt": days[-1] + pd.Timedelta(hours=21),
        }
    )
    branch_table = pd.DataFrame(
        {
            "BranchID": list(branches),
            "BranchName": [f"Branch {b}" for b in branches],
            "OpeningDate": pd.to_datetime(["2019-01-01", "2021-06-01"]),
        }
    )
    return SimpleNamespace(
        stock_current=stock_current,
        flows=flows[[*index, "inflow", "outflow", "sold"]],
        transfers=transfers,
        branches=branch_table,
        items=pd.DataFrame(columns=["ItemCode", "ArabicName", "EnglishName", "BrandOnBox"]),
        employees=pd.DataFrame(columns=["EmployeeID", "FullName", "Department", "BranchID"]),
        report=None,
        history_start=days[0],
        history_end=days[-1],
    )


@pytest.fixture(scope="module")
def chain():
    return simulate_chain()


@pytest.fixture(scope="module")
def result(chain, tmp_path_factory) -> TrainingResult:
    out = tmp_path_factory.mktemp("report")
    return train_and_evaluate(chain, CONFIG, out_dir=None, checkpoint_dir=str(out / "ckpt"))


def test_report_has_the_evaluate_json_shape(result):
    payload = result.to_dict()
    assert set(payload) == {
        "model",
        "baselines",
        "rows",
        "positive_rate",
        "windows",
        "threshold_folds",
    }
    assert set(payload["baselines"]) == {"rule", "velocity"}
    for block in (payload["model"], *payload["baselines"].values()):
        assert list(block) == list(METRIC_KEYS)
        for key in ("f1", "precision", "recall", "brier"):
            assert 0.0 <= block[key] <= 1.0, key
    assert payload["model"]["threshold"] == result.fitted.threshold
    assert set(payload["rows"]) == {"train", "holdout"}
    assert payload["rows"]["train"] == len(result.prepared.train) > 0
    assert payload["rows"]["holdout"] == len(result.prepared.holdout) > 0
    assert 0.0 < payload["positive_rate"] < 1.0
    # What the CLI prints with --json: strict JSON, no NaN.
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload


def test_holdout_is_after_training_plus_the_purge_gap(result, chain):
    train, holdout = result.prepared.train, result.prepared.holdout
    horizon = CONFIG.horizon
    assert holdout["Date"].min() > train["Date"].max() + pd.Timedelta(days=horizon)
    assert holdout["Date"].nunique() == CONFIG.holdout_days
    # Every training label window [t+1, t+N] ends before the first holdout as-of day.
    assert train["Date"].max() + pd.Timedelta(days=horizon) < holdout["Date"].min()
    # The holdout is the latest matured as-of days.
    assert holdout["Date"].max() == chain.history_end - pd.Timedelta(days=horizon)
    split = result.prepared.split
    assert split.gap_days >= horizon
    # The threshold was chosen on the training side.
    assert pd.Timestamp(result.fitted.validation["end"]) <= train["Date"].max()


def test_prepare_splits_by_time_never_randomly(chain):
    prepared = prepare(chain, CONFIG)
    frame = prepared.dataset.frame
    train_mask = np.asarray(prepared.split.train)
    holdout_mask = np.asarray(prepared.split.holdout)
    assert not (train_mask & holdout_mask).any()
    cutoff = frame.loc[train_mask, "Date"].max()
    assert (frame.loc[holdout_mask, "Date"] > cutoff).all()
    # Rows in the purge gap are in neither part.
    gap = ~(train_mask | holdout_mask)
    assert (frame.loc[gap, "Date"] > cutoff).all()
    assert (frame.loc[gap, "Date"] < frame.loc[holdout_mask, "Date"].min()).all()


def test_the_fitted_pipeline_answers_raw_rows(result):
    holdout = result.prepared.holdout
    request = holdout.iloc[[0]].drop(columns="label").astype({"Date": str})
    proba = result.fitted.pipeline.predict_proba(request)
    assert proba.shape == (1, 2)
    assert 0.0 <= proba[0, 1] <= 1.0
    assert set(result.timings) == {"prepare", "fit", "evaluate"}


# --------------------------------------------------------------------------------------------------
# Real exports: windows sized from the history, the refit (issue #13)
# --------------------------------------------------------------------------------------------------

#: Few small trees: these tests check the windows and the rows, not the model's quality.
SMALL = ModelConfig(n_estimators=12, num_leaves=7, min_child_samples=5)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Simulated chains of 2 branches × 8 items, keyed by their length in days."""
    root = tmp_path_factory.mktemp("exports")

    def make(days: int):
        folder = root / f"chain-{days}"
        if not folder.exists():
            generate_chain(folder, branches=2, items=8, days=days, seed=3)
        return load_chain(folder)

    return make


@pytest.mark.parametrize("days", [56, 60, 75, 90, 365])
def test_any_export_of_eight_weeks_or_more_trains_with_the_defaults(exports, days):
    chain = exports(days)
    result = train_and_evaluate(chain, SMALL, checkpoint_dir=None, deploy=True)
    windows = result.prepared.windows
    assert windows == plan_windows(days - SMALL.horizon, horizon=SMALL.horizon)
    split = result.prepared.split
    holdout, train = result.prepared.holdout, result.prepared.train
    assert holdout["Date"].nunique() == windows.holdout_days
    assert split.gap_days >= SMALL.horizon
    assert holdout["Date"].max() == chain.history_end - pd.Timedelta(days=SMALL.horizon)
    # The threshold's folds lie on the training side, each purged from its own fit.
    folds = result.fitted.validation["folds"]
    assert len(folds) == windows.folds
    assert pd.Timestamp(folds[-1]["end"]) == train["Date"].max()
    # What the run says about the windows, in evaluate --json.
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["windows"]["holdout_days"] == windows.holdout_days
    assert payload["windows"]["reason"] == windows.reason
    assert len(payload["threshold_folds"]["folds"]) == windows.folds
    # The deployed model is the refit on every matured row; each model's cut is chosen on the
    # morning list it scores first (the default "expected"), the folds' pooled cut kept beside.
    deployed = result.deployed
    frame = result.prepared.dataset.frame
    assert deployed.fit_rows == {
        "rows": len(frame),
        "start": str(frame["Date"].min().date()),
        "end": str(frame["Date"].max().date()),
        "refit": True,
    }
    assert deployed.threshold == deployed.pipeline[-1].threshold
    assert result.fitted.threshold == result.fitted.pipeline[-1].threshold
    gated_morning = result.fitted.validation["morning"]
    assert gated_morning["as_of"] == str(holdout["Date"].min().date())
    assert deployed.validation["morning"]["as_of"] == str(chain.history_end.date())
    assert deployed.validation["morning"]["rows"] == len(chain.stock_current)
    assert (
        deployed.validation["candidates"]["pooled"]
        == result.fitted.validation["candidates"]["pooled"]
    )
    assert result.fitted.fit_rows["end"] == str(train["Date"].max().date())
    if days == 365:
        assert windows.scale == 1.0
        assert windows.holdout_days == 21
    else:
        assert windows.scale < 1.0


def test_an_export_below_the_floor_says_what_it_needs(exports):
    chain = exports(48)
    with pytest.raises(NotEnoughHistoryError, match=r"41 as-of day.*at least 49 days"):
        prepare(chain, SMALL)


def test_the_windows_the_user_sets_are_used(exports):
    chain = exports(60)
    config = SMALL.with_overrides(holdout_days=5, validation_days=5)
    prepared = prepare(chain, config)
    assert prepared.windows.holdout_days == 5
    assert prepared.holdout["Date"].nunique() == 5
    assert prepared.windows.validation_days == 5


def test_a_holdout_in_a_stretch_without_flows_is_refused(chain):
    """A mistyped year stretches the history over empty days: the holdout would score nothing."""
    later = pd.Timedelta(days=200)
    stretched = SimpleNamespace(
        **{
            **vars(chain),
            "history_end": chain.history_end + later,
            "stock_current": chain.stock_current.assign(
                LastUpdatedAt=chain.stock_current["LastUpdatedAt"] + later
            ),
        }
    )
    with pytest.raises(InactiveWindowError, match=r"holdout .* has no flow at all"):
        prepare(stretched, CONFIG)


def test_without_refit_the_deployed_model_is_the_evaluated_one(chain):
    config = CONFIG.with_overrides(refit=False)
    result = train_and_evaluate(chain, config, checkpoint_dir=None, deploy=True)
    assert result.deployed is result.fitted
    assert result.fitted.fit_rows["refit"] is False


def test_an_unknown_threshold_method_fails_before_any_fit(chain):
    train = prepare(chain, CONFIG).train
    with pytest.raises(ValueError, match="threshold_method must be one of"):
        fit_model(train, chain, CONFIG.with_overrides(threshold_method="mean"))


def test_asof_stride_keeps_every_kth_day_per_key_spread_over_weekdays() -> None:
    from stockout_sk.training import thin_asof_days

    days = pd.date_range("2024-01-01", periods=28, freq="D")
    keys = [(f"B{b}", f"I{i}") for b in range(5) for i in range(8)]
    frame = pd.DataFrame(
        [(b, i, d) for b, i in keys for d in days], columns=["BranchID", "ItemCode", "Date"]
    )
    kept = frame[thin_asof_days(frame, 4)]
    per_key = kept.groupby(["BranchID", "ItemCode"])["Date"]
    assert (per_key.size() == 7).all()  # every 4th of 28 days
    assert (per_key.apply(lambda d: d.diff().dropna().dt.days.eq(4).all())).all()
    assert kept["Date"].dt.day_of_week.nunique() == 7  # offsets differ between keys
    assert np.array_equal(thin_asof_days(frame, 4), thin_asof_days(frame.copy(), 4))
    assert thin_asof_days(frame, 1).all()


def _fits_of_one_training(chain, config, monkeypatch) -> list:
    """Every pipeline one ``train_and_evaluate(deploy=True)`` fits, in order: the threshold
    folds, the final fit, the refit (real pipelines, only recorded)."""
    import stockout_sk.training.fit as fit_module

    built = []

    def recording(*args, **kwargs):
        built.append(fit_module.build_pipeline.__wrapped__(*args, **kwargs))
        return built[-1]

    recording.__wrapped__ = fit_module.build_pipeline
    monkeypatch.setattr(fit_module, "build_pipeline", recording)
    result = train_and_evaluate(chain, config, checkpoint_dir=None, deploy=True)
    monkeypatch.setattr(fit_module, "build_pipeline", recording.__wrapped__)
    assert result.deployed is not result.fitted  # folds, final fit, refit
    assert len(built) >= 3
    return [p.named_steps["sampler"] for p in built]


def test_every_fit_of_one_training_resamples_as_the_model_that_carries_the_threshold(
    chain, monkeypatch
):
    # Resampling moves the probability scale; a threshold chosen on folds that were not
    # resampled, carried by a final model that was (or the other way round), flags a very
    # different share of rows. Put the minority threshold between the final fit's positive
    # share and another fit's, so that left alone their decisions would differ.
    config = CONFIG.with_overrides(sampling_ratio=1.0)
    shares = [s.minority_share_ for s in _fits_of_one_training(chain, config, monkeypatch)]
    final = shares[-2]
    other = min((s for s in shares if s != final), key=lambda s: abs(s - final))
    cut = (final + other) / 2
    samplers = _fits_of_one_training(
        chain, config.with_overrides(minority_threshold=cut), monkeypatch
    )
    own = [s.minority_share_ < cut for s in (*samplers[:-2], samplers[-1])]
    assert samplers[-2].applied_ == (final < cut)  # the final fit decides on its own rows
    assert any(decision != samplers[-2].applied_ for decision in own)  # others would not
    assert [s.applied_ for s in samplers] == [samplers[-2].applied_] * len(samplers)
