"""Serve the ``run-pipeline`` flow on a schedule (default: every day at 05:00).

This process stays in the foreground, registers a deployment with the Prefect server and runs the
flow whenever the schedule (or a person) asks for it. It needs a Prefect server that outlives it,
so point ``PREFECT_API_URL`` at one first::

    prefect server start                                   # terminal 1 (or docker compose)
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    python -m flows.deploy --data sample_data --cron "0 5 * * *"   # terminal 2

Trigger a run now, from any shell with the same ``PREFECT_API_URL``::

    prefect deployment run 'run-pipeline/stockout-daily'

(``--name`` changes the part after the slash; ``--param key=value`` overrides a parameter for one
run, e.g. ``prefect deployment run 'run-pipeline/stockout-daily' --param min_f1=0.8``.)

With ``--score-cron`` the same process also serves the ``score`` flow (the morning list, see
``flows/score.py``) on its own schedule, e.g. half an hour after the retrain::

    python -m flows.deploy --data sample_data --score-cron "30 5 * * *"
    prefect deployment run 'score/stockout-morning-list'      # trigger it now

With ``--monitor-cron`` it also serves the ``monitor`` flow (monitoring: rolling evaluation, drift,
rollback or rule-baseline fallback, see ``flows/monitor.py``) on the latest exports, e.g. before
the retrain so the model is judged on data it has not seen::

    python -m flows.deploy --data exports/latest --monitor-cron "30 4 * * *"
    prefect deployment run 'monitor/stockout-monitoring'      # trigger it now

The flow writes to ``MLFLOW_TRACKING_URI`` (default: SQLite in this process's working directory).
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from prefect import serve
from prefect.schedules import Cron

from flows.common import DEFAULT_DATA_DIR, checked_parameters, configure_logging
from flows.monitor import monitor
from flows.run_pipeline import DEFAULT_OUT_DIR, run_pipeline
from flows.score import DEFAULT_OUT, score
from stockout_sk.config import DEFAULT_EXPERIMENT, DEFAULT_MODEL_NAME, Schedules, load_schedules

__all__ = [
    "build_parser",
    "deployment_parameters",
    "main",
    "monitor_parameters",
    "score_parameters",
]

DEFAULT_DEPLOYMENT = "stockout-daily"
DEFAULT_CRON = Schedules.train
SCORE_DEPLOYMENT = "stockout-morning-list"
MONITOR_DEPLOYMENT = "stockout-monitoring"
#: Tags of every deployment this process serves.
TAGS = ["stockout-sk"]
DAILY_DESCRIPTION = "Daily retrain: ingest, train, evaluate, register, promote."

logger = logging.getLogger("flows.deploy")


def deployment_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The flow parameters the deployment runs with (each can be overridden per run)."""
    return {
        "data_dir": args.data,
        "horizon": args.horizon,
        "model_name": args.model_name,
        "experiment": args.experiment,
        "min_f1": args.min_f1,
        "out_dir": args.out,
        # Unset: sized from each day's history (or STOCKOUT_HOLDOUT_DAYS / _VALIDATION_DAYS).
        **{
            name: getattr(args, name)
            for name in ("holdout_days", "validation_days")
            if getattr(args, name) is not None
        },
    }


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of ``python -m flows.deploy`` (cron defaults from the environment)."""
    schedules = load_schedules()
    parser = argparse.ArgumentParser(
        prog="python -m flows.deploy",
        description="Serve the run-pipeline flow on a cron schedule against a Prefect server.",
        epilog="Trigger a run: prefect deployment run 'run-pipeline/<name>'",
    )
    parser.add_argument(
        "--name",
        default=DEFAULT_DEPLOYMENT,
        help=f"deployment name (default {DEFAULT_DEPLOYMENT!r})",
    )
    parser.add_argument(
        "--cron",
        default=schedules.train,
        help=f"cron schedule (default STOCKOUT_CRON or {DEFAULT_CRON!r}: daily at 05:00)",
    )
    parser.add_argument(
        "--timezone",
        default=None,
        help="IANA time zone of the cron schedule (default UTC)",
    )
    parser.add_argument("--data", default=DEFAULT_DATA_DIR, help="folder with the six CSV files")
    parser.add_argument("--horizon", type=int, default=7, help="days ahead (default 7)")
    parser.add_argument(
        "--min-f1", type=float, default=None, help="promotion gate (default STOCKOUT_MIN_F1 or 0.7)"
    )
    parser.add_argument(
        "--holdout-days",
        type=int,
        default=None,
        help="holdout as-of days of every scheduled run (default STOCKOUT_HOLDOUT_DAYS or sized "
        "from the history)",
    )
    parser.add_argument(
        "--validation-days",
        type=int,
        default=None,
        help="as-of days of each threshold fold (default STOCKOUT_VALIDATION_DAYS or sized)",
    )
    parser.add_argument("--out", default=DEFAULT_OUT_DIR, help="local output folder")
    parser.add_argument(
        "--model-name",
        default=None,
        help=f"registered model (default STOCKOUT_MODEL_NAME or {DEFAULT_MODEL_NAME!r})",
    )
    parser.add_argument(
        "--experiment",
        default=None,
        help=f"MLflow experiment (default STOCKOUT_EXPERIMENT or {DEFAULT_EXPERIMENT!r})",
    )
    parser.add_argument(
        "--paused", action="store_true", help="register the schedule paused (runs only on demand)"
    )
    parser.add_argument(
        "--score-cron",
        default=schedules.score,
        help="also serve the morning-list flow 'score/"
        f"{SCORE_DEPLOYMENT}' on this cron schedule (default STOCKOUT_SCORE_CRON; unset: "
        "not served)",
    )
    parser.add_argument(
        "--score-out",
        default=DEFAULT_OUT,
        help="CSV the morning list is written to (the HTML page goes beside it)",
    )
    parser.add_argument(
        "--monitor-cron",
        default=schedules.monitor,
        help="also serve the monitoring flow 'monitor/"
        f"{MONITOR_DEPLOYMENT}' on this cron schedule (default STOCKOUT_MONITOR_CRON; unset: "
        "not served)",
    )
    parser.add_argument(
        "--monitor-data",
        default=None,
        help="folder of the exports monitoring judges the model on (default: --data)",
    )
    parser.add_argument(
        "--monitor-dry-run",
        action="store_true",
        help="scheduled monitoring decides and reports but never rolls back or falls back",
    )
    return parser


def score_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The parameters of the morning-list deployment."""
    return {"data_dir": args.data, "out": args.score_out, "model_name": args.model_name}


