"""Models registered before a refactoring keep loading and answering the same.

``tests/fixtures/pre_split_model`` was logged by the code before the package split (see
``tests/fixtures/README.md``); skops stores each estimator by its import path, so this fails as
soon as a persisted class moves or its fitted state changes shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from stockout_sk.registry import TRUSTED_TYPES

pytestmark = pytest.mark.component

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_a_model_logged_before_the_split_loads_and_scores_the_same() -> None:
    import mlflow.sklearn

    expected = json.loads((FIXTURES / "pre_split_model_rows.json").read_text(encoding="utf-8"))
    pipeline = mlflow.sklearn.load_model(str(FIXTURES / "pre_split_model"))
    rows = pd.DataFrame(expected["rows"])
    proba = pipeline.predict_proba(rows)[:, 1]
    assert proba.tolist() == [float.fromhex(p) for p in expected["proba"]]
    assert pipeline[-1].threshold == expected["threshold"]
    assert (pipeline.predict(rows) == (proba >= expected["threshold"])).all()
    # The five persisted estimator classes are where the registered models say they are.
    persisted = {f"{type(step).__module__}.{type(step).__qualname__}" for _, step in pipeline.steps}
    assert persisted <= set(TRUSTED_TYPES)
    assert len(persisted) == 5
