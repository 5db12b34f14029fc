"""The main job as a Prefect 3 flow.

ingest → validate → build-dataset → train → evaluate → register → promote → (when promoted)
refit on every matured row → register the refit as production. Each step is a task
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
from functools import partial
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.common import (
    DEFAULT_DATA_DIR,
    checked_parameters,
    configure_logging,
    ingest,
    run_main,
    run_with_startup_timeout,
)
from flows.refit import refit, register_deployed
from flows.run_summary import summary_markdown
from flows.steps import build_dataset, cluster_steps, evaluate, train, validate
from stockout_sk.config import Settings, load_csv_format
from stockout_sk.registry import (
    LoggedTraining,
    PromotionDecision,
    TrackingInfo,
    configure_tracking,
    decide_promotion,
    log_durations,
    log_training,
    recover_interrupted,
)
from stockout_sk.training import (
    TrainingResult,
    split_xy,
)

__all__ = ["DEFAULT_OUT_DIR", "run", "run_pipeline"]

SUMMARY_ARTIFACT_KEY = "run-pipeline-summary"
#: Local outputs of a run: ``ingest/``, ``evaluation/``, ``checkpoints/``.
DEFAULT_OUT_DIR = "artifacts/run"


@task(name="setup-tracking", cache_policy=NO_CACHE)
def setup_tracking(settings: Settings) -> tuple[TrackingInfo, float, list[str]]:
    """Open (and on first use create) the MLflow store, and put right what runs killed earlier
    left behind (:func:`~stockout_sk.registry.recover_interrupted`); runs alongside the data
    steps."""
    start = time.perf_counter()
    info = configure_tracking(settings)
    recovered = recover_interrupted(settings)
    return info, time.perf_counter() - start, recovered


@task(name="register", cache_policy=NO_CACHE)
def register(
    result: TrainingResult,
    chain_report: dict[str, Any],
    settings: Settings,
    data_dir: str,
    checkpoint_dir: str | None,
    timings: dict[str, float],
) -> LoggedTraining:
    """Log the run and register the model as a new version with alias ``staging``.

    ``checkpoint_dir`` is given only when the checkpoints were asked for (``log_checkpoints``).

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
        awaiting_gate=True,
    )


