"""The holdout evaluation of a fitted model, and the whole train-and-evaluate step."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import EvaluationReport, evaluate_holdout
from stockout_sk.labels import snapshot_rows
from stockout_sk.pipeline import features_of
from stockout_sk.training.fit import fit_model, refit_on_all
from stockout_sk.training.fitted import FittedModel, split_xy
from stockout_sk.training.prepare import Prepared, prepare

__all__ = ["TrainingResult", "evaluate_fitted", "model_velocity", "train_and_evaluate"]

logger = logging.getLogger(__name__)


@dataclass
class TrainingResult:
    """A fitted model, its holdout evaluation and what it took.

    ``deployed`` is the model to register: ``fitted`` itself, or its refit on every matured row
    (:func:`refit_on_all`) when ``config.refit`` asks for it. The holdout metrics are always
    ``fitted``'s.
    """

    fitted: FittedModel
    report: EvaluationReport
    prepared: Prepared
    timings: dict[str, float] = field(default_factory=dict)
    deployed: FittedModel | None = None

    def to_dict(self) -> dict[str, Any]:
        """The evaluation summary (the ``evaluate --json`` shape), with windows and threshold."""
        windows = self.prepared.windows
        return {
            **self.report.to_dict(),
            "windows": None if windows is None else windows.to_dict(),
            "threshold_folds": {
                key: self.fitted.validation.get(key)
                for key in ("method", "threshold", "candidates", "morning", "spread", "folds")
            },
        }


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
            f"{fitted.validation.get('method')} F1-best cut of "
            f"{len(fitted.validation.get('folds', []))} purged rolling-origin fold(s) on the "
            f"training side, {fitted.validation.get('start')}..{fitted.validation.get('end')} "
            f"({fitted.validation.get('rows')} rows), purge gap {fitted.config.horizon} days"
        ),
    )


def train_and_evaluate(
    chain,
    config: ModelConfig | None = None,
    *,
    out_dir: Path | None = None,
    checkpoint_dir: str | None = "config",
    deploy: bool = False,
) -> TrainingResult:
    """Fit on the training window and evaluate on the purged holdout (no registry involved).

    Parameters
    ----------
    chain : ChainData
    config : ModelConfig, optional
    out_dir : Path, optional
        Where the holdout report's plots and summary go.
    checkpoint_dir : str or None
        Overrides ``config.checkpoint_dir`` (``None``: no checkpoints).
    deploy : bool, default False
        Also build the model a run would register (``result.deployed``): with
        ``config.refit``, :func:`refit_on_all` of the evaluated model; otherwise the evaluated
        model itself.
    """
    config = config or ModelConfig()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    prepared = prepare(chain, config)
    timings["prepare"] = time.perf_counter() - start
    start = time.perf_counter()
    fitted = fit_model(
        prepared.train, chain, config, checkpoint_dir=checkpoint_dir, morning=prepared.morning
    )
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
    deployed = None
    if deploy:
        start = time.perf_counter()
        deployed = (
            refit_on_all(
                fitted,
                prepared.dataset.frame,
                chain,
                checkpoint_dir=checkpoint_dir,
                morning=snapshot_rows(chain),
            )
            if config.refit
            else fitted
        )
        timings["refit"] = time.perf_counter() - start
    return TrainingResult(
        fitted=fitted, report=report, prepared=prepared, timings=timings, deployed=deployed
    )
