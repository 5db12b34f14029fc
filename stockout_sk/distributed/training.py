"""Training on a Dask cluster: the same steps as :mod:`stockout_sk.training`, one model at the end.

:func:`prepare_on_cluster` cuts the chain into partitions of whole branches and builds each
partition's labelled table on the workers (``labels.build_dataset`` as is); the tables are
gathered in the order one process writes them and split by time on the client.
:func:`fit_on_cluster` then fits as :func:`stockout_sk.training.fit_model` does: an inner fit up
to a validation window chooses the threshold, the final fit uses every training row. Each fit
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
from stockout_sk.contract import DATE, ITEM_CODE, LABEL
from stockout_sk.distributed.assemble import assemble_pipeline, dask_classifier, local_model
from stockout_sk.distributed.matrix import (
    PartMatrix,
    RowWindow,
    SamplingPlan,
    part_counts,
    part_matrix,
)
from stockout_sk.distributed.parts import ChainPart, split_chain
from stockout_sk.evaluate import choose_threshold, time_split, validation_split
from stockout_sk.features import ChainContext, chain_context
from stockout_sk.features.calendar import to_day_numbers
from stockout_sk.ingest import ChainData
from stockout_sk.labels import LabelledDataset
from stockout_sk.pipeline import build_pipeline, matrix_feature_names
from stockout_sk.training import FittedModel, Prepared, thin_asof_days

__all__ = ["ChainOnCluster", "fit_on_cluster", "prepare_on_cluster"]

logger = logging.getLogger(__name__)

#: Branch×item keys per partition by default: the label panel and the history of a partition
#: (keys × days float64 arrays) then stay in the hundreds of MB on a year of history.
KEYS_PER_PARTITION = 5_000


@dataclass(eq=False)
class ChainOnCluster:
    """The partitions of a chain and their labelled tables, held by the workers."""

    parts: list[Future]
    labelled: list[Future]
    n_parts: int


def _labelled(part: ChainPart, horizon: int) -> LabelledDataset:
    return part.labelled(horizon)


def _frame(dataset: LabelledDataset) -> pd.DataFrame:
    return dataset.frame


def default_parts(chain: ChainData, client: Client) -> int:
    """Partitions for ``chain``: about :data:`KEYS_PER_PARTITION` keys each, two per worker at
    least (so a slow worker does not hold everyone up)."""
    workers = len(client.scheduler_info(n_workers=-1)["workers"])
    by_keys = -(-len(chain.stock_current) // KEYS_PER_PARTITION)
    return max(2 * workers, by_keys, 1)


def prepare_on_cluster(
    client: Client, chain: ChainData, config: ModelConfig, *, n_parts: int | None = None
) -> tuple[Prepared, ChainOnCluster]:
    """Labelled table per partition on the workers, gathered and split by time.

    Returns
    -------
    (Prepared, ChainOnCluster)
        The table and its split, identical to :func:`stockout_sk.training.prepare`'s; and the
        partitions with their tables, kept on the workers for :func:`fit_on_cluster`.
    """
    n_parts = n_parts or default_parts(chain, client)
    parts = client.scatter(split_chain(chain, n_parts))
    datasets = client.map(_labelled, parts, horizon=config.horizon, pure=False)
    labelled = client.map(_frame, datasets, pure=False)
    gathered = client.gather(datasets)
    # Each partition's rows are in (Date, BranchID, ItemCode) order and partitions follow the
    # branch order: a stable sort on Date alone gives one process's order.
    # A partition of external IDs only (a warehouse) has no snapshot row, hence no labelled row.
    frames = [d.frame for d in gathered if len(d.frame)] or [gathered[0].frame]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values(DATE, kind="stable", ignore_index=True)
    dataset = LabelledDataset(
        frame=frame, horizon=config.horizon, report=_merged_report(gathered, frame)
    )
    for future in datasets:
        future.release()
    split = time_split(frame[DATE], horizon=config.horizon, holdout_days=config.holdout_days)
    logger.info("labelled %d rows in %d partitions on the cluster", len(frame), len(parts))
    return Prepared(dataset=dataset, split=split), ChainOnCluster(parts, labelled, len(parts))


def _merged_report(parts: list[LabelledDataset], frame: pd.DataFrame) -> dict:
    """The report one process writes, from the partitions' reports."""
    reports = [p.report for p in parts]
    first = max(reports, key=lambda r: r["asof_days"])
    summed = ("keys", "negative_stock_cells", "negative_stock_keys", "flow_rows_outside_snapshot")
    report = dict(first)
    report.update({key: int(sum(r[key] for r in reports)) for key in summed})
    report["rows"] = len(frame)
    report["positive_rate"] = float(frame[LABEL].mean()) if len(frame) else 0.0
    return report


