"""One fold of the rolling-origin backtest: train as of an origin, score what came after.

Each origin ``T`` is an export that ended on day ``T``: the rows whose label had matured by then
(as-of ``≤ T − N``) and the flows up to ``T``. The product's own steps run on it — windows sized
from that history, the threshold chosen on purged folds, the refit on every matured row when
``config.refit``, under ``threshold_method="expected"`` the cut chosen on day ``T``'s morning
list without its labels — and the deployed model scores the morning list of day ``T`` (every
branch×item as of ``T``), whose labels say what happened in the ``N`` days after the export.
With ``window_days > 1`` it also scores the next days' rows with the same model, as a model that
is not retrained would: their history stops at ``T`` (stale by up to ``window_days − 1`` days).
The same rows are scored by the plain LightGBM (:mod:`.plain`) and both baselines.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.backtest.plain import fit_plain
from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import (
    WindowPlan,
    classification_metrics,
    recall_at_top,
    rule_baseline,
    velocity_baseline,
)
from stockout_sk.labels import LabelledDataset, build_dataset
from stockout_sk.params import check_int
from stockout_sk.training import (
    FittedModel,
    fit_model,
    model_velocity,
    morning_rows,
    refit_on_all,
    split_dataset,
    split_xy,
)

__all__ = ["MODELS", "FoldResult", "chain_until", "plan_origins", "run_fold"]

logger = logging.getLogger(__name__)

#: What each fold scores, in report order.
MODELS: tuple[str, ...] = ("model", "plain", "velocity", "rule")
#: The words for each in tables and plots.
MODEL_LABELS: dict[str, str] = {
    "model": "pipeline",
    "plain": "plain LightGBM",
    "velocity": "velocity baseline",
    "rule": "rule baseline",
}


@dataclass
class FoldResult:
    """One origin: what was trained, what was scored, and how each model did.

    Attributes
    ----------
    fold : int
        1-based, oldest origin first.
    origin : pandas.Timestamp
        The day the export ended.
    export_days : int
        Calendar days of that export (first day of the history to ``origin``).
    scored : (Timestamp, Timestamp)
        First and last as-of day scored (from the origin on).
    windows : WindowPlan
        The windows the origin's history allowed.
    fit_rows : dict
        Rows, first and last as-of day the deployed model was fitted on (``refit``: whether
        that was the refit on every matured row).
    rows, positives : int
        Scored rows and how many of them were positive.
    metrics : dict of str to dict
        Per entry of :data:`MODELS`: ``pr_auc``, ``f1``, ``precision``, ``recall``,
        ``recall_at_top``, ``threshold``.
    seconds : float
    y, scores : numpy.ndarray, dict of str to numpy.ndarray
        The scored labels and each model's scores (kept in memory for benchmarks; also
        ``model_gated``: the evaluated model before the refit, when there was one).
    fitted : FittedModel
        The model the folds chose a threshold for (before any refit).
    deployed : FittedModel
        The model that scored the morning list (the refit, or ``fitted`` itself).
    """

    fold: int
    origin: pd.Timestamp
    export_days: int
    scored: tuple[pd.Timestamp, pd.Timestamp]
    windows: WindowPlan
    fit_rows: dict[str, Any]
    rows: int
    positives: int
    metrics: dict[str, dict[str, Any]]
    seconds: float
    y: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    scores: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    fitted: FittedModel | None = field(repr=False, default=None)
    deployed: FittedModel | None = field(repr=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the JSON summary."""
        return {
            "fold": self.fold,
            "origin": str(self.origin.date()),
            "scored": [str(self.scored[0].date()), str(self.scored[1].date())],
            "export_days": self.export_days,
            "windows": self.windows.to_dict(),
            "fit_rows": self.fit_rows,
            "rows": self.rows,
            "positives": self.positives,
            "metrics": self.metrics,
            "threshold_folds": (self.fitted.validation if self.fitted else {}).get("folds"),
            "seconds": round(self.seconds, 2),
        }


def plan_origins(
    asof_days: pd.DatetimeIndex, *, folds: int, window_days: int = 1, step_days: int = 7
) -> list[pd.Timestamp]:
    """The last ``folds`` origins, ``step_days`` apart, whose scored days have matured labels.

    Origin *k* scores the as-of days ``T_k … T_k + window_days − 1``; the last one ends on the
    last matured as-of day.

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", "2024-03-31", freq="D")
    >>> [str(t.date()) for t in plan_origins(days, folds=3)]
    ['2024-03-17', '2024-03-24', '2024-03-31']
    >>> [str(t.date()) for t in plan_origins(days, folds=2, window_days=7, step_days=7)]
    ['2024-03-18', '2024-03-25']
    """
    folds = check_int(folds, "folds", caller="plan_origins")
    window_days = check_int(window_days, "window_days", caller="plan_origins")
    step = pd.Timedelta(days=check_int(step_days, "step_days", caller="plan_origins"))
    last = pd.DatetimeIndex(asof_days).max() - pd.Timedelta(days=window_days - 1)
    return [last - step * (folds - 1 - k) for k in range(folds)]


