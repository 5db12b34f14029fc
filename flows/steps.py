"""The main job's data steps as Prefect tasks: validate, labels and split, fit (in one process
or on a Dask cluster), evaluate. :mod:`flows.run_pipeline` wires them with the registry steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from stockout_sk import distributed
from stockout_sk.config import CsvFormat, ModelConfig
from stockout_sk.evaluate import EvaluationReport
from stockout_sk.ingest import ChainData
from stockout_sk.training import FittedModel, Prepared, evaluate_fitted, fit_model, prepare

__all__ = ["build_dataset", "cluster_steps", "evaluate", "train", "validate"]


@task(name="validate", cache_policy=NO_CACHE)
def validate(chain: ChainData) -> dict[str, Any]:
    """Check that every input row was accepted or quarantined, and report what was rejected."""
    log = get_run_logger()
    report = chain.report
    if not report.reconciled:
        broken = {
            f.file: {"read": f.read, "accepted": f.accepted, "rejected": f.rejected}
            for f in report.files.values()
            if not f.reconciled
        }
        raise ValueError(
            f"ingestion lost rows: read != accepted + rejected for {broken}; this is a bug in "
            "stockout_sk.ingest — report it with the input files"
        )
    log.info("validation report:\n%s", report.format())
    rejected = sum(f.rejected for f in report.files.values())
    if rejected:
        log.warning("%d row(s) were quarantined; see the rejects files and the report", rejected)
    return report.to_dict()


@task(name="build-dataset", cache_policy=NO_CACHE)
def build_dataset(chain: ChainData, config: ModelConfig) -> Prepared:
    """Point-in-time labels and the purged time split."""
    return prepare(chain, config)


@task(name="train", cache_policy=NO_CACHE)
def train(
    prepared: Prepared, chain: ChainData, config: ModelConfig, checkpoint_dir: str
) -> FittedModel:
    """Fit the pipeline (threshold chosen on training-side validation), checkpointing LightGBM."""
    return fit_model(
        prepared.train, chain, config, checkpoint_dir=checkpoint_dir, morning=prepared.morning
    )


@task(name="cluster-steps", cache_policy=NO_CACHE)
def cluster_steps(
    address: str,
    data_dir: str,
    out_dir: str,
    config: ModelConfig,
    csv_format: CsvFormat | None = None,
    chunksize: int = 100_000,
) -> distributed.ClusterRun:
    """Ingest, label and fit on a Dask cluster, driven by this one task's ``distributed.Client``.

    Not Prefect's DaskTaskRunner: the flow keeps Prefect's default runner and this task holds
    the client, so only plain results (the chain, the table, the fitted pipeline) cross back.
    ``csv_format`` and ``chunksize``: as for :func:`flows.common.ingest`.
    """
    return distributed.train_on_cluster(
        address,
        data_dir,
        config,
        ingest_out=Path(out_dir) / "ingest",
        refit=True,
        csv_format=csv_format,
        chunksize=chunksize,
    )


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(fitted: FittedModel, prepared: Prepared, out_dir: str) -> EvaluationReport:
    """Holdout metrics of the model and both baselines; plots and summary under ``out_dir``."""
    return evaluate_fitted(fitted, prepared, out_dir=Path(out_dir))
