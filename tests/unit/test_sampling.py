"""Unit tests for stockout_sk.sampling's decision helpers (the sampler itself: test_model.py)."""

from __future__ import annotations

import numpy as np
import pytest

from stockout_sk.sampling import (
    ConditionalSampler,
    minority_share,
    minority_threshold_for,
    resampling_applies,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("positives", [1, 5, 12, 19, 20, 21, 30, 33, 40, 50])
@pytest.mark.parametrize("minority_threshold", [0.05, 0.2, 0.5])
@pytest.mark.parametrize("ratio", [0.5, 1.0])
def test_the_sampler_decides_as_resampling_applies_says(positives, minority_threshold, ratio):
    y = np.r_[np.zeros(100 - positives, dtype=int), np.ones(positives, dtype=int)]
    sampler = ConditionalSampler(minority_threshold=minority_threshold, ratio=ratio)
    sampler.fit_resample(np.zeros((100, 1)), y)
    assert sampler.minority_share_ == minority_share(y) == min(positives, 100 - positives) / 100
    assert sampler.applied_ == resampling_applies(
        y, minority_threshold=minority_threshold, ratio=ratio
    )


@pytest.mark.parametrize("positives", [1, 5, 12, 19, 20, 21, 30, 45])
@pytest.mark.parametrize("applies", [True, False])
@pytest.mark.parametrize("configured", [0.05, 0.2, 0.5])
def test_minority_threshold_for_gives_the_decision_asked_for(positives, applies, configured):
    y = np.r_[np.zeros(100 - positives, dtype=int), np.ones(positives, dtype=int)]
    value = minority_threshold_for(y, applies=applies, minority_threshold=configured)
    assert 0 < value <= 0.5  # a valid ModelConfig.minority_threshold
    if resampling_applies(y, minority_threshold=configured, ratio=1.0) == applies:
        assert value == configured  # nothing to pin: the configured value is kept
    sampler = ConditionalSampler(minority_threshold=value, ratio=1.0).fit(np.zeros((100, 1)), y)
    assert sampler.applied_ == applies


def test_a_single_class_is_never_resampled_whatever_the_threshold():
    y = np.zeros(10, dtype=int)
    assert minority_share(y) == 1.0
    assert not resampling_applies(y, minority_threshold=0.5, ratio=1.0)
    assert minority_threshold_for(y, applies=False, minority_threshold=0.2) == 0.2