def monitor_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The parameters of the monitoring deployment."""
    return {
        "data_dir": args.monitor_data or args.data,
        "dry_run": bool(args.monitor_dry_run),
        "model_name": args.model_name,
    }


def _scheduled(flow_fn: Any, name: str, cron: str, args: argparse.Namespace, **options: Any):
    """A cron deployment of one of the optional flows served beside ``run-pipeline``."""
    logger.info(
        "also serving '%s/%s' on cron %r; trigger now with: prefect deployment run '%s/%s'",
        flow_fn.name,
        name,
        cron,
        flow_fn.name,
        name,
    )
    return flow_fn.to_deployment(
        name=name,
        schedule=Cron(cron, timezone=args.timezone),
        paused=args.paused or None,
        tags=TAGS,
        **options,
    )


def main(argv: list[str] | None = None) -> int:
    """Register the deployment and serve it until interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:  # a value the flow would refuse at 05:00 is refused now
        checked_parameters(
            horizon=args.horizon,
            min_f1=args.min_f1,
            model_overrides=None,
            holdout_days=args.holdout_days,
            validation_days=args.validation_days,
            model_name=args.model_name,
            experiment=args.experiment,
        )
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    configure_logging()
    if not os.environ.get("PREFECT_API_URL"):
        # serve() works with the temporary server too, but the deployment disappears with this
        # process and `prefect deployment run` from another shell cannot reach it.
        logger.warning(
            "PREFECT_API_URL is not set: serving against a temporary local Prefect server; "
            "`prefect deployment run` from another shell will not find it. Start a server "
            "(`prefect server start`) and export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    logger.info(
        "serving 'run-pipeline/%s' on cron %r; trigger now with: prefect deployment run "
        "'run-pipeline/%s'",
        args.name,
        args.cron,
        args.name,
    )
    daily = {
        "name": args.name,
        "schedule": Cron(args.cron, timezone=args.timezone),
        "parameters": deployment_parameters(args),
        "paused": args.paused or None,
        "tags": TAGS,
        "description": DAILY_DESCRIPTION,
    }
    if not args.score_cron and not args.monitor_cron:
        run_pipeline.serve(**daily)
        return 0

    extra = []
    if args.score_cron:
        extra.append(
            _scheduled(
                score,
                SCORE_DEPLOYMENT,
                args.score_cron,
                args,
                parameters=score_parameters(args),
                description="Morning list: every branch×item scored with the production model.",
            )
        )
    if args.monitor_cron:
        extra.append(
            _scheduled(
                monitor,
                MONITOR_DEPLOYMENT,
                args.monitor_cron,
                args,
                parameters=monitor_parameters(args),
                description="Monitoring: rolling F1 and PSI/KL drift of the production model; "
                "rollback or rule-baseline fallback on a breach.",
            )
        )
    serve(run_pipeline.to_deployment(**daily), *extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
