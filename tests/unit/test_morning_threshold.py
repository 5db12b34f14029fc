"""The default threshold: the expected-F1 cut on the first morning list a model scores (#13)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from lightgbm import LGBMClassifier
from sklearn.metrics import f1_score
from test_training import CONFIG, simulate_chain

from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import expected_f1_threshold
from stockout_sk.labels import snapshot_rows
from stockout_sk.sampling import ConditionalSampler, unresampled_probability
from stockout_sk.training import (
    fit_model,
    morning_rows,
    prepare,
    refit_on_all,
)

pytestmark = pytest.mark.unit


def _brute_force(p: np.ndarray) -> tuple[float, float]:
    """Every distinct score as a cut, the expected F1 computed from its definition."""
    best = (1.0, 0.0)
    for cut in np.unique(p):
        flagged = p >= cut
        expected = 2 * p[flagged].sum() / (flagged.sum() + p.sum())
        if expected > best[1]:
            best = (float(cut), float(expected))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_the_expected_f1_cut_is_the_best_cut_by_its_definition(seed):
    rng = np.random.default_rng(seed)
    # Rounded: many ties, which must be cut together (p ≥ t flags all of them).
    p = np.round(rng.beta(0.8, 3.0, size=400), 2)
    cut, expected = expected_f1_threshold(p)
    want_cut, want_expected = _brute_force(p)
    assert np.array_equal(p >= cut, p >= want_cut)  # the same rows flagged
    assert expected == pytest.approx(want_expected)
    # Halfway between the lowest score flagged and the highest one not.
    assert cut == pytest.approx((want_cut + p[p < want_cut].max()) / 2)


def test_on_calibrated_probabilities_the_expected_f1_is_what_the_labels_give():
    rng = np.random.default_rng(0)
    p = rng.beta(1.0, 4.0, size=200_000)
    y = rng.random(len(p)) < p  # each row positive with its own probability
    cut, expected = expected_f1_threshold(p)
    assert f1_score(y, p >= cut) == pytest.approx(expected, abs=0.005)
    # The F1-optimal cut of calibrated scores is half the optimal F1 (Lipton et al., 2014).
    assert cut == pytest.approx(expected / 2, abs=0.005)
    # And no other cut does much better on the labels.
    best = max(f1_score(y, p >= c) for c in np.quantile(p, np.linspace(0.5, 0.99, 50)))
    assert f1_score(y, p >= cut) >= best - 0.003


def test_the_expected_f1_cut_of_nothing_expected_and_of_nothing_at_all():
    assert expected_f1_threshold([0.0, 0.0, 0.0]) == (1.0, 0.0)
    with pytest.raises(ValueError, match="no probabilities"):
        expected_f1_threshold([])
    with pytest.raises(ValueError, match="missing or infinite"):
        expected_f1_threshold([0.2, np.nan])


def test_unresampled_probabilities_recover_the_rows_own_base_rate():
    rng = np.random.default_rng(1)
    n = 40_000
    x = rng.normal(size=(n, 3))
    logit = -2.6 + 1.2 * x[:, 0] - 0.8 * x[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    sampler = ConditionalSampler(minority_threshold=0.2, ratio=0.5, random_state=0)
    X_kept, y_kept = sampler.fit_resample(x, y)
    assert sampler.applied_
    assert sampler.minority_share_ < 0.15
    model = LGBMClassifier(n_estimators=60, num_leaves=7, verbose=-1).fit(X_kept, y_kept)
    raw = model.predict_proba(x)[:, 1]
    true = unresampled_probability(raw, share=sampler.minority_share_, ratio=sampler.ratio)
    # Fitted on 1 positive per 2 negatives, the raw scores run far above the rows' positive
    # rate; put back, they average it, and the order of the rows is unchanged.
    assert raw.mean() > 2 * y.mean()
    assert true.mean() == pytest.approx(y.mean(), abs=0.01)
    assert np.array_equal(np.argsort(raw, kind="stable"), np.argsort(true, kind="stable"))
    assert unresampled_probability([0.0, 1.0], share=0.1, ratio=0.5).tolist() == [0.0, 1.0]


@pytest.fixture(scope="module")
def trained():
    chain = simulate_chain(seed=5, n_days=90)
    prepared = prepare(chain, CONFIG)
    fitted = fit_model(prepared.train, chain, CONFIG, checkpoint_dir=None, morning=prepared.morning)
    return chain, prepared, fitted


def test_morning_rows_are_the_first_day_without_labels(trained):
    _, prepared, _ = trained
    rows = morning_rows(prepared.holdout)
    first = prepared.holdout["Date"].min()
    assert "label" not in rows
    assert len(rows) == (prepared.holdout["Date"] == first).sum()
    assert (rows["Date"] == first).all()


def test_the_cut_is_the_expected_f1_cut_of_the_morning_and_the_pipeline_applies_it(trained):
    _, prepared, fitted = trained
    morning = prepared.morning
    validation = fitted.validation
    assert validation["method"] == "expected"
    sampler = fitted.pipeline.named_steps["sampler"]
    raw = fitted.pipeline.predict_proba(morning)[:, 1]
    true = (
        unresampled_probability(raw, share=sampler.minority_share_, ratio=sampler.ratio)
        if sampler.applied_
        else raw
    )
    cut, expected = expected_f1_threshold(true)
    record = validation["morning"]
    assert record["expected_f1"] == pytest.approx(expected)
    assert record["rows"] == len(morning)
    assert record["as_of"] == str(prepared.holdout["Date"].min().date())
    assert record["flagged"] == int((true >= cut).sum())
    # The model's own scale: predict flags exactly the rows the cut flags on the true scale.
    assert fitted.threshold == fitted.pipeline[-1].threshold == validation["threshold"]
    assert np.array_equal(fitted.pipeline.predict(morning) == 1, true >= cut)
    # The folds ran anyway: their cuts and spread are on the record, each fold's F1 at the cut
    # carried.
    assert set(validation["candidates"]) == {"pooled", "median", "last", "expected"}
    assert validation["candidates"]["expected"] == fitted.threshold
    for entry, (y, p) in zip(validation["folds"], fitted.fold_scores, strict=True):
        assert entry["f1"] == pytest.approx(f1_score(y, p >= fitted.threshold))
    assert validation["flagged"] == sum(
        int((p >= fitted.threshold).sum()) for _, p in fitted.fold_scores
    )


def test_a_resampled_model_cuts_on_the_rows_own_scale():
    chain = simulate_chain(seed=5, n_days=90)
    # Resample whatever the positive share: the raw scores run high, the cut must not.
    config = CONFIG.with_overrides(minority_threshold=0.5, sampling_ratio=1.0)
    prepared = prepare(chain, config)
    fitted = fit_model(prepared.train, chain, config, checkpoint_dir=None, morning=prepared.morning)
    sampler = fitted.pipeline.named_steps["sampler"]
    assert sampler.applied_
    raw = fitted.pipeline.predict_proba(prepared.morning)[:, 1]
    true = unresampled_probability(raw, share=sampler.minority_share_, ratio=sampler.ratio)
    cut, _ = expected_f1_threshold(true)
    assert fitted.validation["morning"]["resampling_undone"] is True
    assert np.array_equal(raw >= fitted.threshold, true >= cut)
    assert fitted.threshold != expected_f1_threshold(raw)[0]


def test_the_refit_chooses_its_cut_on_its_own_morning(trained):
    chain, prepared, fitted = trained
    snapshot = snapshot_rows(chain)
    refitted = refit_on_all(
        fitted, prepared.dataset.frame, chain, checkpoint_dir=None, morning=snapshot
    )
    assert refitted.validation["morning"]["as_of"] == str(chain.history_end.date())
    assert refitted.validation["morning"]["rows"] == len(chain.stock_current)
    assert refitted.validation["candidates"]["pooled"] == fitted.validation["candidates"]["pooled"]
    # The evaluated model keeps the cut the holdout judged.
    assert fitted.pipeline[-1].threshold == fitted.threshold
    assert refitted.pipeline[-1].threshold == refitted.threshold


def test_without_a_morning_list_the_folds_cut_is_kept_and_the_log_says_so(trained, caplog):
    chain, prepared, _ = trained
    with caplog.at_level(logging.WARNING, logger="stockout_sk.training.morning"):
        fitted = fit_model(prepared.train, chain, CONFIG, checkpoint_dir=None)
    assert "needs the morning list" in caplog.text
    assert fitted.validation["method"] == "pooled"
    assert fitted.validation["morning"] is None
    assert fitted.threshold == fitted.validation["candidates"]["pooled"]
    assert fitted.pipeline[-1].threshold == fitted.threshold


def test_a_refit_without_a_morning_list_carries_the_folds_cut_not_another_models(trained):
    chain, prepared, fitted = trained
    assert fitted.threshold != fitted.validation["candidates"]["pooled"]  # a morning cut
    refitted = refit_on_all(fitted, prepared.dataset.frame, chain, checkpoint_dir=None)
    assert refitted.threshold == fitted.validation["candidates"]["pooled"]
    assert refitted.pipeline[-1].threshold == refitted.threshold
    assert refitted.validation["method"] == "pooled"


@pytest.mark.parametrize("method", ["pooled", "median", "last"])
def test_the_fold_methods_ignore_the_morning(trained, method):
    chain, prepared, _ = trained
    config = CONFIG.with_overrides(threshold_method=method)
    fitted = fit_model(prepared.train, chain, config, checkpoint_dir=None, morning=prepared.morning)
    assert fitted.validation["method"] == method
    assert "morning" not in fitted.validation
    assert fitted.threshold == fitted.validation["candidates"][method]


def test_the_default_method_is_expected():
    assert ModelConfig().threshold_method == "expected"