def chain_until(chain, origin: pd.Timestamp):
    """The chain as an export ending on ``origin`` would have held it: flows up to that day.

    ``stock_current`` stays the later snapshot: training never reads it (the labels come from
    the full history's reconstruction, which gives the same stock on every day up to
    ``origin``).
    """
    flows, transfers = chain.flows, chain.transfers
    cut = {
        "flows": flows[flows["Date"] <= origin],
        "transfers": transfers[transfers["Date"] <= origin],
        "history_end": origin,
    }
    if dataclasses.is_dataclass(chain):
        return dataclasses.replace(chain, **cut)
    return SimpleNamespace(**{**vars(chain), **cut})


def run_fold(
    number: int,
    origin: pd.Timestamp,
    chain,
    dataset: LabelledDataset,
    config: ModelConfig,
    *,
    window_days: int,
    top_share: float,
    plain: bool = True,
    progress: Callable[[str], None] | None = None,
) -> FoldResult:
    """Train as of ``origin`` (the product's steps) and score ``window_days`` as-of days from it."""
    started = time.perf_counter()
    say = progress or logger.info
    horizon = config.horizon
    frame = dataset.frame
    matured = frame[frame["Date"] <= origin - pd.Timedelta(days=horizon)].reset_index(drop=True)
    end = origin + pd.Timedelta(days=window_days - 1)
    scored = frame[(frame["Date"] >= origin) & (frame["Date"] <= end)].reset_index(drop=True)
    if scored.empty:
        raise ValueError(
            f"backtest fold {number}: no matured row from the origin {origin.date()} on "
            f"(the labels of {origin.date()}..{end.date()} need {horizon} more days of history)"
        )
    at_origin = chain_until(chain, origin)
    prepared = split_dataset(
        LabelledDataset(frame=matured, horizon=horizon, report={}), at_origin, config
    )
    say(
        f"fold {number}: export ending {origin.date()} ({len(matured):,} matured rows); "
        f"{prepared.windows.reason}"
    )
    fitted = fit_model(
        prepared.train,
        at_origin,
        config,
        checkpoint_dir=None,
        windows=prepared.windows,
        morning=prepared.morning,
    )
    # The export's snapshot is the morning list of day T: the scored rows of the origin day.
    deployed = (
        refit_on_all(fitted, matured, at_origin, checkpoint_dir=None, morning=morning_rows(scored))
        if config.refit
        else fitted
    )
    X, y = split_xy(scored)
    scores = {"model": deployed.pipeline.predict_proba(X)[:, 1]}
    if config.refit:
        scores["model_gated"] = fitted.pipeline.predict_proba(X)[:, 1]
    thresholds = {"model": deployed.threshold, "model_gated": fitted.threshold}
    if plain:
        plain_model = fit_plain(
            prepared.train,
            at_origin,
            config,
            windows=prepared.windows,
            final_rows=matured if config.refit else None,
            morning=morning_rows(scored) if config.refit else prepared.morning,
        )
        scores["plain"] = plain_model.predict_proba(X)
        thresholds["plain"] = plain_model.threshold
    baselines = {
        "rule": rule_baseline(X),
        "velocity": velocity_baseline(X, model_velocity(deployed, X), horizon=horizon),
    }
    metrics: dict[str, dict[str, Any]] = {}
    for name, score in scores.items():
        block = classification_metrics(y, score, threshold=thresholds[name])
        metrics[name] = _block(block, y, score, top_share)
    for name, baseline in baselines.items():
        scores[name] = baseline.score
        metrics[name] = _block(baseline.metrics(y), y, baseline.score, top_share)
    result = FoldResult(
        fold=number,
        origin=origin,
        export_days=int((origin - pd.Timestamp(chain.history_start).normalize()).days) + 1,
        scored=(scored["Date"].min(), scored["Date"].max()),
        windows=prepared.windows,
        fit_rows=deployed.fit_rows,
        rows=len(y),
        positives=int(y.sum()),
        metrics=metrics,
        seconds=time.perf_counter() - started,
        y=y,
        scores=scores,
        fitted=fitted,
        deployed=deployed,
    )
    say(
        f"fold {number}: scored {result.rows:,} rows {result.scored[0].date()}.."
        f"{result.scored[1].date()} ({result.positives:,} positive): "
        + ", ".join(
            f"{name} PR-AUC {_fmt(metrics[name]['pr_auc'])} F1 {_fmt(metrics[name]['f1'])}"
            for name in MODELS
            if name in metrics
        )
        + f" ({result.seconds:.0f} s)"
    )
    return result


def build_table(chain, config: ModelConfig) -> LabelledDataset:
    """The labelled table of the whole history, built once and cut per origin."""
    return build_dataset(chain, horizon=config.horizon)


def _block(metrics: dict[str, Any], y: np.ndarray, score: np.ndarray, share: float) -> dict:
    keys = ("pr_auc", "roc_auc", "f1", "precision", "recall", "threshold")
    out = {key: metrics[key] for key in keys}
    out["recall_at_top"] = recall_at_top(y, score, share)
    return out


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def origins_of(
    dataset: LabelledDataset,
    *,
    folds: int,
    window_days: int,
    step_days: int,
    origins: Sequence[pd.Timestamp | str] | None,
) -> list[pd.Timestamp]:
    """The origins asked for, or :func:`plan_origins` on the table's as-of days."""
    if origins:
        return sorted(pd.Timestamp(o).normalize() for o in origins)
    days = pd.DatetimeIndex(dataset.frame["Date"].drop_duplicates())
    if days.empty:
        raise ValueError("backtest: the labelled table is empty; nothing to train or score")
    return plan_origins(days, folds=folds, window_days=window_days, step_days=step_days)
