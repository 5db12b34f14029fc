"""The argument parser of ``stockout-sk``: its subcommands, their options and defaults."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from stockout_sk import __version__
from stockout_sk.cli.commands import (
    cmd_backtest,
    cmd_build_dataset,
    cmd_evaluate,
    cmd_run,
    cmd_synth,
    cmd_train,
    cmd_validate,
)
from stockout_sk.cli.operate import cmd_monitor, cmd_registry, cmd_score, cmd_serve

#: ``ModelConfig.threshold_method``'s values, spelled here so ``--help`` imports no numpy
#: (a test holds them equal to :data:`stockout_sk.config.THRESHOLD_METHODS`).
THRESHOLD_CHOICES = ("expected", "pooled", "median", "last")
#: ``stockout_sk.config.MAX_INGEST_WORKERS`` (spelled here too: ``--help`` imports no numpy).
MAX_INGEST_WORKERS = 64

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


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number in ``[minimum, maximum]``.

    argparse prefixes the message with the option (``argument --horizon: must be …``) and exits
    2 before any work is done.

    Examples
    --------
    >>> whole_number(1)("7")
    7
    """

    def parse(text: str) -> int:
        bounds = f"≥ {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number {bounds}, got {text!r}"
            ) from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, got {text!r}")
        return value

    return parse


def fraction(text: str) -> float:
    """An argparse ``type``: a number in ``[0, 1]`` (an F1 score).

    Examples
    --------
    >>> fraction("0.7")
    0.7
    """
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}")
    return value


def table_file(text: str) -> Path:
    """An output path ending in ``.csv`` or ``.parquet`` (checked before any work starts).

    >>> table_file("out/train.parquet").name
    'train.parquet'
    """
    path = Path(text)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise argparse.ArgumentTypeError(f"must end in .csv or .parquet, got {text!r}")
    return path


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="directory holding the six CSV exports")
    p.add_argument("--chunksize", type=whole_number(1), default=100_000, help="rows per CSV chunk")
    p.add_argument(
        "--ingest-workers",
        type=whole_number(1, MAX_INGEST_WORKERS),
        help="processes that read a large sales export in parallel; 1: one process (default: "
        "$STOCKOUT_INGEST_WORKERS, else the machine's cores)",
    )
    p.add_argument(
        "--encoding",
        help="encoding of the CSV files, e.g. cp1256 (Arabic Windows), utf-16, latin-1 (default: "
        "$STOCKOUT_CSV_ENCODING, else detected per file: byte-order mark, UTF-16, else UTF-8)",
    )
    p.add_argument(
        "--delimiter",
        help="field delimiter: one character or comma, semicolon, tab, pipe (default: "
        "$STOCKOUT_CSV_DELIMITER, else detected from each file's header)",
    )


def _json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="end with one JSON line on stdout")


def _horizon_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--horizon", type=whole_number(1), default=7, help="N, days ahead")


def _window_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--holdout-days",
        type=whole_number(1),
        default=None,
        help="latest as-of days held out for the evaluation (default: $STOCKOUT_HOLDOUT_DAYS, "
        "else sized from the history: 21 on a long one, fewer on a short one, never below 7)",
    )
    p.add_argument(
        "--validation-days",
        type=whole_number(1),
        default=None,
        help="as-of days of each threshold fold (default: "
        "$STOCKOUT_VALIDATION_DAYS, else sized from the history: 14, never below 7)",
    )
    p.add_argument(
        "--threshold-method",
        choices=THRESHOLD_CHOICES,
        default=None,
        help="how the decision threshold is chosen (default: $STOCKOUT_THRESHOLD_METHOD, else "
        "'expected': the cut the model's own probabilities expect to be F1-best on the first "
        "morning list it scores; 'pooled', 'median', 'last': chosen on the threshold folds)",
    )


