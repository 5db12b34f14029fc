"""Unit tests for stockout_sk.features.hashing beyond the estimator contract (test_features.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockout_sk.config import ModelConfig
from stockout_sk.features.columns import as_columns
from stockout_sk.features.hashing import HashedIDs
from stockout_sk.pipeline import build_pipeline

pytestmark = pytest.mark.unit


def _rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "BranchID": rng.choice(["B1", "B2"], n),
            "ItemCode": rng.choice(["I1", "I2", "I3"], n),
            "Date": pd.date_range("2024-03-01", periods=n, freq="D"),
            "CurrentQuantity": rng.integers(0, 40, n).astype(float),
            "ReservedQuantity": rng.integers(0, 3, n).astype(float),
            "SafetyStockLevel": rng.integers(5, 15, n).astype(float),
        }
    )


def test_a_pipeline_fits_on_a_few_dozen_rows():
    """A batch this small is read in one go as objects (features.columns.as_columns): the
    quantities arrive at the hashing step as objects holding numbers. A fit on so few rows (a
    threshold fold of a short export after under-sampling) used to fail there."""
    X = _rows(40)
    y = (X["CurrentQuantity"] < X["SafetyStockLevel"]).astype(int).to_numpy()
    config = ModelConfig(n_estimators=5, num_leaves=3, min_child_samples=2, windows=(3, 7))
    pipeline = build_pipeline(config, checkpoint_dir=None).fit(X, y)
    proba = pipeline.predict_proba(X)[:, 1]
    assert proba.shape == (40,)
    assert np.isfinite(proba).all()


def test_object_columns_of_numbers_pass_through_and_text_does_not():
    X = as_columns(_rows(10).assign(FromBranchID="WH01", ToBranchID="<none>"))
    assert X["CurrentQuantity"].dtype == object
    step = HashedIDs(n_features=4).fit(X)
    assert "CurrentQuantity" in set(step.numeric_features_)
    text = dict(X)
    text["CurrentQuantity"] = np.asarray(["a lot"] * 10, dtype=object)
    with pytest.raises(TypeError, match="column 'CurrentQuantity' has dtype object"):
        HashedIDs(n_features=4).fit(pd.DataFrame(text))
