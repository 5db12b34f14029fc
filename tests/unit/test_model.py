"""Unit tests for stockout_sk.model: the pipeline, the threshold, checkpoints and fit_model."""

from __future__ import annotations

import dataclasses
import itertools
import os
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import Pipeline
from lightgbm import LGBMClassifier
from sklearn.base import clone

from stockout_sk.config import ModelConfig
from stockout_sk.features.calendar import CalendarFeatures
from stockout_sk.features.hashing import HashedIDs
from stockout_sk.features.history import HistoryFeatures
from stockout_sk.model import StockoutClassifier, latest_checkpoint
from stockout_sk.pipeline import build_pipeline, features_of, matrix_feature_names
from stockout_sk.registry import untrusted_types
from stockout_sk.sampling import ConditionalSampler
from stockout_sk.training import fit_model, split_xy

pytestmark = pytest.mark.unit

START = pd.Timestamp("2024-01-01")
N_DAYS = 70
BRANCHES = ("B1", "B2")
ITEMS = ("I1", "I2", "I3")
CONFIG = ModelConfig(
    horizon=3,
    windows=(3, 7),
    history_days=14,
    hash_features=8,
    validation_days=7,
    n_estimators=30,
    num_leaves=7,
    min_child_samples=5,
)


def make_chain(seed: int = 0, n_days: int = N_DAYS):
    """Flows, transfers and labelled raw rows of a tiny chain (labels follow the stock signal)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, periods=n_days, freq="D", unit="ns")
    grid = pd.MultiIndex.from_product(
        [BRANCHES, ITEMS, days], names=["BranchID", "ItemCode", "Date"]
    )
    n = len(grid)
    sold = rng.poisson(3, n).astype(float)
    inflow = np.where(rng.random(n) < 0.2, rng.integers(10, 40, n), 0).astype(float)
    flows = pd.DataFrame({"inflow": inflow, "outflow": 0.0, "sold": sold}, index=grid).reset_index()
    transfers = flows.loc[flows["inflow"] > 0, ["Date", "BranchID", "ItemCode", "inflow"]]
    transfers = transfers.rename(columns={"BranchID": "ToBranchID", "inflow": "QuantityMoved"})
    transfers.insert(1, "FromBranchID", "WH01")
    quantity = rng.integers(0, 60, n).astype(float)
    table = pd.DataFrame(
        {
            "BranchID": flows["BranchID"],
            "ItemCode": flows["ItemCode"],
            "Date": flows["Date"],
            "CurrentQuantity": quantity,
            "ReservedQuantity": rng.integers(0, 4, n).astype(float),
            "SafetyStockLevel": rng.integers(5, 15, n).astype(float),
        }
    )
    headroom = table["CurrentQuantity"] - table["ReservedQuantity"] - table["SafetyStockLevel"]
    table["label"] = (headroom + rng.normal(0, 4, n) < 12).astype(np.int64)
    table = table.sort_values(["Date", "BranchID", "ItemCode"], ignore_index=True)
    return SimpleNamespace(flows=flows, transfers=transfers), table


@pytest.fixture(scope="module")
def chain_and_table():
    return make_chain()


def _fit(table, chain, config=CONFIG, *, checkpoint_dir=None, threshold=0.5, **fit_params):
    X, y = split_xy(table)
    pipeline = build_pipeline(config, threshold=threshold, checkpoint_dir=checkpoint_dir)
    return pipeline.fit(
        X, y, history__flows=chain.flows, history__transfers=chain.transfers, **fit_params
    )


def test_build_pipeline_is_one_imblearn_pipeline_ending_in_lightgbm():
    pipeline = build_pipeline(CONFIG, checkpoint_dir=None)
    assert isinstance(pipeline, Pipeline)
    assert list(pipeline.named_steps) == ["sampler", "calendar", "history", "hashing", "classifier"]
    kinds = [ConditionalSampler, CalendarFeatures, HistoryFeatures, HashedIDs, StockoutClassifier]
    for (_, step), kind in zip(pipeline.steps, kinds, strict=True):
        assert isinstance(step, kind)
    assert isinstance(pipeline[-1], LGBMClassifier)
    history = pipeline.named_steps["history"]
    assert history.windows == CONFIG.windows
    assert history.history_days == CONFIG.history_days
    assert history.horizon == CONFIG.horizon
    classifier = pipeline[-1]
    assert classifier.n_estimators == CONFIG.n_estimators
    assert classifier.checkpoint_dir is None
    assert build_pipeline(CONFIG)[-1].checkpoint_dir == CONFIG.checkpoint_dir
    assert build_pipeline(CONFIG, checkpoint_dir="elsewhere")[-1].checkpoint_dir == "elsewhere"


def test_predict_uses_the_classifier_threshold(chain_and_table):
    chain, table = chain_and_table
    pipeline = _fit(table, chain, checkpoint_dir=None)
    X, _ = split_xy(table)
    proba = pipeline.predict_proba(X)[:, 1]
    threshold = float(np.quantile(proba, 0.7))
    pipeline.set_params(classifier__threshold=threshold)
    predicted = pipeline.predict(X)
    np.testing.assert_array_equal(predicted, (proba >= threshold).astype(int))
    assert 0 < predicted.mean() < 1
    # Not LightGBM's fixed 0.5.
    assert not np.array_equal(predicted, (proba >= 0.5).astype(int))
    # The classifier on its own follows the same rule on the model matrix.
    matrix = features_of(pipeline).transform(X)
    np.testing.assert_array_equal(pipeline[-1].predict(matrix), predicted)


def test_threshold_outside_0_1_is_rejected(chain_and_table):
    chain, table = chain_and_table
    with pytest.raises(ValueError, match="threshold"):
        _fit(table, chain, checkpoint_dir=None, threshold=1.5)


def test_our_parameters_never_reach_lightgbm(chain_and_table):
    chain, table = chain_and_table
    pipeline = _fit(table, chain, checkpoint_dir=None, threshold=0.3)
    params = pipeline[-1].booster_.params
    for name in (
        "threshold",
        "checkpoint_dir",
        "checkpoint_every",
        "checkpoint_keep",
        "checkpoint_retain",
        "checkpoint_max_age_days",
    ):
        assert name not in params
    assert params["num_leaves"] == CONFIG.num_leaves


def test_get_params_and_clone_keep_lightgbm_params():
    classifier = StockoutClassifier(
        threshold=0.35,
        checkpoint_dir="ckpt",
        checkpoint_every=10,
        n_estimators=77,
        learning_rate=0.03,
        num_leaves=9,
        subsample=0.7,
        subsample_freq=1,
        reg_alpha=0.1,
        verbose=-1,
    )
    params = classifier.get_params()
    expected = {
        "threshold": 0.35,
        "checkpoint_dir": "ckpt",
        "checkpoint_every": 10,
        "n_estimators": 77,
        "learning_rate": 0.03,
        "num_leaves": 9,
        "subsample": 0.7,
        "subsample_freq": 1,
        "reg_alpha": 0.1,
        "verbose": -1,
    }
    assert {k: params[k] for k in expected} == expected
    assert (params["checkpoint_keep"], params["checkpoint_retain"]) == (2, False)
    # A model saved before these parameters existed has no such attribute: get_params (repr,
    # clone) reads the class defaults.
    saved_before = clone(classifier)
    for name in ("checkpoint_keep", "checkpoint_retain", "checkpoint_max_age_days"):
        delattr(saved_before, name)
    assert saved_before.get_params()["checkpoint_max_age_days"] == 7.0
    assert repr(saved_before)
    cloned = clone(classifier)
    assert type(cloned) is StockoutClassifier
    assert cloned.get_params() == params
    pipeline = build_pipeline(CONFIG, threshold=0.4, checkpoint_dir=None)
    assert clone(pipeline)[-1].get_params() == pipeline[-1].get_params()
    assert clone(pipeline)[-1].learning_rate == CONFIG.learning_rate


# --------------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------------

CKPT_CONFIG = CONFIG.with_overrides(n_estimators=120, checkpoint_every=50)


def _checkpoints(directory) -> list[int]:
    return sorted(int(p.stem.rsplit("-", 1)[1]) for p in directory.glob("ckpt-*.txt"))


class _InterruptError(RuntimeError):
    pass


def _interrupt_after(iterations: int):
    def callback(env):
        if env.iteration + 1 > iterations:
            raise _InterruptError(f"interrupted after {iterations} iterations")

    return callback


def test_a_fit_writes_checkpoints_every_50_iterations(chain_and_table, tmp_path):
    chain, table = chain_and_table
    retain = CKPT_CONFIG.with_overrides(checkpoint_retain=True)
    pipeline = _fit(table, chain, retain, checkpoint_dir=str(tmp_path))
    assert _checkpoints(tmp_path) == [50, 100]  # 120 is finished, not a resume point
    classifier = pipeline[-1]
    assert classifier.resumed_from_ == 0
    assert classifier.booster_.current_iteration() == 120
    # Kept on request (to log them with the run), but no resume point: the fit finished.
    assert (tmp_path / f"ckpt-{classifier.fingerprint_}.done").exists()
    assert latest_checkpoint(tmp_path, classifier.fingerprint_) is None


def test_a_finished_fit_deletes_its_checkpoints(chain_and_table, tmp_path):
    """Checkpoints exist to resume an interrupted fit: once it finishes they go (by default)."""
    chain, table = chain_and_table
    pipeline = _fit(table, chain, CKPT_CONFIG, checkpoint_dir=str(tmp_path))
    assert _checkpoints(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == [f"ckpt-{pipeline[-1].fingerprint_}.done"]


def test_a_running_fit_keeps_only_its_latest_checkpoints(chain_and_table, tmp_path):
    chain, table = chain_and_table
    every_20 = CKPT_CONFIG.with_overrides(checkpoint_every=20, checkpoint_keep=2)
    with pytest.raises(_InterruptError):
        _fit(
            table,
            chain,
            every_20,
            checkpoint_dir=str(tmp_path),
            classifier__callbacks=[_interrupt_after(110)],
        )
    assert _checkpoints(tmp_path) == [80, 100]  # 20, 40 and 60 were deleted as it went
    pipeline = _fit(table, chain, every_20, checkpoint_dir=str(tmp_path))
    assert pipeline[-1].resumed_from_ == 100
    with pytest.raises(ValueError, match=r"checkpoint_keep must be (≥|>=) 1"):
        _fit(table, chain, every_20.with_overrides(checkpoint_keep=0), checkpoint_dir=str(tmp_path))


def test_old_leftovers_of_other_fits_are_deleted_at_the_next_fit(chain_and_table, tmp_path):
    chain, table = chain_and_table
    old, recent = time.time() - 8 * 86_400, time.time() - 86_400
    stale = [
        tmp_path / "ckpt-0123456789abcdef-000050.txt",  # an interrupted fit nobody resumed
        tmp_path / "ckpt-0123456789abcdef.done",
        tmp_path / "ckpt-fedcba9876543210-000100.tmp",  # a write cut short
    ]
    fresh = tmp_path / "ckpt-aaaaaaaaaaaaaaaa-000050.txt"
    other = tmp_path / "notes.txt"
    for path in stale:
        path.write_text("x")
        os.utime(path, (old, old))
    for path, when in ((fresh, recent), (other, old)):
        path.write_text("x")
        os.utime(path, (when, when))
    _fit(table, chain, CKPT_CONFIG, checkpoint_dir=str(tmp_path))
    assert not any(path.exists() for path in stale)  # older than 7 days
    assert fresh.exists()  # a day old: may still be resumed
    assert other.exists()  # not a checkpoint file


def test_a_finished_fit_is_not_resumed_the_same_fit_again_gives_the_same_model(
    chain_and_table, tmp_path
):
    chain, table = chain_and_table
    first = _fit(table, chain, CKPT_CONFIG, checkpoint_dir=str(tmp_path))
    again = _fit(table, chain, CKPT_CONFIG, checkpoint_dir=str(tmp_path))
    assert again[-1].resumed_from_ == 0
    X, _ = split_xy(table)
    np.testing.assert_array_equal(again.predict_proba(X), first.predict_proba(X))


def test_an_interrupted_fit_resumes_from_its_last_checkpoint(chain_and_table, tmp_path):
    chain, table = chain_and_table
    with pytest.raises(_InterruptError):
        _fit(
            table,
            chain,
            CKPT_CONFIG,
            checkpoint_dir=str(tmp_path),
            classifier__callbacks=[_interrupt_after(60)],
        )
    assert _checkpoints(tmp_path) == [50]
    assert not list(tmp_path.glob("*.done"))  # interrupted: not finished

    pipeline = _fit(table, chain, CKPT_CONFIG, checkpoint_dir=str(tmp_path))
    classifier = pipeline[-1]
    assert classifier.resumed_from_ == 50
    # The resumed model holds nothing but the model: the registry's skops types allow it.
    assert untrusted_types(pipeline) == []
    assert classifier.booster_.current_iteration() == 120
    assert classifier.booster_.num_trees() == 120  # binary: one tree per iteration
    assert classifier.n_estimators == 120  # the parameter is restored after the resume
    assert _checkpoints(tmp_path) == []  # finished: nothing left to resume
    X, _ = split_xy(table)
    proba = pipeline.predict_proba(X)[:, 1]
    assert np.all((proba > 0) & (proba < 1))


def test_another_dataset_does_not_resume_someone_elses_checkpoint(chain_and_table, tmp_path):
    chain, table = chain_and_table
    with pytest.raises(_InterruptError):
        _fit(
            table,
            chain,
            CKPT_CONFIG,
            checkpoint_dir=str(tmp_path),
            classifier__callbacks=[_interrupt_after(60)],
        )
    other_chain, other_table = make_chain(seed=5)
    pipeline = _fit(other_table, other_chain, CKPT_CONFIG, checkpoint_dir=str(tmp_path))
    assert pipeline[-1].resumed_from_ == 0
    assert pipeline[-1].booster_.current_iteration() == 120
    # Other parameters on the same data: not a resume point either.
    other_params = CKPT_CONFIG.with_overrides(learning_rate=0.2)
    pipeline = _fit(table, chain, other_params, checkpoint_dir=str(tmp_path))
    assert pipeline[-1].resumed_from_ == 0


def test_string_labels_fit_and_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.where(X[:, 0] > 0, "short", "ok")
    classifier = StockoutClassifier(
        n_estimators=60,
        checkpoint_dir=str(tmp_path),
        checkpoint_every=50,
        checkpoint_retain=True,
        verbose=-1,
    ).fit(X, y)
    assert _checkpoints(tmp_path) == [50]
    assert set(classifier.predict(X)) == {"ok", "short"}


# --------------------------------------------------------------------------------------------------
# fit_model: the threshold comes from training-side validation, never the holdout
# --------------------------------------------------------------------------------------------------


def _train_part(table: pd.DataFrame, last_train_day: pd.Timestamp) -> pd.DataFrame:
    return table[table["Date"] <= last_train_day].reset_index(drop=True)


def test_fit_model_chooses_the_threshold_on_a_training_side_window(chain_and_table):
    chain, table = chain_and_table
    last_train_day = START + pd.Timedelta(days=50)
    train = _train_part(table, last_train_day)
    fitted = fit_model(train, chain, CONFIG, checkpoint_dir=None)
    validation = fitted.validation
    start, end = pd.Timestamp(validation["start"]), pd.Timestamp(validation["end"])
    # The folds' windows are the last folds × validation_days as-of days of the training rows,
    # one after the other, the latest ending on the last training day.
    folds = validation["folds"]
    assert len(folds) == CONFIG.threshold_folds
    assert end == train["Date"].max() == last_train_day
    assert (end - start).days == CONFIG.threshold_folds * CONFIG.validation_days - 1
    for earlier, later in itertools.pairwise(folds):
        assert pd.Timestamp(later["start"]) == pd.Timestamp(earlier["end"]) + pd.Timedelta(days=1)
    for fold in folds:
        span = pd.Timestamp(fold["end"]) - pd.Timestamp(fold["start"])
        assert span.days == CONFIG.validation_days - 1
    assert validation["rows"] == int((train["Date"] >= start).sum())
    assert fitted.threshold == validation["threshold"] == validation["candidates"]["pooled"]
    assert fitted.pipeline[-1].threshold == fitted.threshold
    assert 0.0 <= fitted.threshold <= 1.0
    assert fitted.train_rows == len(train)


def test_fit_model_never_reads_the_holdout(chain_and_table):
    chain, table = chain_and_table
    last_train_day = START + pd.Timedelta(days=50)
    train = _train_part(table, last_train_day)
    base = fit_model(train, chain, CONFIG, checkpoint_dir=None)
    # Whatever happens after the training rows (holdout flows) cannot move the threshold nor
    # the model: the features of a row dated t only read flows up to t.
    flows = chain.flows.copy()
    later = flows["Date"] > last_train_day
    flows.loc[later, ["inflow", "sold"]] = flows.loc[later, ["inflow", "sold"]] * 5 + 3
    transfers = chain.transfers.copy()
    transfers.loc[transfers["Date"] > last_train_day, "QuantityMoved"] *= 7
    changed = fit_model(
        train, SimpleNamespace(flows=flows, transfers=transfers), CONFIG, checkpoint_dir=None
    )
    assert changed.threshold == base.threshold
    assert changed.validation == base.validation
    X, _ = split_xy(train)
    np.testing.assert_allclose(
        changed.pipeline.predict_proba(X), base.pipeline.predict_proba(X), rtol=1e-6
    )


def test_fit_model_needs_both_classes(chain_and_table):
    chain, table = chain_and_table
    with pytest.raises(ValueError, match="single class"):
        fit_model(table.assign(label=0), chain, CONFIG, checkpoint_dir=None)


# --------------------------------------------------------------------------------------------------
# Monotone in the stock position
# --------------------------------------------------------------------------------------------------


def test_monotone_constraints_line_up_with_the_matrix_columns(chain_and_table):
    chain, table = chain_and_table
    pipeline = _fit(table, chain)
    names = [str(n) for n in features_of(pipeline).get_feature_names_out()]
    feature_steps = [pipeline.named_steps[n] for n in ("calendar", "history", "hashing")]
    assert matrix_feature_names(*feature_steps) == names
    constraints = dict(zip(names, pipeline[-1].monotone_constraints, strict=True))
    directions = pipeline.named_steps["history"].risk_directions()
    assert {name: c for name, c in constraints.items() if c} == directions
    assert constraints["CurrentQuantity"] == -1
    assert constraints["ReservedQuantity"] == 1
    assert all(constraints[n] == 0 for n in names if n.startswith("hash_"))
    booster_params = pipeline[-1].booster_.params
    assert booster_params["monotone_constraints"] == pipeline[-1].monotone_constraints
    off = build_pipeline(dataclasses.replace(CONFIG, monotone_stock=False), checkpoint_dir=None)
    assert "monotone_constraints" not in off[-1].get_params()


@pytest.mark.parametrize("monotone", [True, False])
def test_more_stock_on_hand_never_raises_the_risk(chain_and_table, monotone):
    """Sweep CurrentQuantity (and ReservedQuantity) over every holdout-like row: with the
    constraints the risk never goes up with stock (nor down with reserved stock)."""
    chain, table = chain_and_table
    pipeline = _fit(table, chain, dataclasses.replace(CONFIG, monotone_stock=monotone))
    rows, _ = split_xy(table.tail(60).reset_index(drop=True))
    grid = np.arange(0, 80, 4, dtype=float)
    stock = np.column_stack(
        [pipeline.predict_proba(rows.assign(CurrentQuantity=q))[:, 1] for q in grid]
    )
    reserved = np.column_stack(
        [pipeline.predict_proba(rows.assign(ReservedQuantity=r))[:, 1] for r in grid[:8]]
    )
    rises_with_stock = np.diff(stock, axis=1).max()
    falls_with_reserved = -np.diff(reserved, axis=1).min()
    if monotone:
        assert rises_with_stock <= 1e-12
        assert falls_with_reserved <= 1e-12
    else:  # the test can fail: unconstrained, the same model does rise somewhere
        assert max(rises_with_stock, falls_with_reserved) > 1e-6


def test_sampling_raw_rows_first_gives_the_model_of_sampling_the_matrix(chain_and_table):
    """The sampler comes first in the pipeline (the feature steps then work on the kept rows
    only); the classifier still sees exactly the matrix it would see with the sampler placed
    after the feature steps, so the fitted model is the same."""
    from imblearn.pipeline import Pipeline as ImbPipeline

    chain, table = chain_and_table
    config = dataclasses.replace(CONFIG, minority_threshold=0.5, sampling_ratio=1.0)
    pipeline = _fit(table, chain, config)
    assert pipeline.named_steps["sampler"].applied_
    X, y = split_xy(table)
    fresh = build_pipeline(config, checkpoint_dir=None)
    features_first = ImbPipeline(
        [(n, fresh.named_steps[n]) for n in ("calendar", "history", "hashing", "sampler")]
        + [("classifier", fresh.named_steps["classifier"])]
    )
    features_first.fit(X, y, history__flows=chain.flows, history__transfers=chain.transfers)
    assert features_first.named_steps["sampler"].applied_
    np.testing.assert_array_equal(
        pipeline.predict_proba(X), features_first.predict_proba(X), strict=True
    )
