"""Fitting: the threshold chosen on purged rolling-origin folds, and the refit on every row."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import (
    THRESHOLD_METHODS,
    FoldThreshold,
    WindowPlan,
    check_activity,
    fold_threshold,
    plan_windows,
    rolling_folds,
)
from stockout_sk.pipeline import build_pipeline
from stockout_sk.sampling import minority_threshold_for, resampling_applies
from stockout_sk.training.fitted import FittedModel, fit_rows, split_xy
from stockout_sk.training.morning import EXPECTED, morning_threshold
from stockout_sk.training.prepare import thin_asof_days

__all__ = [
    "fit_model",
    "fold_method",
    "refit_on_all",
    "sampling_pinned",
    "threshold_from_folds",
]

logger = logging.getLogger(__name__)


def fit_model(
    train: pd.DataFrame,
    chain,
    config: ModelConfig | None = None,
    *,
    checkpoint_dir: str | None = "config",
    windows: WindowPlan | None = None,
    morning: pd.DataFrame | None = None,
) -> FittedModel:
    """Fit the pipeline on training rows and choose its threshold on purged rolling-origin folds.

    1. The latest ``folds × validation_days`` as-of days of ``train`` are cut into consecutive
       validation windows (:func:`~stockout_sk.evaluate.rolling_folds`). For each, a pipeline
       is fitted on the rows at least ``horizon + 1`` days before the window, with flows up to
       the window's end only, and scores the window. Each fold's sampler takes the final fit's
       decision (resample or not, :func:`sampling_pinned`): the threshold must be chosen on
       the probability scale of the model that carries it.
    2. The threshold is chosen from all folds' scores by ``config.threshold_method``
       (:func:`~stockout_sk.evaluate.fold_threshold`); every fold's own cut is kept.
    3. The final pipeline is fitted on all of ``train`` with all flows (features stay point in
       time: a row dated t only reads flows of days ≤ t) and carries the chosen threshold.
    4. With ``threshold_method="expected"`` (the default) the cut is then chosen on ``morning``,
       the first morning list the model scores, and the folds' cut is kept on the record
       (:func:`~stockout_sk.training.morning.morning_threshold`).

    Parameters
    ----------
    train : DataFrame
        Training rows: the raw fields plus ``label`` (never the holdout).
    chain : ChainData
        Supplies ``flows`` and ``transfers`` for the history features.
    config : ModelConfig, optional
    checkpoint_dir : str or None
        Overrides ``config.checkpoint_dir`` for the final fit.
    windows : WindowPlan, optional
        The folds' sizes (:attr:`Prepared.windows`); by default planned from ``train``'s own
        as-of days (:func:`~stockout_sk.evaluate.plan_windows` without a holdout).
    morning : DataFrame, optional
        Raw rows of the morning list the model scores first (:attr:`Prepared.morning`: the
        holdout's first day). Without them ``"expected"`` keeps the folds' pooled cut and says
        so.

    Raises
    ------
    ValueError
        A single class in ``train``, too few days for one fold
        (:class:`~stockout_sk.evaluate.NotEnoughHistoryError`), or a fold without any flow
        (:class:`~stockout_sk.evaluate.InactiveWindowError`).
    """
    config = config or ModelConfig()
    if config.threshold_method not in THRESHOLD_METHODS:  # before any fit, not after the folds
        raise ValueError(
            f"ModelConfig.threshold_method must be one of {THRESHOLD_METHODS}, got "
            f"{config.threshold_method!r}"
        )
    if config.asof_stride > 1:
        train = train[thin_asof_days(train, config.asof_stride)]
        logger.info("asof_stride %d: training on %d rows", config.asof_stride, len(train))
    X, y = split_xy(train)
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"the training rows hold a single class ({np.unique(y).tolist()}); a classifier "
            "needs both. Use more history or check the labels"
        )
    dates = train["Date"].reset_index(drop=True)
    plan = windows or plan_windows(
        dates.nunique(),
        horizon=config.horizon,
        validation_days=config.validation_days,
        folds=config.threshold_folds,
        with_holdout=False,
    )
    folds = rolling_folds(
        dates,
        horizon=config.horizon,
        validation_days=plan.validation_days,
        folds=plan.folds,
        min_train_days=plan.min_train_days,
    )
    flows, transfers = chain.flows, chain.transfers
    applies = resampling_applies(
        y, minority_threshold=config.minority_threshold, ratio=config.sampling_ratio
    )
    scored: list[tuple[np.ndarray, np.ndarray]] = []
    spans: list[tuple[str, str]] = []
    for number, fold in enumerate(folds, start=1):
        name = f"threshold fold {number} of {len(folds)}"
        check_activity(name, fold.holdout_start, fold.holdout_end, flows["Date"])
        inner, valid = fold.train, fold.holdout
        if len(np.unique(y[inner])) < 2:
            logger.warning("%s skipped: its %d fitting rows hold one class", name, inner.sum())
            continue
        cutoff = fold.holdout_end
        logger.info(
            "%s: fit on %d rows up to %s, validate on %d rows %s..%s",
            name,
            inner.sum(),
            fold.train_end.date(),
            valid.sum(),
            fold.holdout_start.date(),
            cutoff.date(),
        )
        inner_pipeline = build_pipeline(
            sampling_pinned(config, y[inner], applies, name=name), checkpoint_dir=None
        )
        inner_pipeline.fit(
            X[inner],
            y[inner],
            history__flows=flows[flows["Date"] <= cutoff],
            history__transfers=transfers[transfers["Date"] <= cutoff],
        )
        scored.append((y[valid], inner_pipeline.predict_proba(X[valid])[:, 1]))
        spans.append((str(fold.holdout_start.date()), str(cutoff.date())))
    if not scored:
        raise ValueError(
            f"every threshold fold's fitting rows hold a single class ({len(folds)} fold(s) "
            f"before {dates.max().date()}); use a longer history or check the labels"
        )
    choice, validation = threshold_from_folds(scored, spans, fold_method(config))
    logger.info("%s", choice.describe())

    pipeline = build_pipeline(config, threshold=choice.threshold, checkpoint_dir=checkpoint_dir)
    pipeline.fit(X, y, history__flows=flows, history__transfers=transfers)
    fitted = FittedModel(
        pipeline=pipeline,
        threshold=choice.threshold,
        config=config,
        train_rows=len(X),
        validation=validation,
        windows=plan,
        fit_rows=fit_rows(dates, refit=False),
        fold_scores=scored,
    )
    return morning_threshold(fitted, morning)


def refit_on_all(
    fitted: FittedModel,
    frame: pd.DataFrame,
    chain,
    *,
    checkpoint_dir: str | None = "config",
    morning: pd.DataFrame | None = None,
) -> FittedModel:
    """The same pipeline fitted on every matured row, with the threshold the folds chose.

    What is deployed once the holdout has judged ``fitted``: the holdout and purge weeks are
    the freshest a chain has, and the gated model never saw them. Same settings, same
    threshold (chosen on the folds, never on the holdout) and the same sampling decision (the
    threshold is a cut on that model's probability scale; :func:`sampling_pinned`); only the
    rows differ. With ``threshold_method="expected"`` the cut is chosen afresh on ``morning``
    (the morning list it is deployed for, :func:`stockout_sk.labels.snapshot_rows`), never on
    a label.

    Parameters
    ----------
    fitted : FittedModel
        The model the holdout evaluated (its settings and threshold are kept).
    frame : DataFrame
        Every matured row (``Prepared.dataset.frame``).
    chain : ChainData
    checkpoint_dir : str or None
        Overrides ``config.checkpoint_dir``.
    morning : DataFrame, optional
        Raw rows of the morning list the refit scores first (``"expected"`` only).

    Returns
    -------
    FittedModel
        ``fit_rows["refit"]`` is true; ``validation`` and ``windows`` are ``fitted``'s (with the
        morning's cut, for ``"expected"``).
    """
    if fitted.config.asof_stride > 1:
        frame = frame[thin_asof_days(frame, fitted.config.asof_stride)]
    X, y = split_xy(frame)
    # The evaluated model's sampling decision, kept with its threshold (same scale).
    applies = bool(fitted.pipeline.named_steps["sampler"].applied_)
    pipeline = build_pipeline(
        sampling_pinned(fitted.config, y, applies, name="the refit"),
        threshold=fitted.threshold,
        checkpoint_dir=checkpoint_dir,
    )
    pipeline.fit(X, y, history__flows=chain.flows, history__transfers=chain.transfers)
    rows = fit_rows(frame["Date"], refit=True)
    logger.info(
        "refitted on every matured row: %d rows, as-of %s..%s (threshold %.4f kept)",
        rows["rows"],
        rows["start"],
        rows["end"],
        fitted.threshold,
    )
    refitted = FittedModel(
        pipeline=pipeline,
        threshold=fitted.threshold,
        config=fitted.config,
        train_rows=len(X),
        validation=fitted.validation,
        windows=fitted.windows,
        fit_rows=rows,
        fold_scores=fitted.fold_scores,
    )
    return morning_threshold(refitted, morning)


def threshold_from_folds(
    scored: list[tuple[np.ndarray, np.ndarray]], spans: list[tuple[str, str]], method: str
) -> tuple[FoldThreshold, dict]:
    """The threshold chosen on the folds' ``(labels, scores)``, and its record for the run.

    Parameters
    ----------
    scored : list of (labels, scores)
        Each scored fold's validation labels and probabilities, oldest first.
    spans : list of (str, str)
        Each fold's first and last validation day.
    method : str
        ``ModelConfig.threshold_method``.

    Returns
    -------
    (FoldThreshold, dict)
        The choice, and ``FittedModel.validation``: rows, positives, first and last day, the
        choice's own record, how many rows it flags (the gate refuses a threshold that flags
        almost every row or none) and its description.
    """
    labels = [y for y, _ in scored]
    scores = [p for _, p in scored]
    choice = fold_threshold(labels, scores, method=method, windows=spans)
    validation = {
        "rows": int(sum(len(y) for y in labels)),
        "positives": int(sum(y.sum() for y in labels)),
        "start": spans[0][0],
        "end": spans[-1][1],
        **choice.to_dict(),
        "flagged": int(sum((p >= choice.threshold).sum() for p in scores)),
        "description": choice.describe(),
    }
    return choice, validation


def fold_method(config: ModelConfig) -> str:
    """How the folds choose their cut: ``config.threshold_method``, or ``"pooled"`` under
    ``"expected"`` (the cut kept when no morning list is given, and recorded either way)."""
    method = config.threshold_method
    return "pooled" if method == EXPECTED else method


def sampling_pinned(config: ModelConfig, y, applies: bool, *, name: str = "a fit") -> ModelConfig:
    """``config`` with a sampler that takes the decision ``applies`` on the labels ``y``.

    Every fit of one training — the threshold folds, the final fit, the refit — resamples or
    not as the model that carries the threshold does. Resampling moves the probability scale,
    and the decision depends on the rows' positive share: on a chain whose share sits near
    ``config.minority_threshold`` the folds and the final fit could decide differently, and the
    threshold the folds chose would flag a very different share of rows in production
    (:func:`stockout_sk.sampling.minority_threshold_for`). The config is unchanged when the
    rows already give that decision.

    Parameters
    ----------
    config : ModelConfig
    y : array-like
        The labels this fit's sampler will see.
    applies : bool
        The decision to keep (the final fit's).
    name : str
        The fit, for the log.
    """
    value = minority_threshold_for(y, applies=applies, minority_threshold=config.minority_threshold)
    if value == config.minority_threshold:
        return config
    logger.info(
        "%s: %s as the final fit is (its rows' positive share %.3f alone would not be)",
        name,
        "resampled" if applies else "not resampled",
        float(np.mean(np.asarray(y) == 1)),
    )
    return config.with_overrides(minority_threshold=value)