@task(name="promote", cache_policy=NO_CACHE)
def promote(
    logged: LoggedTraining, result: TrainingResult, settings: Settings
) -> PromotionDecision:
    """Apply the promotion gate (a sane threshold, F1 ≥ min_f1, beats both baselines, and not
    worse than production, all on the same holdout rows)."""
    X_holdout, y_holdout = split_xy(result.prepared.holdout)
    return decide_promotion(
        logged.version,
        result.report.model["f1"],
        X_holdout,
        y_holdout,
        settings,
        baselines={name: block["f1"] for name, block in result.report.baselines.items()},
        validation=result.fitted.validation,
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
    holdout_days: int | None = None,
    validation_days: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    chunksize: int = 100_000,
    log_checkpoints: bool = False,
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
    holdout_days, validation_days : int, optional
        The holdout and each threshold fold, in as-of days; default ``STOCKOUT_HOLDOUT_DAYS`` /
        ``STOCKOUT_VALIDATION_DAYS``, else sized from the history
        (:func:`stockout_sk.evaluate.plan_windows`).
    encoding, delimiter : str, optional
        The exports' encoding and delimiter (see :func:`flows.common.ingest`).
    chunksize : int
        CSV rows per chunk.
    log_checkpoints : bool
        Keep the final fit's LightGBM checkpoints and log them with the run (``checkpoints/``).
        By default a finished fit deletes them: they exist to resume an interrupted one.
    dask : str, optional
        Run ingestion, labels and the fit on a Dask cluster: a scheduler address or ``local``;
        default ``STOCKOUT_DASK_SCHEDULER``, unset: one process.

    Returns
    -------
    dict
        ``{"run_id", "model_name", "version", "metrics", "baselines", "decision", "reason",
        "aliases": {"production", "staging"}, "deployed", "min_f1", "run_link", "recovered",
        "timings", "windows", "threshold_folds"}`` — ``recovered`` lists what runs killed earlier
        had left and this run put right; ``metrics`` and ``baselines`` are the blocks of
        ``EvaluationReport.to_dict()`` (the evaluated version's holdout); ``deployed`` the
        refit registered after the gate passed (``RefitRegistration.to_dict()``, ``None``
        when the gate kept the version in staging or ``refit`` is off); ``timings`` the seconds
        per step; ``windows`` and ``threshold_folds`` what ``evaluate --json`` says of them.
    """
    log = get_run_logger()
    started = time.perf_counter()
    settings, config = checked_parameters(
        horizon=horizon,
        min_f1=min_f1,
        model_overrides=model_overrides,
        holdout_days=holdout_days,
        validation_days=validation_days,
        log_checkpoints=log_checkpoints,
        model_name=model_name,
        experiment=experiment,
        tracking_uri=tracking_uri,
    )
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
    on_cluster = None
    if address:
        log.info("running ingest, labels and fit on the Dask cluster %s", address)
        csv_format = load_csv_format(encoding=encoding, delimiter=delimiter)
        on_cluster = timed(
            "cluster", cluster_steps, address, data_dir, str(out), config, csv_format, chunksize
        )
        chain, prepared, fitted = on_cluster.chain, on_cluster.prepared, on_cluster.fitted
        timings.update(on_cluster.timings)
        chain_report = timed("validate", validate, chain)
    else:
        read = partial(
            ingest, horizon=horizon, encoding=encoding, delimiter=delimiter, chunksize=chunksize
        )
        chain = timed("ingest", read, data_dir, str(out))
        chain_report = timed("validate", validate, chain)
        prepared = timed("dataset", build_dataset, chain, config)
        fitted = timed("fit", train, prepared, chain, config, checkpoint_dir)
    log.info("%s", prepared.windows.reason)
    report = timed("evaluate", evaluate, fitted, prepared, str(out / "evaluation"))
    result = TrainingResult(fitted=fitted, report=report, prepared=prepared, timings=timings)

    wait_start = time.perf_counter()
    tracking, timings["tracking_setup"], recovered = tracking_future.result()
    for line in recovered:
        log.warning("left by an earlier run: %s", line)
    timings["tracking_wait"] = time.perf_counter() - wait_start
    logged = timed(
        "register",
        register,
        result,
        chain_report,
        settings,
        data_dir,
        checkpoint_dir if log_checkpoints else None,
        dict(timings),
    )
    decision = timed("promote", promote, logged, result, settings)
    deployed = None
    if decision.promoted and config.refit:
        if on_cluster is not None:  # fitted on the cluster with the rest, before the gate
            refitted = on_cluster.refitted
        else:
            refitted = timed("refit", refit, fitted, prepared, chain, checkpoint_dir)
        deployed = timed(
            "register_refit",
            register_deployed,
            logged,
            decision,
            result,
            refitted,
            settings,
            data_dir,
        )
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
        "aliases": deployed.aliases if deployed else decision.aliases,
        "deployed": deployed.to_dict() if deployed else None,
        "min_f1": decision.min_f1,
        "run_link": logged.run_link,
        "recovered": recovered,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "windows": result.to_dict()["windows"],
        "threshold_folds": result.to_dict()["threshold_folds"],
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
    parser.add_argument(
        "--holdout-days", type=int, default=None, help="holdout as-of days (default: sized)"
    )
    parser.add_argument(
        "--validation-days", type=int, default=None, help="threshold fold days (default: sized)"
    )
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
    log_file = configure_logging(args.out, "run-pipeline")

    def once() -> int:
        summary = run(
            data_dir=args.data,
            horizon=args.horizon,
            min_f1=args.min_f1,
            out_dir=args.out,
            model_name=args.model_name,
            experiment=args.experiment,
            holdout_days=args.holdout_days,
            validation_days=args.validation_days,
            dask=args.dask,
            model_overrides={"asof_stride": args.asof_stride} if args.asof_stride else None,
        )
        print(json.dumps(summary, allow_nan=False))
        return 0

    return run_main(once, log_file)


if __name__ == "__main__":
    raise SystemExit(main())
