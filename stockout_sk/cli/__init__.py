"""``stockout-sk``: the command line of the system (also ``python -m stockout_sk``).

Every command prints progress to stderr; with ``--json`` the LAST line on stdout is one JSON
object, so scripts can read ``stockout-sk … --json | tail -n 1``. Exit status: 0 success, 1 the
work failed (bad data, a model below the gate is not an error), 2 usage error.

The CLI is the top layer: the one part of ``stockout_sk`` that may run ``flows`` (Prefect) and
``api`` (FastAPI); the rest of the library imports neither. :mod:`~stockout_sk.cli.parser` builds
the options, :mod:`~stockout_sk.cli.commands` runs them, :mod:`~stockout_sk.cli.output` prints.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from stockout_sk.cli.commands import (
    cmd_backtest,
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
from stockout_sk.cli.output import say, setup_logging
from stockout_sk.cli.parser import build_parser

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

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stockout-sk`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 done, 1 the work failed (the error is on stderr).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(0 if args.quiet else args.verbose)
    # Imported here, not at the top, for the reason given in stockout_sk.cli.commands.
    from stockout_sk.ingest import DataContractError

    try:
        return int(args.func(args) or 0)
    except DataContractError as exc:
        say(f"error: {exc}")
        return 1
    except (ValueError, TypeError, FileNotFoundError, LookupError) as exc:
        logger.debug("command failed", exc_info=True)
        say(f"error: {exc}")
        return 1
