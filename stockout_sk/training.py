"""Train and evaluate: the steps the CLI and the Prefect flow compose.

Each function is one step with plain inputs and outputs so a flow can run it as a task:
:func:`prepare` (labelled table and time split) → :func:`stockout_sk.model.fit_model` →
:func:`evaluate_fitted`. :func:`train_and_evaluate` chains them for the CLI. Nothing here touches a
registry.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import EvaluationReport, TimeSplit, evaluate_holdout, time_split
from stockout_sk.labels import LabelledDataset, build_dataset
from stockout_sk.model import FittedModel, features_of, fit_model, split_xy

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """The labelled table and its purged time split."""

    dataset: LabelledDataset
    split: TimeSplit

    @property
    def train(self) -> pd.DataFrame:
        return self.dataset.frame[np.asarray(self.split.train)]

    @property
    def holdout(self) -> pd.DataFrame:
        return self.dataset.frame[np.asarray(self.split.holdout)]


@dataclass
class TrainingResult:
    """A fitted model, its holdout evaluation and what it took."""

    fitted: FittedModel
    report: EvaluationReport
    prepared: Prepared
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The evaluation summary (the ``evaluate --json`` shape)."""
        return self.report.to_dict()


def prepare(chain, config: ModelConfig) -> Prepared:
    """Build the labelled table and split it by time (holdout = latest days, purge gap = N)."""
    dataset = build_dataset(chain, horizon=config.horizon)
    split = time_split(
        dataset.frame["Date"], horizon=config.horizon, holdout_days=config.holdout_days
    )
    return Prepared(dataset=dataset, split=split)


def model_velocity(fitted: FittedModel, X: pd.DataFrame) -> np.ndarray:
    """Sales velocity per row as the fitted model's history step computes it (baseline input)."""
    features = features_of(fitted.pipeline, "history").transform(X)
    return np.asarray(features["velocity"], dtype=np.float64)


def evaluate_fitted(
    fitted: FittedModel,
    prepared: Prepared,
    *,
    out_dir: Path | None = None,
) -> EvaluationReport:
    """Score the holdout with the fitted model and both baselines; write plots when asked."""
    holdout = prepared.holdout
    X, y = split_xy(holdout)
    proba = fitted.pipeline.predict_proba(X)[:, 1]
    return evaluate_holdout(
        y,
        proba,
        threshold=fitted.threshold,
        X=X,
        velocity=model_velocity(fitted, X),
        horizon=fitted.config.horizon,
        feature_importance=fitted.feature_importance(),
        out_dir=out_dir,
        rows={"train": int(np.asarray(prepared.split.train).sum()), "holdout": len(X)},
        threshold_source=(
            f"maximises F1 on the training-side validation window "
            f"{fitted.validation.get('start')}..{fitted.validation.get('end')} "
            f"({fitted.validation.get('rows')} rows), purge gap {fitted.config.horizon} days"
        ),
    )


def train_and_evaluate(
    chain,
    config: ModelConfig | None = None,
    *,
    out_dir: Path | None = None,
    checkpoint_dir: str | None = "config",
) -> TrainingResult:
    """Fit on the training window and evaluate on the purged holdout (no registry involved)."""
    config = config or ModelConfig()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    prepared = prepare(chain, config)
    timings["prepare"] = time.perf_counter() - start
    start = time.perf_counter()
    fitted = fit_model(prepared.train, chain, config, checkpoint_dir=checkpoint_dir)
    timings["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    report = evaluate_fitted(fitted, prepared, out_dir=out_dir)
    timings["evaluate"] = time.perf_counter() - start
    logger.info(
        "holdout F1 %.3f (rule %.3f, velocity %.3f); PR-AUC %.3f (rule %.3f, velocity %.3f)",
        report.model["f1"],
        report.baselines["rule"]["f1"],
        report.baselines["velocity"]["f1"],
        report.model["pr_auc"] or float("nan"),
        report.baselines["rule"]["pr_auc"] or float("nan"),
        report.baselines["velocity"]["pr_auc"] or float("nan"),
    )
    return TrainingResult(fitted=fitted, report=report, prepared=prepared, timings=timings)