def _context(chain: ChainData, rows: pd.DataFrame, until: pd.Timestamp | None) -> ChainContext:
    """The chain context of a fit on ``rows`` with the flows up to ``until``."""
    flows = chain.flows if until is None else chain.flows[chain.flows[DATE] <= until]
    days = np.concatenate([to_day_numbers(flows[DATE]), to_day_numbers(rows[DATE])])
    days = days[~np.isnan(days)]
    start, last = int(days.min()), int(days.max())
    return chain_context(
        flows.groupby(DATE)["inflow"].sum(),
        flows.groupby([ITEM_CODE, DATE], as_index=False)["sold"].sum(),
        np.concatenate([flows[ITEM_CODE].unique(), rows[ITEM_CODE].unique()]),
        start=start,
        n_days=last - start + 1,
    )


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
    """Fit the pipeline on the cluster and choose its threshold, as ``fit_model`` does.

    Parameters
    ----------
    client : distributed.Client
    on_cluster : ChainOnCluster
        From :func:`prepare_on_cluster`.
    prepared : Prepared
        Its labelled table and split.
    chain : ChainData
        Supplies the chain-wide context of the history step.
    config : ModelConfig
    time_out_minutes : int
        LightGBM's network time-out (``time_out``): how long a worker waits for the others.
    timings : dict, optional
        Receives the seconds spent on the model matrices (``features``) and in LightGBM
        (``lightgbm``), summed over both fits.

    Returns
    -------
    FittedModel
        The one imblearn Pipeline, with the threshold chosen on the validation window.
    """
    train = prepared.train
    if config.asof_stride > 1:
        train = train[thin_asof_days(train, config.asof_stride)]
    y_all = train[LABEL].to_numpy()
    if len(np.unique(y_all)) < 2:
        raise ValueError(
            f"the training rows hold a single class ({np.unique(y_all).tolist()}); a classifier "
            "needs both. Use more history or check the labels"
        )
    split = validation_split(
        train[DATE], horizon=config.horizon, validation_days=config.validation_days
    )
    cutoff = train[DATE].to_numpy()[np.asarray(split.holdout)].max()
    cutoff = pd.Timestamp(cutoff)
    stride = config.asof_stride
    last_train = prepared.split.cutoff
    inner = RowWindow(last=split.cutoff, stride=stride)
    valid = RowWindow(first=split.holdout_start, last=last_train, stride=stride)
    template = build_pipeline(config, checkpoint_dir=None)

    logger.info("choosing the threshold on the cluster: inner fit up to %s", cutoff.date())
    inner_rows = train[np.asarray(split.train)]
    timings = {} if timings is None else timings
    inner_fit = _fit_once(
        client,
        on_cluster,
        template,
        chain,
        inner,
        inner_rows,
        cutoff,
        time_out_minutes,
        valid,
        timings,
    )
    proba, y_valid = _score_validation(client, inner_fit.parts, inner_fit.model)
    threshold = float(choose_threshold(y_valid, proba))
    validation = {
        "rows": len(y_valid),
        "positives": int(y_valid.sum()),
        "start": str(split.holdout_start.date()),
        "end": str(cutoff.date()),
        "threshold": threshold,
    }
    logger.info("threshold %.4f chosen on %d validation rows", threshold, len(y_valid))
    inner_fit.release()

    final = _fit_once(
        client,
        on_cluster,
        template,
        chain,
        RowWindow(last=last_train, stride=stride),
        train,
        None,
        time_out_minutes,
        timings=timings,
    )
    steps = client.gather(client.map(_steps, final.parts, pure=False))
    pipeline = assemble_pipeline(template, steps, final.model, threshold=threshold, plan=final.plan)
    final.release()
    return FittedModel(
        pipeline=pipeline,
        threshold=threshold,
        config=config,
        train_rows=len(train),
        validation=validation,
    )


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