def _n_jobs(text: str) -> int:
    """``--n-jobs``: a positive number of threads, or -1 for every core."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1 (threads) or -1 (every core), got {text!r}")
    return value


def _n_jobs_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        help="LightGBM training threads; -1 uses every core (default: 1, ModelConfig.n_jobs: "
        "best on a shared machine; raise it on a dedicated host with a large chain)",
    )


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
    p.add_argument("--branches", type=whole_number(1), default=10, help="branches simulated")
    p.add_argument("--items", type=whole_number(1), default=200, help="items simulated")
    p.add_argument("--days", type=whole_number(1), default=365, help="days simulated")
    p.add_argument("--seed", type=whole_number(0), default=42, help="random seed")
    p.add_argument("--start", default="2024-01-01", help="first simulated day (ISO)")
    p.add_argument(
        "--messy", action="store_true", help="inject real-export quirks and a few bad rows"
    )
    _json_arg(p)

    p = add(
        "validate",
        cmd_validate,
        "check the six CSVs and print the per-file report; exit 1 when the data is not fit to "
        "train on (a fatal error, or a blocking finding: training would fail or lie, or the "
        "export's dates are wrong)",
    )
    _data_args(p)
    p.add_argument("--out", type=Path, help="write rejects/<file>.csv and the report here")
    _horizon_arg(p)
    _window_args(p)  # the history training needs depends on them
    _json_arg(p)

    p = add("build-dataset", cmd_build_dataset, "write the labelled point-in-time table")
    _data_args(p)
    p.add_argument("--out", type=table_file, required=True, help="output file (.csv or .parquet)")
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
    _window_args(p)
    p.add_argument("--out", type=Path, help="write plots and summary.json/md here")
    p.add_argument(
        "--n-estimators", type=whole_number(1), help="LightGBM trees (default from config)"
    )
    p.add_argument("--checkpoint-dir", type=Path, help="LightGBM checkpoints (default artifacts/)")
    _n_jobs_arg(p)
    _cluster_args(p)
    _json_arg(p)

    for name, func, text in (
        ("train", cmd_train, "run the Prefect flow: train, evaluate, register, promote"),
        ("run", cmd_run, "the main job (make run): the whole flow on a data directory"),
    ):
        p = add(name, func, text)
        _data_args(p)
        _horizon_arg(p)
        _window_args(p)
        p.add_argument(
            "--min-f1",
            type=fraction,
            default=None,
            help="promotion gate on holdout F1 (default: $STOCKOUT_MIN_F1, else 0.7)",
        )
        p.add_argument(
            "--out", type=Path, default=Path("artifacts/run"), help="local reports folder"
        )
        _n_jobs_arg(p)
        p.add_argument(
            "--log-checkpoints",
            action="store_true",
            help="keep the final fit's LightGBM checkpoints and log them with the MLflow run "
            "(by default a finished fit deletes them)",
        )
        _cluster_args(p)
        _json_arg(p)

    p = add(
        "backtest",
        cmd_backtest,
        "train on each rolling origin as `train` would and score that day's morning list "
        "against the N days after it: the model against a plain LightGBM and both baselines, "
        "per fold and on average (no registry)",
    )
    _data_args(p)
    _horizon_arg(p)
    _window_args(p)
    p.add_argument(
        "--folds",
        type=whole_number(1),
        default=6,
        help="origins: the last K, --step-days apart, whose labels have matured",
    )
    p.add_argument("--step-days", type=whole_number(1), default=7, help="days between two origins")
    p.add_argument(
        "--window-days",
        type=whole_number(1),
        default=1,
        help="as-of days scored from each origin on (1: its morning list; more: the next days "
        "too, with the same model and a history that lags behind)",
    )
    p.add_argument(
        "--origin",
        action="append",
        default=None,
        metavar="DATE",
        help="an explicit export end day (repeat for several); replaces --folds",
    )
    p.add_argument(
        "--top-share",
        type=float,
        default=0.05,
        help="recall is also read in this top share of the ranked list",
    )
    p.add_argument("--no-plain", action="store_true", help="skip the plain LightGBM")
    p.add_argument("--n-estimators", type=int, help="LightGBM trees (default from config)")
    p.add_argument(
        "--out", type=Path, help="write backtest.json, backtest.md and backtest.png here"
    )
    _json_arg(p)

    p = add(
        "registry",
        cmd_registry,
        "show the registry or the alias history, promote a version, or roll back",
    )
    p.add_argument(
        "action",
        choices=("show", "history", "promote", "rollback"),
        help="show: aliases and versions; history: every move of production, who/when/why; "
        "promote VERSION; rollback: to the last version that held production and was not "
        "rolled back from",
    )
    p.add_argument("version", nargs="?", help="version to promote")
    p.add_argument("--reason", default="manual", help="recorded on the version and in the history")
    p.add_argument(
        "--force",
        action="store_true",
        help="promote a version the gate never evaluated (its training run ended before the "
        "decision)",
    )
    _json_arg(p)

    p = add("serve", cmd_serve, "serve the HTTP API (the production model, hot-reloaded)")
    p.add_argument("--host", default="127.0.0.1", help="interface")
    p.add_argument("--port", type=whole_number(1, 65535), default=8000, help="port")
    p.add_argument("--workers", type=whole_number(1), default=1, help="uvicorn worker processes")

    p = add("score", cmd_score, "write the morning list: every branch×item scored (CSV + HTML)")
    _data_args(p)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the .csv (or .html) to write; the other is written beside it, with "
        "<name>_unscored.csv and ingest/ (rejects, validation report)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing list at --out (an input file is never overwritten)",
    )
    p.add_argument(
        "--reasons",
        type=whole_number(0),
        default=3,
        help="reasons per row; 0 skips the explanations (the slow part on a large chain)",
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
        "--dry-run",
        action="store_true",
        help="decide and report; change nothing in the registry and log no MLflow run",
    )
    p.add_argument(
        "--log-run",
        action="store_true",
        help="with --dry-run, still log the run to MLflow, tagged as a dry run",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder of the HTML report (default artifacts/monitoring/<UTC time>-v<version>)",
    )
    _json_arg(p)
    return parser
