"""Reference distributions: quantile bins, open-ended end bins, missing values, strict JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stockout_sk.reference import (
    MODEL_FEATURES,
    RAW_NUMERIC_FIELDS,
    bin_counts,
    build_reference,
    reference_distribution,
)

pytestmark = pytest.mark.unit


def test_quantile_bins_hold_equal_shares() -> None:
    ref = reference_distribution(np.arange(1000, dtype=float), bins=10)
    assert len(ref["edges"]) == 11
    assert ref["counts"] == [100] * 10
    assert ref["proportions"] == pytest.approx([0.1] * 10)
    assert ref["n"] == 1000
    assert ref["missing"] == 0


def test_duplicated_edges_are_dropped() -> None:
    values = np.array([0.0] * 80 + [1.0] * 10 + [2.0] * 10)
    ref = reference_distribution(values, bins=10)
    assert ref["edges"] == sorted(set(ref["edges"]))
    assert len(ref["counts"]) == len(ref["edges"]) - 1
    assert sum(ref["counts"]) == 100


def test_constant_variable_gets_one_bin() -> None:
    ref = reference_distribution([5.0] * 7)
    assert ref["edges"] == [5.0, 5.0]
    assert ref["counts"] == [7]
    assert ref["proportions"] == [1.0]


def test_nan_is_missing_and_inf_falls_in_the_end_bins() -> None:
    ref = reference_distribution([np.nan, -np.inf, 1.0, 2.0, 3.0, 4.0, np.inf], bins=2)
    assert ref["missing"] == 1
    assert sum(ref["counts"]) == 6
    assert ref["min"] == 1.0
    assert ref["max"] == 4.0
    json.dumps(ref, allow_nan=False)


def test_bin_counts_are_open_ended_and_aligned() -> None:
    edges = [0.0, 1.0, 2.0, 3.0]
    counts = bin_counts([-5.0, 0.0, 0.5, 1.0, 2.5, 3.0, 99.0, np.nan], edges)
    # below min → first bin; an inner edge opens its bin; the max and above → last bin
    assert counts.tolist() == [3, 1, 3]


def test_bin_counts_rejects_a_single_edge() -> None:
    with pytest.raises(ValueError, match="at least 2 values"):
        bin_counts([1.0], [1.0])


class _Features:
    """Stands in for the calendar and history steps: the transform adds the monitored model
    features."""

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X.copy()
        for i, name in enumerate(MODEL_FEATURES):
            out[name] = np.arange(len(X), dtype=float) * (i + 1)
        return out


class _Pipeline:
    def __init__(self) -> None:
        names = ("sampler", "calendar", "history", "hashing", "classifier")
        self.steps = [(name, None) for name in names]

    def __getitem__(self, key: slice) -> _Features:
        assert key == slice(None, 3)  # through "history"
        return _Features()


def _raw(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "BranchID": ["001"] * n,
            "ItemCode": ["ITM1"] * n,
            "Date": pd.date_range("2024-01-01", periods=n, freq="D"),
            "CurrentQuantity": rng.integers(0, 100, n).astype(float),
            "ReservedQuantity": rng.integers(0, 5, n).astype(float),
            "SafetyStockLevel": rng.integers(5, 20, n).astype(float),
        }
    )


def test_build_reference_covers_inputs_features_and_score() -> None:
    X = _raw(50)
    proba = np.linspace(0.0, 1.0, 50)
    ref = build_reference(_Pipeline(), X, proba)
    assert set(ref["features"]) == set(RAW_NUMERIC_FIELDS) | set(MODEL_FEATURES)
    assert {ref["features"][n]["source"] for n in RAW_NUMERIC_FIELDS} == {"raw"}
    assert {ref["features"][n]["source"] for n in MODEL_FEATURES} == {"model"}
    assert ref["rows"] == 50
    assert ref["date_range"] == {"start": "2024-01-01", "end": "2024-02-19"}
    assert sum(ref["prediction"]["proportions"]) == pytest.approx(1.0)
    json.dumps(ref, allow_nan=False)


def test_build_reference_names_what_is_missing() -> None:
    X = _raw(10)
    with pytest.raises(ValueError, match="proba has shape"):
        build_reference(_Pipeline(), X, np.zeros(3))
    with pytest.raises(ValueError, match="monitored raw field"):
        build_reference(_Pipeline(), X.drop(columns="SafetyStockLevel"), np.zeros(10))
    with pytest.raises(ValueError, match="do not produce"):
        build_reference(_Pipeline(), X, np.zeros(10), model_features=("no_such_feature",))
