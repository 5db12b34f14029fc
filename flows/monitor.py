"""Monitoring (CME) as a Prefect 3 flow: ingest → load model and reference → assess → respond.

Each step is a task calling one function of :mod:`stockout_sk.monitoring` (or ingestion / the
registry); the flow wires them and leaves a Markdown summary in the Prefect UI. ``respond`` turns an
``act`` verdict into a rollback (or, with no previous production version, the rule-baseline
switch the API polls), writes the HTML report and logs the run to the MLflow experiment
``stockout-monitoring``; ``dry_run=True`` decides and reports without touching the registry or
logging a run (``log_dry_run=True`` logs one, tagged as a dry run).

Run it once::

    python -m flows.monitor --data exports/latest --dry-run

Schedule it next to the daily retrain with ``python -m flows.deploy --monitor-cron "0 6 * * *"``.
"""

from __future__ import annotations

import argparse
import json
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
    run_main,
    run_with_startup_timeout,
)
from stockout_sk.config import Settings
from stockout_sk.ingest import ChainData
from stockout_sk.monitoring import (
    ModelReference,
    MonitoringConfig,
    MonitoringReport,
    assess,
    load_reference,
)
from stockout_sk.monitoring import respond as respond_to
from stockout_sk.registry import ProductionModel, load_production

__all__ = ["monitor", "run"]

SUMMARY_ARTIFACT_KEY = "monitoring"


@task(name="load-model", cache_policy=NO_CACHE)
def load_model(settings: Settings) -> ProductionModel:
    """The version holding ``production`` (what the API serves)."""
    return load_production(settings)


@task(name="load-reference", cache_policy=NO_CACHE)
def reference(model: ProductionModel, settings: Settings) -> ModelReference:
    """The model's reference distributions, from its training run."""
    return load_reference(model, settings)


@task(name="assess", cache_policy=NO_CACHE)
def assess_model(
    chain: ChainData,
    model: ProductionModel,
    ref: ModelReference,
    config: MonitoringConfig,
    data_dir: str,
) -> MonitoringReport:
    """Rolling evaluation and drift on the matured rows, scored as the API would."""
    return assess(chain, model, ref, config, data_source=data_dir)


@task(name="respond", cache_policy=NO_CACHE)
def respond(
    report: MonitoringReport,
    settings: Settings,
    dry_run: bool,
    out_dir: str | None,
    log_dry_run: bool = False,
) -> MonitoringReport:
    """Roll back or fall back on an act verdict (unless dry run); write and log the report.

    Not retried: an action must not be applied twice (it is idempotent, but a retry after a
    partial failure would log a second run for one decision).
    """
    log = True if dry_run and log_dry_run else None
    return respond_to(report, settings, dry_run=dry_run, out_dir=out_dir, log_to_mlflow=log)


@flow(name="monitor", log_prints=False)
def monitor(
    data_dir: str = DEFAULT_DATA_DIR,
    dry_run: bool = False,
    out_dir: str | None = None,
    model_name: str | None = None,
    tracking_uri: str | None = None,
    window_days: int = 7,
    log_dry_run: bool = False,
) -> dict[str, Any]:
    """Judge the production model on a later period and act on a breach.

    Parameters
    ----------
    data_dir : str
        Folder with the six CSV files of the new period.
    dry_run : bool
        Decide and report; change nothing in the registry, log no MLflow run.
    out_dir : str, optional
        Folder of the HTML report; default ``artifacts/monitoring/<UTC time>-v<version>``.
    model_name, tracking_uri : str, optional
        Registered model and MLflow store; default from the environment
        (``STOCKOUT_MODEL_NAME``, ``MLFLOW_TRACKING_URI``).
    window_days : int
        As-of days per rolling window; the other thresholds are
        :class:`~stockout_sk.monitoring.MonitoringConfig` defaults.
    log_dry_run : bool
        With ``dry_run``, still log the run to MLflow (tagged as a dry run).

    Returns
    -------
    dict
        :meth:`MonitoringReport.summary` (``decision``, ``action``, ``reasons``, ``psi``, ``kl``,
        ``rolling``, ``report``, …).
    """
    log = get_run_logger()
    settings = flow_settings(model_name=model_name, tracking_uri=tracking_uri)
    config = MonitoringConfig(window_days=window_days)
    model_future = load_model.submit(settings)
    chain = ingest(data_dir)
    model = model_future.result()
    ref = reference(model, settings)
    report = assess_model(chain, model, ref, config, data_dir)
    report = respond(report, settings, dry_run, out_dir, log_dry_run)
    summary = report.summary()
    create_markdown_artifact(
        markdown=summary_markdown(report),
        key=SUMMARY_ARTIFACT_KEY,
        description=f"{report.model_name} v{report.model_version}: {report.decision}",
    )
    log.info(
        "%s version %s: decision %s, action %s (%s); report %s",
        report.model_name,
        report.model_version,
        report.decision,
        report.action,
        report.action_detail,
        report.report_path,
    )
    return summary


def summary_markdown(report: MonitoringReport) -> str:
    """Decision, reasons and the drift table as Markdown, for the Prefect UI."""

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    data = report.data
    lines = [
        f"# {report.model_name} version {report.model_version}: **{report.decision}**",
        "",
        f"* Data: `{data['source']}`, as-of {data['first_asof']} … {data['last_asof']}, "
        f"{data['rows']:,} rows with matured labels",
        f"* Action: **{report.action}** — {report.action_detail}"
        + (" (dry run)" if report.dry_run else ""),
        f"* Report: `{report.report_path}`; MLflow run `{report.mlflow_run_id}`",
        "",
        "## Reasons",
        "",
        *[f"* {reason}" for reason in report.reasons],
        "",
        "## Drift",
        "",
        "| variable | reference | PSI | KL | status |",
        "|---|---|---:|---:|---|",
        *[
            f"| {d.name} | {d.reference} | {fmt(d.psi)} | {fmt(d.kl)} | {d.status} |"
            for d in report.drift
        ],
    ]
    if report.rolling:
        latest = report.rolling[-1]
        lines += [
            "",
            f"Latest window {latest.window_start} … {latest.window_end}: F1 {latest.f1:.3f} "
            f"(rule {latest.rule_f1:.3f}, holdout {fmt(report.holdout_f1)}).",
        ]
    return "\n".join(lines) + "\n"


def run(**parameters: Any) -> dict[str, Any]:
    """Run the flow with the start-up timeout Prefect's temporary server needs."""
    return run_with_startup_timeout(monitor, **parameters)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the flow once and print its summary as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA_DIR, help="folder with the six CSV files")
    parser.add_argument("--dry-run", action="store_true", help="change nothing in the registry")
    parser.add_argument("--out", default=None, help="folder of the HTML report")
    parser.add_argument("--model-name", default=None)
    parser.add_argument("--window-days", type=int, default=7, help="days per rolling window")
    args = parser.parse_args(argv)
    log_file = configure_logging(args.out, "monitor") if args.out else configure_logging()

    def once() -> int:
        summary = run(
            data_dir=args.data,
            dry_run=args.dry_run,
            out_dir=None if args.out is None else str(Path(args.out)),
            model_name=args.model_name,
            window_days=args.window_days,
        )
        print(json.dumps(summary, allow_nan=False, default=str))
        return 0

    return run_main(once, log_file)


if __name__ == "__main__":
    raise SystemExit(main())
