"""``stockout-sk``: the command line of the system (also ``python -m stockout_sk``).

Every command prints progress to stderr; with ``--json`` the LAST line on stdout is one JSON
object, so scripts can read ``stockout-sk … --json | tail -n 1``. Exit status: 0 success, 1 the
work failed (bad data, a model below the gate is not an error), 2 usage error. A failure is
one line on stderr and the path of the run's log file (see :mod:`stockout_sk.logs`).

The CLI is the top layer: the one part of ``stockout_sk`` that may run ``flows`` (Prefect) and
``api`` (FastAPI); the rest of the library imports neither. :mod:`~stockout_sk.cli.parser` builds
the options, :mod:`~stockout_sk.cli.commands` runs them, :mod:`~stockout_sk.cli.output` prints.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from stockout_sk.cli.commands import (
    cmd_backtest,
    cmd_build_dataset,
    cmd_evaluate,
    cmd_run,
    cmd_synth,
    cmd_train,
    cmd_validate,
    preflight,
)
from stockout_sk.cli.operate import cmd_monitor, cmd_registry, cmd_score, cmd_serve
from stockout_sk.cli.output import USES_MLFLOW, log_file_for, say, setup_logging
from stockout_sk.cli.parser import build_parser
from stockout_sk.logs import adopt_library_loggers, report_failure

__all__ = [
    "build_parser",
    "cmd_backtest",
    "cmd_build_dataset",
    "cmd_evaluate",
    "cmd_monitor",
    "cmd_registry",
    "cmd_run",
    "cmd_score",
    "cmd_serve",
    "cmd_synth",
    "cmd_train",
    "cmd_validate",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stockout-sk`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 done, 1 the work failed. A failure is said once, in one line on
        stderr, followed by where the run's log file is (with the traceback).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    verbosity = 0 if args.quiet else args.verbose
    try:
        preflight(args)
    except (TypeError, ValueError) as error:
        say(f"error: {error}")
        return 1
    log_file = setup_logging(
        verbosity, log_file_for(args, os.environ.get("STOCKOUT_ARTIFACTS_DIR", "artifacts"))
    )
    if args.command in USES_MLFLOW:
        # Imported here, not at the top, for the reason given in stockout_sk.cli.commands.
        import mlflow  # noqa: F401 - configures its loggers, which adopt_library_loggers undoes

        adopt_library_loggers(verbosity)
    try:
        return int(args.func(args) or 0)
    except Exception as error:  # every failure: one line, the traceback in the log
        say(report_failure(error, log_file))
        if log_file is not None and log_file.exists():
            say(f"full log: {log_file}")
        return 1
