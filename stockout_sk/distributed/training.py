"""Training on a Dask cluster: the same steps as :mod:`stockout_sk.training`, one model at the end.

On the partitions :func:`~stockout_sk.distributed.labelled.prepare_on_cluster` made,
:func:`fit_on_cluster` then fits as :func:`stockout_sk.training.fit_model` does: an inner fit per
purged rolling-origin fold chooses the threshold, the final fit uses every training row;
:func:`refit_on_cluster` is :func:`stockout_sk.training.refit_on_all` (every matured row). Each fit
computes the model matrix per partition on the workers (:func:`~.matrix.part_matrix`), trains
:class:`lightgbm.dask.DaskLGBMClassifier` on it where it lies, and puts its booster back into
the very imblearn Pipeline one process builds (:mod:`stockout_sk.distributed.assemble`).
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
import pandas as pd
from distributed import Client, Future, wait
from imblearn.pipeline import Pipeline

from stockout_sk.config import ModelConfig
from stockout_sk.contract import DATE, LABEL
from stockout_sk.distributed.assemble import assemble_pipeline, dask_classifier, local_model
from stockout_sk.distributed.labelled import ChainOnCluster, _context, prepare_on_cluster
from stockout_sk.distributed.matrix import (
    PartMatrix,
    RowWindow,
    SamplingPlan,
    part_counts,
    part_matrix,
)
from stockout_sk.evaluate import check_activity, plan_windows, rolling_folds
from stockout_sk.ingest import ChainData
from stockout_sk.labels import snapshot_rows
from stockout_sk.pipeline import build_pipeline, matrix_feature_names
from stockout_sk.sampling import resampling_applies
from stockout_sk.training import (
    FittedModel,
    Prepared,
    fit_rows,
    fold_method,
    morning_threshold,
    sampling_pinned,
    thin_asof_days,
    threshold_from_folds,
)

__all__ = ["ChainOnCluster", "fit_on_cluster", "prepare_on_cluster", "refit_on_cluster"]

logger = logging.getLogger(__name__)


def fit_on_cluster(
    client: Client,
    on_cluster: ChainOnCluster,
    prepared: Prepared,
    chain: ChainData,
    config: ModelConfig,
    *,
    time_out_minutes: int = 10,
    timings: dict[str, float] | None = None,
) -> FittedModel:
    """Fit the pipeline on the cluster, its threshold chosen on purged folds, as ``fit_model``.

    Parameters
    ----------
    client : distributed.Client
    on_cluster : ChainOnCluster
        From :func:`prepare_on_cluster`.
    prepared : Prepared
        Its labelled table, split and windows.
    chain : ChainData
        Supplies the chain-wide context of the history step.
    config : ModelConfig
    time_out_minutes : int
        LightGBM's network time-out (``time_out``): how long a worker waits for the others.
    timings : dict, optional
        Receives the seconds spent on the model matrices (``features``) and in LightGBM
        (``lightgbm``), summed over every fit.

    Returns
    -------
    FittedModel
        The one imblearn Pipeline, with the threshold chosen on the folds
        (:func:`~stockout_sk.evaluate.fold_threshold`, ``config.threshold_method``).
    """
    train = prepared.train
    stride = config.asof_stride
    if stride > 1:
        train = train[thin_asof_days(train, stride)]
    y_all = train[LABEL].to_numpy()
    if len(np.unique(y_all)) < 2:
        raise ValueError(
            f"the training rows hold a single class ({np.unique(y_all).tolist()}); a classifier "
            "needs both. Use more history or check the labels"
        )
    dates = train[DATE].reset_index(drop=True)
    plan = prepared.windows or plan_windows(
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
    template = build_pipeline(config, checkpoint_dir=None)
    applies = resampling_applies(
        y_all, minority_threshold=config.minority_threshold, ratio=config.sampling_ratio
    )
    timings = {} if timings is None else timings
    scored: list[tuple[np.ndarray, np.ndarray]] = []
    spans: list[tuple[str, str]] = []
    for number, fold in enumerate(folds, start=1):
        name = f"threshold fold {number} of {len(folds)}"
        check_activity(name, fold.holdout_start, fold.holdout_end, chain.flows[DATE])
        inner_rows = train[np.asarray(fold.train)]
        if inner_rows[LABEL].nunique() < 2:
            logger.warning("%s skipped: its %d fitting rows hold one class", name, len(inner_rows))
            continue
        logger.info("%s on the cluster: fit up to %s", name, fold.train_end.date())
        inner_fit = _fit_once(
            client,
            on_cluster,
            build_pipeline(
                sampling_pinned(config, inner_rows[LABEL].to_numpy(), applies, name=name),
                checkpoint_dir=None,
            ),
            chain,
            RowWindow(last=fold.cutoff, stride=stride),
            inner_rows,
            fold.holdout_end,
            time_out_minutes,
            RowWindow(first=fold.holdout_start, last=fold.holdout_end, stride=stride),
            timings,
        )
        proba, y_valid = _score_validation(client, inner_fit.parts, inner_fit.model)
        inner_fit.release()
        scored.append((y_valid, proba))
        spans.append((str(fold.holdout_start.date()), str(fold.holdout_end.date())))
    if not scored:
        raise ValueError(
            f"every threshold fold's fitting rows hold a single class ({len(folds)} fold(s)); "
            "use a longer history or check the labels"
        )
    choice, validation = threshold_from_folds(scored, spans, fold_method(config))
    logger.info("%s", choice.describe())
    pipeline = _final_fit(
        client,
        on_cluster,
        template,
        chain,
        RowWindow(last=prepared.split.cutoff, stride=stride),
        train,
        choice.threshold,
        time_out_minutes,
        timings,
    )
    fitted = FittedModel(
        pipeline=pipeline,
        threshold=choice.threshold,
        config=config,
        train_rows=len(train),
        validation=validation,
        windows=plan,
        fit_rows=fit_rows(train[DATE], refit=False),
        fold_scores=scored,
    )
    # The morning list is scored here, in this process: the pipeline is already local.
    return morning_threshold(fitted, prepared.morning)


def refit_on_cluster(
    client: Client,
    on_cluster: ChainOnCluster,
    fitted: FittedModel,
    prepared: Prepared,
    chain: ChainData,
    *,
    time_out_minutes: int = 10,
    timings: dict[str, float] | None = None,
) -> FittedModel:
    """:func:`stockout_sk.training.refit_on_all` on the cluster: every matured row, the same
    cut (or, under ``threshold_method="expected"``, the cut of the snapshot's morning list)."""
    frame = prepared.dataset.frame
    stride = fitted.config.asof_stride
    if stride > 1:
        frame = frame[thin_asof_days(frame, stride)]
    applies = bool(fitted.pipeline.named_steps["sampler"].applied_)
    template = build_pipeline(
        sampling_pinned(fitted.config, frame[LABEL].to_numpy(), applies, name="the refit"),
        checkpoint_dir=None,
    )
    pipeline = _final_fit(
        client,
        on_cluster,
        template,
        chain,
        RowWindow(last=frame[DATE].max(), stride=stride),
        frame,
        fitted.threshold,
        time_out_minutes,
        {} if timings is None else timings,
    )
    rows = fit_rows(frame[DATE], refit=True)
    logger.info("refitted on the cluster on every matured row: %d rows", rows["rows"])
    refitted = FittedModel(
        pipeline=pipeline,
        threshold=fitted.threshold,
        config=fitted.config,
        train_rows=len(frame),
        validation=fitted.validation,
        windows=fitted.windows,
        fit_rows=rows,
        fold_scores=fitted.fold_scores,
    )
    return morning_threshold(refitted, snapshot_rows(chain))


def _final_fit(
    client: Client,
    on_cluster: ChainOnCluster,
    template: Pipeline,
    chain: ChainData,
    window: RowWindow,
    rows: pd.DataFrame,
    threshold: float,
    time_out_minutes: int,
    timings: dict[str, float],
) -> Pipeline:
    """One fit on ``window`` with every flow, put back into the one imblearn Pipeline."""
    final = _fit_once(
        client, on_cluster, template, chain, window, rows, None, time_out_minutes, timings=timings
    )
    steps = client.gather(client.map(_steps, final.parts, pure=False))
    pipeline = assemble_pipeline(template, steps, final.model, threshold=threshold, plan=final.plan)
    final.release()
    return pipeline


@dataclass(eq=False)
class _Fit:
    parts: list[Future]
    model: object
    plan: SamplingPlan
    n_rows: int

    def release(self) -> None:
        for future in self.parts:
            future.release()


def _steps(part: PartMatrix) -> Pipeline:
    return part.steps


def _matrix(part: PartMatrix) -> np.ndarray:
    return part.matrix


def _labels(part: PartMatrix) -> np.ndarray:
    return part.y


def _n_rows(part: PartMatrix) -> int:
    return part.n_rows


def _fit_once(
    client: Client,
    on_cluster: ChainOnCluster,
    template: Pipeline,
    chain: ChainData,
    window: RowWindow,
    rows: pd.DataFrame,
    flows_until: pd.Timestamp | None,
    time_out_minutes: int,
    valid: RowWindow | None = None,
    timings: dict[str, float] | None = None,
) -> _Fit:
    """Sample, compute the matrices per partition, train DaskLGBMClassifier; its local model."""
    timings = {} if timings is None else timings
    started = time.perf_counter()
    counts = client.gather(client.map(part_counts, on_cluster.labelled, window=window, pure=False))
    plan = SamplingPlan.decide(np.sum(counts, axis=0), template.named_steps["sampler"])
    context = _context(chain, rows, flows_until)
    [context_future] = client.scatter([context], broadcast=True)
    feature_steps = Pipeline(template.steps[1:-1])
    parts = client.map(
        part_matrix,
        on_cluster.parts,
        on_cluster.labelled,
        feature_steps=feature_steps,
        context=context_future,
        window=window,
        plan=plan,
        flows_until=flows_until,
        valid=valid,
        pure=False,
    )
    wait(parts)
    sizes = client.gather(client.map(_n_rows, parts, pure=False))
    n_cols = len(matrix_feature_names(*(step for _, step in feature_steps.steps)))
    blocks_X, blocks_y = [], []
    for part, n in zip(parts, sizes, strict=True):
        if not n:
            continue
        matrix = client.submit(_matrix, part, pure=False)
        labels = client.submit(_labels, part, pure=False)
        blocks_X.append(da.from_delayed(dask.delayed(matrix), shape=(n, n_cols), dtype=np.float32))
        blocks_y.append(da.from_delayed(dask.delayed(labels), shape=(n,), dtype=np.int64))
    timings["features"] = timings.get("features", 0.0) + time.perf_counter() - started
    started = time.perf_counter()
    logger.info(
        "training LightGBM on %d rows in %d partitions (%s)",
        sum(sizes),
        len(blocks_X),
        "resampled" if plan.applied else "no resampling",
    )
    classifier = dask_classifier(template.named_steps["classifier"], client, time_out_minutes)
    with warnings.catch_warnings():
        # lightgbm.dask sets each worker's threads itself and says so for n_jobs, which every
        # LGBMClassifier has among its parameters (None here): nothing is lost.
        warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
        classifier.fit(da.concatenate(blocks_X), da.concatenate(blocks_y))
    timings["lightgbm"] = timings.get("lightgbm", 0.0) + time.perf_counter() - started
    return _Fit(parts=parts, model=local_model(classifier), plan=plan, n_rows=int(sum(sizes)))


def _predict_valid(part: PartMatrix, model) -> tuple[np.ndarray, np.ndarray]:
    if part.valid_y is None or not len(part.valid_y):
        return np.empty(0), np.empty(0, dtype=np.int64)
    return model.predict_proba(part.valid_matrix)[:, 1], part.valid_y


def _score_validation(client: Client, parts: list[Future], model) -> tuple[np.ndarray, np.ndarray]:
    """Validation probabilities computed where the rows lie; only the scores travel."""
    [model_future] = client.scatter([model], broadcast=True)
    scored = client.gather(client.map(_predict_valid, parts, model=model_future, pure=False))
    proba = np.concatenate([p for p, _ in scored])
    y = np.concatenate([y for _, y in scored]).astype(np.int64)
    return proba, y
