"""The main job as a Prefect 3 flow.

ingest → validate → build-dataset → train → evaluate → register → promote. Each step is a task
that calls one library function (:mod:`stockout_sk.ingest`, :mod:`stockout_sk.training`,
:mod:`stockout_sk.registry`); the flow only wires them and reports.

With no ``PREFECT_API_URL`` Prefect starts a temporary local server for the run (slow on a busy
machine: :func:`run` allows it :data:`~flows.common.EPHEMERAL_STARTUP_TIMEOUT_SECONDS`); with it
set, runs are recorded on that server. MLflow goes to ``MLFLOW_TRACKING_URI`` or the embedded
SQLite store in the working directory.

Run it::

    python -m flows.run_pipeline --data sample_data --out artifacts/run
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.common import (
    DEFAULT_DATA_DIR,
    configure_logging,
    flow_settings,
    ingest,
    run_with_startup_timeout,
)
from stockout_sk import distributed
from stockout_sk.config import ModelConfig, Settings
from stockout_sk.evaluate import METRIC_KEYS, EvaluationReport
from stockout_sk.ingest import ChainData
from stockout_sk.registry import (
    LoggedTraining,
    PromotionDecision,
    TrackingInfo,
    configure_tracking,
    decide_promotion,
    log_durations,
    log_training,
)
from stockout_sk.training import (
    FittedModel,
    Prepared,
    TrainingResult,
    evaluate_fitted,
    fit_model,
    prepare,
    split_xy,
)
from stockout_sk.vocabulary import Alias

__all__ = ["DEFAULT_OUT_DIR", "run", "run_pipeline"]

SUMMARY_ARTIFACT_KEY = "run-pipeline-summary"
#: Local outputs of a run: ``ingest/``, ``evaluation/``, ``checkpoints/``.
DEFAULT_OUT_DIR = "artifacts/run"


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
    return fit_model(prepared.train, chain, config, checkpoint_dir=checkpoint_dir)


@task(name="cluster-steps", cache_policy=NO_CACHE)
def cluster_steps(
    address: str, data_dir: str, out_dir: str, config: ModelConfig
) -> distributed.ClusterRun:
    """Ingest, label and fit on a Dask cluster, driven by this one task's ``distributed.Client``.

    Not Prefect's DaskTaskRunner: the flow keeps Prefect's default runner and this task holds
    the client, so only plain results (the chain, the table, the fitted pipeline) cross back.
    """
    return distributed.train_on_cluster(
        address, data_dir, config, ingest_out=Path(out_dir) / "ingest"
    )


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(fitted: FittedModel, prepared: Prepared, out_dir: str) -> EvaluationReport:
    """Holdout metrics of the model and both baselines; plots and summary under ``out_dir``."""
    return evaluate_fitted(fitted, prepared, out_dir=Path(out_dir))


@task(name="setup-tracking", cache_policy=NO_CACHE)
def setup_tracking(settings: Settings) -> tuple[TrackingInfo, float]:
    """Open (and on first use create) the MLflow store; runs alongside the data steps."""
    start = time.perf_counter()
    info = configure_tracking(settings)
    return info, time.perf_counter() - start


@task(name="register", cache_policy=NO_CACHE)
def register(
    result: TrainingResult,
    chain_report: dict[str, Any],
    settings: Settings,
    data_dir: str,
    checkpoint_dir: str,
    timings: dict[str, float],
) -> LoggedTraining:
    """Log the run and register the model as a new version with alias ``staging``.

    Not retried by Prefect: MLflow's REST client already retries transient HTTP errors, and a
    whole-task retry after registration would register a second version.
    """
    return log_training(
        result,
        chain_report,
        settings,
        data_dir=data_dir,
        checkpoint_dir=checkpoint_dir,
        timings=timings,
    )


@task(name="promote", cache_policy=NO_CACHE)
def promote(
    logged: LoggedTraining, result: TrainingResult, settings: Settings
) -> PromotionDecision:
    """Apply the promotion gate (F1 ≥ min_f1 and not worse than production on the same rows)."""
    X_holdout, y_holdout = split_xy(result.prepared.holdout)
    return decide_promotion(
        logged.version,
        result.report.model["f1"],
        X_holdout,
        y_holdout,
        settings,
    )


@flow(name="run-pipeline", log_prints=False)
def run_pipeline(
    data_dir: str = DEFAULT_DATA_DIR,
    horizon: int = 7,
    model_name: str | None = None,
    experiment: str | None = None,
    min_f1: float | None = None,
    out_dir: str = DEFAULT_OUT_DIR,
    model_overrides: dict[str, Any] | None = None,
    tracking_uri: str | None = None,
    dask: str | None = None,
) -> dict[str, Any]:
    """Train, evaluate, register and (maybe) promote a stock-out model from six CSV exports.

    Parameters
    ----------
    data_dir : str
        Folder with the six CSV files.
    horizon : int
        N, days ahead the label looks.
    model_name, experiment : str, optional
        Registered model and MLflow experiment; default from the environment
        (``STOCKOUT_MODEL_NAME``, ``STOCKOUT_EXPERIMENT``) or ``stockout-classifier`` /
        ``stockout-training``.
    min_f1 : float, optional
        Promotion gate on holdout F1; default ``STOCKOUT_MIN_F1`` or 0.7.
    out_dir : str
        Local outputs: ``ingest/`` (rejects, validation report), ``evaluation/`` (plots,
        summary), ``checkpoints/``.
    model_overrides : dict, optional
        :class:`~stockout_sk.config.ModelConfig` fields to change, e.g. ``{"n_estimators": 60}``.
    tracking_uri : str, optional
        MLflow store; default ``MLFLOW_TRACKING_URI`` or SQLite in the working directory.
    dask : str, optional
        Run ingestion, labels and the fit on a Dask cluster: a scheduler address or ``local``;
        default ``STOCKOUT_DASK_SCHEDULER``, unset: one process.

    Returns
    -------
    dict
        ``{"run_id", "model_name", "version", "metrics", "baselines", "decision", "reason",
        "aliases": {"production", "staging"}, "min_f1", "run_link", "timings"}`` — ``metrics``
        and ``baselines`` are the blocks of ``EvaluationReport.to_dict()``; ``timings`` the
        seconds per step.
    """
    log = get_run_logger()
    started = time.perf_counter()
    settings = flow_settings(
        model_name=model_name,
        experiment=experiment,
        min_f1=None if min_f1 is None else float(min_f1),
        tracking_uri=tracking_uri,
    )
    overrides = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in (model_overrides or {}).items()
    }
    config = ModelConfig().with_overrides(**{**overrides, "horizon": horizon})
    out = Path(out_dir)
    checkpoint_dir = str(out / "checkpoints")
    timings: dict[str, float] = {}

    # The MLflow store is opened in the background: creating a new SQLite store takes seconds.
    tracking_future = setup_tracking.submit(settings)

    def timed(step: str, fn, *args):
        start = time.perf_counter()
        value = fn(*args)
        timings[step] = time.perf_counter() - start
        return value

    address = dask or settings.dask_scheduler
    if address:
        log.info("running ingest, labels and fit on the Dask cluster %s", address)
        on_cluster = timed("cluster", cluster_steps, address, data_dir, str(out), config)
        chain, prepared, fitted = on_cluster.chain, on_cluster.prepared, on_cluster.fitted
        timings.update(on_cluster.timings)
        chain_report = timed("validate", validate, chain)
    else:
        chain = timed("ingest", ingest, data_dir, str(out))
        chain_report = timed("validate", validate, chain)
        prepared = timed("dataset", build_dataset, chain, config)
        fitted = timed("fit", train, prepared, chain, config, checkpoint_dir)
    report = timed("evaluate", evaluate, fitted, prepared, str(out / "evaluation"))
    result = TrainingResult(fitted=fitted, report=report, prepared=prepared, timings=timings)

    wait_start = time.perf_counter()
    tracking, timings["tracking_setup"] = tracking_future.result()
    timings["tracking_wait"] = time.perf_counter() - wait_start
    logged = timed(
        "register",
        register,
        result,
        chain_report,
        settings,
        data_dir,
        checkpoint_dir,
        dict(timings),
    )
    decision = timed("promote", promote, logged, result, settings)
    timings["flow_body"] = time.perf_counter() - started
    log_durations(
        logged.run_id,
        {k: timings[k] for k in ("register", "promote", "flow_body")},
        settings,
    )

    evaluation = report.to_dict()
    summary = {
        "run_id": logged.run_id,
        "model_name": logged.model_name,
        "version": logged.version,
        "metrics": evaluation["model"],
        "baselines": evaluation["baselines"],
        "decision": decision.decision,
        "reason": decision.reason,
        "aliases": decision.aliases,
        "min_f1": decision.min_f1,
        "run_link": logged.run_link,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    create_markdown_artifact(
        markdown=summary_markdown(summary, tracking, evaluation),
        key=SUMMARY_ARTIFACT_KEY,
        description=f"{logged.model_name} v{logged.version}: {decision.decision}",
    )
    log.info(
        "%s version %s: %s (%s)",
        logged.model_name,
        logged.version,
        decision.decision,
        decision.reason,
    )
    return summary


def summary_markdown(
    summary: dict[str, Any], tracking: TrackingInfo, evaluation: dict[str, Any]
) -> str:
    """The run summary a person reads in the Prefect UI."""

    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    header = "| | " + " | ".join(METRIC_KEYS) + " |"
    lines = [
        f"# {summary['model_name']} version {summary['version']}: **{summary['decision']}**",
        "",
        f"*Reason:* {summary['reason']}",
        "",
        "## Holdout metrics",
        "",
        header,
        "|---|" + "---:|" * len(METRIC_KEYS),
        "| model | " + " | ".join(fmt(summary["metrics"][k]) for k in METRIC_KEYS) + " |",
    ]
    for name, block in summary["baselines"].items():
        lines.append(
            f"| {name} baseline | " + " | ".join(fmt(block[k]) for k in METRIC_KEYS) + " |"
        )
    rows = evaluation.get("rows", {})
    aliases = summary["aliases"]
    lines += [
        "",
        f"* Rows: train {rows.get('train')}, holdout {rows.get('holdout')} "
        f"(positive rate {fmt(evaluation.get('positive_rate'))}).",
        f"* Gate: F1 ≥ {summary['min_f1']:.3f} and not worse than production re-scored on the "
        "same holdout.",
        f"* Aliases now: {Alias.PRODUCTION} → {aliases.get(Alias.PRODUCTION)}, "
        f"{Alias.STAGING} → {aliases.get(Alias.STAGING)}.",
        f"* MLflow: {summary['run_link']} (experiment `{tracking.experiment}`).",
        "",
        "## Step times (s)",
        "",
        "| step | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {step} | {seconds:.2f} |" for step, seconds in summary["timings"].items()]
    return "\n".join(lines) + "\n"


def run(**parameters: Any) -> dict[str, Any]:
    """Run :func:`run_pipeline` with the start-up timeout (see :func:`run_with_startup_timeout`).

    Returns
    -------
    dict
        The flow's summary.
    """
    return run_with_startup_timeout(run_pipeline, **parameters)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the flow once and print its summary as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA_DIR, help="folder with the six CSV files")
    parser.add_argument("--horizon", type=int, default=7, help="days ahead (default 7)")
    parser.add_argument("--min-f1", type=float, default=None, help="promotion gate (default 0.7)")
    parser.add_argument("--out", default=DEFAULT_OUT_DIR, help="local output folder")
    parser.add_argument("--model-name", default=None)
    parser.add_argument("--experiment", default=None)
    parser.add_argument(
        "--dask", default=None, help="Dask scheduler address or 'local' (STOCKOUT_DASK_SCHEDULER)"
    )
    parser.add_argument(
        "--asof-stride", type=int, default=None, help="train on every K-th as-of day per key"
    )
    args = parser.parse_args(argv)
    configure_logging()
    summary = run(
        data_dir=args.data,
        horizon=args.horizon,
        min_f1=args.min_f1,
        out_dir=args.out,
        model_name=args.model_name,
        experiment=args.experiment,
        dask=args.dask,
        model_overrides={"asof_stride": args.asof_stride} if args.asof_stride else None,
    )
    print(json.dumps(summary, allow_nan=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
