"""The promotion gate on a real MLflow store: a sane threshold, F1 ≥ min_f1, beats both baselines.

One small model is trained and registered once (version 1). The gate is then asked about it with
the holdout numbers it really has, and with the numbers of issue #16's failure — a model behind
the rule baseline with a threshold of 0 (everything at risk) — which must never reach
``production``. Every refusal is recorded with all of its reasons.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from stockout_sk.config import ModelConfig, Settings
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.component

MODEL = "stockout-gate"
GATE = 0.2


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from stockout_sk import registry
    from stockout_sk.ingest import load_chain
    from stockout_sk.training import split_xy, train_and_evaluate

    chain_dir = tmp_path_factory.mktemp("gate-chain")
    generate_chain(chain_dir, branches=3, items=15, days=120, seed=1)
    chain = load_chain(chain_dir)
    store = tmp_path_factory.mktemp("gate-mlflow")
    settings = Settings(
        tracking_uri=f"sqlite:///{Path(store) / 'mlflow.db'}", model_name=MODEL, min_f1=GATE
    )
    result = train_and_evaluate(chain, ModelConfig(n_estimators=30), checkpoint_dir=None)
    path_before = list(sys.path)
    logged = registry.log_training(result, chain.report, settings)
    path_after = list(sys.path)
    X, y = split_xy(result.prepared.holdout)
    return {
        "settings": settings,
        "version": logged.version,
        "f1": result.report.model["f1"],
        "baselines": {name: block["f1"] for name, block in result.report.baselines.items()},
        "validation": dict(result.fitted.validation),
        "X": X,
        "y": y,
        "sys_path": (path_before, path_after),
    }


def _decide(registered: dict[str, Any], **changes: Any):
    from stockout_sk import registry

    inputs = {
        "candidate_f1": registered["f1"],
        "baselines": registered["baselines"],
        "validation": registered["validation"],
        **changes,
    }
    return registry.decide_promotion(
        registered["version"],
        inputs["candidate_f1"],
        registered["X"],
        registered["y"],
        registered["settings"],
        baselines=inputs["baselines"],
        validation=inputs["validation"],
    )


def _version_tags(registered: dict[str, Any]) -> dict[str, str]:
    from mlflow import MlflowClient

    uri = registered["settings"].tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return client.get_model_version(MODEL, registered["version"]).tags


def test_the_issue_case_a_model_behind_the_rule_with_threshold_zero_stays_in_staging(
    registered: dict[str, Any],
) -> None:
    from stockout_sk import registry

    rows = registered["validation"]["rows"]
    decision = _decide(
        registered,
        candidate_f1=0.840,
        baselines={"rule": 0.975, "velocity": 0.60},
        validation={"threshold": 0.0, "rows": rows, "flagged": rows},
    )
    assert decision.decision == "kept-staging"
    assert "threshold 0.0000 is degenerate" in decision.reason
    assert "does not beat the rule baseline's F1 0.9750" in decision.reason
    assert "velocity" not in decision.reason  # 0.840 beats 0.60: only what failed is listed
    assert registry.production_version(registered["settings"]) is None
    tags = _version_tags(registered)
    assert tags["stockout.decision"] == "kept-staging"
    assert tags["stockout.reason"] == decision.reason
    assert tags["stockout.baseline.rule.f1"] == "0.975"
    assert tags["stockout.validation_flagged_share"] == "1"


def test_a_model_must_beat_both_baselines_a_tie_is_not_enough(registered: dict[str, Any]) -> None:
    f1 = registered["f1"]
    behind_velocity = _decide(registered, baselines={"rule": f1 - 0.1, "velocity": f1 + 0.01})
    assert behind_velocity.decision == "kept-staging"
    assert "does not beat the velocity baseline's F1" in behind_velocity.reason
    tie = _decide(registered, baselines={"rule": f1, "velocity": f1 - 0.1})
    assert tie.decision == "kept-staging"
    assert "does not beat the rule baseline's F1" in tie.reason


@pytest.mark.parametrize(
    ("threshold", "flagged_share", "message"),
    [
        (1.0, 0.0, "threshold 1.0000 is degenerate"),
        (0.5, 0.995, "it flags 99.5% of the"),
        (0.5, 0.0, "it flags none of the"),
    ],
)
def test_a_degenerate_threshold_is_refused(
    registered: dict[str, Any], threshold: float, flagged_share: float, message: str
) -> None:
    rows = 1000
    decision = _decide(
        registered,
        validation={"threshold": threshold, "rows": rows, "flagged": round(rows * flagged_share)},
    )
    assert decision.decision == "kept-staging"
    assert message in decision.reason


def test_the_real_numbers_pass_the_gate_and_say_what_was_beaten(
    registered: dict[str, Any],
) -> None:
    from stockout_sk import registry

    assert registered["f1"] > max(registered["baselines"].values()), "the fixture must be good"
    decision = _decide(registered)
    assert decision.decision == "promoted", decision.reason
    assert "beats the baselines (rule" in decision.reason
    assert decision.threshold == pytest.approx(registered["validation"]["threshold"])
    assert 0 < decision.flagged_share < 0.99
    assert registry.production_version(registered["settings"]) == registered["version"]


def test_logging_a_model_leaves_sys_path_alone(registered: dict[str, Any]) -> None:
    """MLflow checks the input example by loading the saved copy, adding its code/ to sys.path."""
    before, after = registered["sys_path"]
    assert after == before
