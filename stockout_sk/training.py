"""Train and evaluate: the steps the CLI and the Prefect flow compose.

Each function is one step with plain inputs and outputs so a flow can run it as a task:
:func:`prepare` (labelled table and time split) → :func:`fit_model` →
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
from imblearn.pipeline import Pipeline

from stockout_sk.config import ModelConfig
from stockout_sk.contract import BRANCH_ID, DATE, ITEM_CODE, LABEL, RAW_FIELDS
from stockout_sk.evaluate import (
    EvaluationReport,
    TimeSplit,
    choose_threshold,
    evaluate_holdout,
    time_split,
    validation_split,
)
from stockout_sk.labels import LabelledDataset, build_dataset
from stockout_sk.params import check_int
from stockout_sk.pipeline import build_pipeline, features_of

logger = logging.getLogger(__name__)


@dataclass
class FittedModel:
    """A fitted pipeline and how its threshold was chosen."""

    pipeline: Pipeline
    threshold: float
    config: ModelConfig
    train_rows: int
    validation: dict[str, Any] = field(default_factory=dict)

    def feature_names(self) -> list[str]:
        """Names of the model matrix columns (what LightGBM sees)."""
        return [str(n) for n in features_of(self.pipeline).get_feature_names_out()]

    def feature_importance(self) -> pd.Series:
        """Gain importance per model column, largest first."""
        booster = self.pipeline[-1].booster_
        gain = booster.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.feature_names()).sort_values(ascending=False)


def split_xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The raw request fields and the label of a training table."""
    missing = [c for c in (*RAW_FIELDS, LABEL) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"training table is missing column(s) {missing}; build it with "
            "stockout_sk.labels.build_dataset"
        )
    return frame[list(RAW_FIELDS)], frame[LABEL].to_numpy(dtype=np.int64)


def thin_asof_days(frame: pd.DataFrame, stride: int) -> np.ndarray:
    """Mask of the rows on every ``stride``-th as-of day of their branch×item.

    A key's kept days are those whose day number is congruent to a fixed hash of the key
    modulo ``stride``: the same rows on every run and in every process (a partition of a
    cluster keeps exactly the rows one process keeps), and keys kept on different weekdays.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``BranchID``, ``ItemCode`` and ``Date`` (datetime64).
    stride : int
        1 keeps every row.

    Returns
    -------
    numpy.ndarray of bool
    """
    stride = check_int(stride, "asof_stride", caller="thin_asof_days")
    if stride == 1 or not len(frame):
        return np.ones(len(frame), dtype=bool)
    codes, keys = pd.factorize(
        frame[BRANCH_ID].astype(str) + "\x1f" + frame[ITEM_CODE].astype(str), sort=False
    )
    # pandas' hash_array is a keyed SipHash with a fixed key: stable across processes.
    offset = (pd.util.hash_array(np.asarray(keys, dtype=object)) % np.uint64(stride)).astype(
        np.int64
    )
    day = frame[DATE].to_numpy(dtype="datetime64[D]").astype(np.int64)
    return (day + offset[codes]) % stride == 0


def fit_model(
    train: pd.DataFrame,
    chain,
    config: ModelConfig | None = None,
    *,
    checkpoint_dir: str | None = "config",
) -> FittedModel:
    """Fit the pipeline on training rows and choose its threshold on training-side validation.

    1. The latest ``validation_days`` as-of days of ``train`` (after a purge gap of ``horizon``
       days) are held aside; a pipeline fitted on the rest, with flows up to the end of that
       window only, scores them and the F1-maximising threshold is chosen.
    2. The final pipeline is fitted on all of ``train`` with all flows (features stay point in
       time: a row dated t only reads flows of days ≤ t) and carries the chosen threshold.

    Parameters
    ----------
    train : DataFrame
        Training rows: the raw fields plus ``label`` (never the holdout).
    chain : ChainData
        Supplies ``flows`` and ``transfers`` for the history features.
    config : ModelConfig, optional
    checkpoint_dir : str or None
        Overrides ``config.checkpoint_dir`` for the final fit.
    """
    config = config or ModelConfig()
    if config.asof_stride > 1:
        train = train[thin_asof_days(train, config.asof_stride)]
        logger.info("asof_stride %d: training on %d rows", config.asof_stride, len(train))
    X, y = split_xy(train)
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"the training rows hold a single class ({np.unique(y).tolist()}); a classifier "
            "needs both. Use more history or check the labels"
        )
    split = validation_split(
        train["Date"], horizon=config.horizon, validation_days=config.validation_days
    )
    inner, valid = np.asarray(split.train), np.asarray(split.holdout)
    cutoff = train["Date"][valid].max()
    flows, transfers = chain.flows, chain.transfers
    inner_pipeline = build_pipeline(config, checkpoint_dir=None)
    logger.info(
        "choosing the threshold: fit on %d rows, validate on %d rows up to %s",
        inner.sum(),
        valid.sum(),
        cutoff.date(),
    )
    inner_pipeline.fit(
        X[inner],
        y[inner],
        history__flows=flows[flows["Date"] <= cutoff],
        history__transfers=transfers[transfers["Date"] <= cutoff],
    )
    proba = inner_pipeline.predict_proba(X[valid])[:, 1]
    threshold = float(choose_threshold(y[valid], proba))
    validation = {
        "rows": int(valid.sum()),
        "positives": int(y[valid].sum()),
        "start": str(train["Date"][valid].min().date()),
        "end": str(cutoff.date()),
        "threshold": threshold,
    }
    logger.info("threshold %.4f chosen on %d validation rows", threshold, valid.sum())

    pipeline = build_pipeline(config, threshold=threshold, checkpoint_dir=checkpoint_dir)
    pipeline.fit(X, y, history__flows=flows, history__transfers=transfers)
    return FittedModel(
        pipeline=pipeline,
        threshold=threshold,
        config=config,
        train_rows=len(X),
        validation=validation,
    )


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
