"""The argument parser of ``stockout-sk``: its subcommands, their options and defaults."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from stockout_sk import __version__
from stockout_sk.cli.commands import (
    cmd_build_dataset,
    cmd_evaluate,
    cmd_monitor,
    cmd_registry,
    cmd_run,
    cmd_score,
    cmd_serve,
    cmd_synth,
    cmd_train,
    cmd_validate,
)

_DESCRIPTION = (
    "Predict which items at which branches will fall below their safety stock in the next N "
    "days: ingest six CSV exports, train and register a model, serve it, watch it."
)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default in ``--help``, except where there is none to show.

    ``None`` means "decided elsewhere" (the help says where) and a flag's ``False`` says nothing.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="directory holding the six CSV exports")
    p.add_argument("--chunksize", type=int, default=100_000, help="rows per CSV chunk")


def _json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="end with one JSON line on stdout")


def _horizon_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--horizon", type=int, default=7, help="N, days ahead")


def _cluster_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run ingestion, labels and the fit on a Dask cluster: a scheduler address "
        "(tcp://host:8786) or 'local' for a LocalCluster on this machine (default: "
        "$STOCKOUT_DASK_SCHEDULER, else one process); needs the dask extra",
    )
    p.add_argument(
        "--asof-stride",
        metavar="K",
        type=int,
        default=None,
        help="train on every K-th as-of day of each branch×item (the holdout is untouched); "
        "bounds the training rows of a very large chain (default 1: every day)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation).

    Returns
    -------
    argparse.ArgumentParser
        Each subcommand's parser sets ``func``, the command to call with the parsed arguments.
    """
    parser = argparse.ArgumentParser(
        prog="stockout-sk", description=_DESCRIPTION, formatter_class=_HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=1, help="more log output (-vv for debug)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings and errors on stderr"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str):
        p = sub.add_parser(name, help=help_, description=help_, formatter_class=_HelpFormatter)
        p.set_defaults(func=func)
        return p

    p = add("synth", cmd_synth, "write a simulated chain (the six CSVs) to a directory")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--branches", type=int, default=10, help="branches simulated")
    p.add_argument("--items", type=int, default=200, help="items simulated")
    p.add_argument("--days", type=int, default=365, help="days simulated")
    p.add_argument("--seed", type=int, default=42, help="random seed")
    p.add_argument("--start", default="2024-01-01", help="first simulated day (ISO)")
    p.add_argument(
        "--messy", action="store_true", help="inject real-export quirks and a few bad rows"
    )
    _json_arg(p)

    p = add("validate", cmd_validate, "check the six CSVs and print the per-file report")
    _data_args(p)
    p.add_argument("--out", type=Path, help="write rejects/<file>.csv and the report here")
    _json_arg(p)

    p = add("build-dataset", cmd_build_dataset, "write the labelled point-in-time table")
    _data_args(p)
    p.add_argument("--out", type=Path, required=True, help="output file (.csv or .parquet)")
    p.add_argument("--rejects", type=Path, help="also write rejects/ and the report here")
    _horizon_arg(p)
    _json_arg(p)

    p = add(
        "evaluate",
        cmd_evaluate,
        "fit on the training window and score the purged holdout (no registry)",
    )
    _data_args(p)
    _horizon_arg(p)
    p.add_argument("--out", type=Path, help="write plots and summary.json/md here")
    p.add_argument("--n-estimators", type=int, help="LightGBM trees (default from config)")
    p.add_argument("--checkpoint-dir", type=Path, help="LightGBM checkpoints (default artifacts/)")
    _cluster_args(p)
    _json_arg(p)

    for name, func, text in (
        ("train", cmd_train, "run the Prefect flow: train, evaluate, register, promote"),
        ("run", cmd_run, "the main job (make run): the whole flow on a data directory"),
    ):
        p = add(name, func, text)
        _data_args(p)
        _horizon_arg(p)
        p.add_argument(
            "--min-f1",
            type=float,
            default=None,
            help="promotion gate on holdout F1 (default: $STOCKOUT_MIN_F1, else 0.7)",
        )
        p.add_argument(
            "--out", type=Path, default=Path("artifacts/run"), help="local reports folder"
        )
        _cluster_args(p)
        _json_arg(p)

    p = add("registry", cmd_registry, "show the registry, promote a version, or roll back")
    p.add_argument("action", choices=("show", "promote", "rollback"))
    p.add_argument("version", nargs="?", help="version to promote")
    p.add_argument("--reason", default="manual", help="recorded on the version")
    _json_arg(p)

    p = add("serve", cmd_serve, "serve the HTTP API (the production model, hot-reloaded)")
    p.add_argument("--host", default="127.0.0.1", help="interface")
    p.add_argument("--port", type=int, default=8000, help="port")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")

    p = add("score", cmd_score, "write the morning list: every branch×item scored (CSV + HTML)")
    _data_args(p)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the .csv (or .html) to write; the other is written beside it",
    )
    _json_arg(p)

    p = add(
        "monitor",
        cmd_monitor,
        "judge the production model on a later period (rolling F1, PSI/KL drift); on a breach "
        "roll back, or fall back to the rule baseline",
    )
    _data_args(p)
    p.add_argument(
        "--dry-run", action="store_true", help="decide and report; change nothing in the registry"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder of the HTML report (default artifacts/monitoring/<UTC time>-v<version>)",
    )
    _json_arg(p)
    return parser
