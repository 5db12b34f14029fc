"""How a command logs: a quiet console, one line for a failure, the whole story in a log file.

* **Console** (stderr): our progress at INFO, warnings always, ``-q`` only warnings and errors.
  Prefect reports a failed task or flow at every layer it passes through (the task, its final
  state, the flow, the flow's state), each with the exception and most with a traceback; the
  command says it once at the end (:func:`report_failure`), so those records stay off the
  console (:class:`ConsoleFilter`), as do Prefect's "Finished in state …" lines. With a log file
  tracebacks are written there only, the console line says where.
* **Log file**: one per run (:func:`run_log_path`, ``<folder>/logs/<UTC time>-<command>.log``),
  everything at INFO (DEBUG with ``-vv``) with tracebacks, MLflow's own records included
  (:func:`adopt_library_loggers`: MLflow logs through its own handler unless told otherwise).
* **Telemetry off**: Prefect's temporary server sends anonymous usage data at start-up, and
  offline it logs ``ERROR … Failed to send telemetry``; MLflow 3 sends usage events too.
  :func:`quiet_third_parties` sets ``PREFECT_SERVER_ANALYTICS_ENABLED=false`` and
  ``MLFLOW_DISABLE_TELEMETRY=true`` for our processes (and the servers they start) unless the
  environment already says otherwise.

Nothing here runs at import: the command line and the flows call :func:`setup_logging`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

from stockout_sk.clock import utc_stamp

__all__ = [
    "CONSOLE_FORMAT",
    "FILE_FORMAT",
    "TELEMETRY_OFF",
    "ConsoleFilter",
    "adopt_library_loggers",
    "quiet_third_parties",
    "report_failure",
    "run_log_path",
    "setup_logging",
]

CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
#: What :func:`quiet_third_parties` sets when unset: no usage data leaves the machine.
TELEMETRY_OFF = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}
#: Libraries kept at WARNING unless ``-vv`` asks for their debug output.
_NOISY_LOGGERS = ("mlflow", "alembic", "httpx", "httpcore", "urllib3", "matplotlib", "huey")
#: Loggers MLflow configures with its own handler (``propagate=False``) when imported.
_MLFLOW_LOGGERS = ("mlflow", "alembic", "sqlalchemy.engine", "huey")
#: Prefect's run loggers: they report failures the command reports itself.
_PREFECT_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
#: Prefect's background services: at exit they report draining their queues ("Still processing
#: items"), which no one can act on.
_PREFECT_SERVICES = ("EventsWorker", "APILogWorker")
#: Marks a record for the log file only (the command prints its own line).
FILE_ONLY = "stockout_file_only"


def quiet_third_parties(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Turn Prefect's and MLflow's telemetry off, unless the environment already decided.

    Returns
    -------
    dict
        The variables set (those the environment did not have).
    """
    env = os.environ if environ is None else environ
    added = {name: value for name, value in TELEMETRY_OFF.items() if name not in env}
    env.update(added)
    return added


def run_log_path(folder: str | Path, command: str) -> Path:
    """Where one run's log goes: ``<folder>/logs/<UTC time>-<command>.log``."""
    return Path(folder) / "logs" / f"{utc_stamp()}-{command}.log"


class ConsoleFilter(logging.Filter):
    """What the console leaves out: Prefect's own failure reports, state and shutdown lines.

    Parameters
    ----------
    verbosity : int
        ``-vv`` (2 and more) shows everything.
    """

    def __init__(self, verbosity: int) -> None:
        super().__init__()
        self.verbosity = verbosity

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbosity >= 2:
            return True
        if getattr(record, FILE_ONLY, False):
            return False
        if record.name in _PREFECT_SERVICES:
            return record.levelno >= logging.ERROR
        if not record.name.startswith(_PREFECT_RUN_LOGGERS):
            return True
        if record.levelno >= logging.ERROR or record.exc_info:
            return False  # the command prints the failure once
        return not str(record.msg).startswith("Finished in state")


class _ConsoleFormatter(logging.Formatter):
    """One line per record: a traceback stays in the log file when there is one."""

    def __init__(self, log_file: Path | None) -> None:
        super().__init__(CONSOLE_FORMAT, datefmt="%H:%M:%S")
        self.log_file = log_file

    def format(self, record: logging.LogRecord) -> str:
        if self.log_file is None or not (record.exc_info or record.exc_text):
            return super().format(record)
        plain = logging.makeLogRecord(record.__dict__)
        plain.exc_info, plain.exc_text, plain.stack_info = None, None, None
        return f"{super().format(plain)} (traceback in {self.log_file})"


def setup_logging(verbosity: int, log_file: str | Path | None = None) -> Path | None:
    """Configure logging for a command: the console, and the run's log file if given.

    Parameters
    ----------
    verbosity : int
        0: warnings and errors (``-q``); 1: progress (default); 2 or more: debug, libraries too.
    log_file : str or Path, optional
        The run's log file (its folder is created); ``None`` logs to the console only.

    Returns
    -------
    Path or None
        The log file.
    """
    console_level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    path = None if log_file is None else Path(log_file)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(_ConsoleFormatter(path if verbosity < 2 else None))
    console.addFilter(ConsoleFilter(verbosity))
    handlers: list[logging.Handler] = [console]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        file = logging.FileHandler(path, encoding="utf-8", delay=True)
        file.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)
        file.setFormatter(logging.Formatter(FILE_FORMAT))
        handlers.append(file)
    root_level = logging.DEBUG if verbosity >= 2 else logging.INFO
    logging.basicConfig(level=root_level, handlers=handlers, force=True)
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    logging.captureWarnings(True)
    return path


def adopt_library_loggers(verbosity: int) -> None:
    """Send MLflow's records through ours (console and log file), at WARNING unless ``-vv``.

    Call it after MLflow is imported: importing it gives its loggers a handler of their own that
    writes to stderr in another format and bypasses the log file.
    """
    level = logging.DEBUG if verbosity >= 2 else logging.WARNING
    for name in _MLFLOW_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
        logger.setLevel(level)
    # MLflow also prints ("Successfully registered model …", "Created version …") through a
    # stream of its own; our registry logs the same events. Quiet it unless -vv.
    mlflow_logging = sys.modules.get("mlflow.utils.logging_utils")
    if mlflow_logging is not None and verbosity < 2:
        mlflow_logging.disable_logging()


def report_failure(error: BaseException, log_file: Path | None) -> str:
    """Log a command's failure with its traceback (log file, or console with ``-vv``) and
    return the one line the command prints.

    The line is ``error: <what went wrong>``; a message of several lines keeps its first line
    when the rest is in the log file. An error that is not about values, types, lookups or
    files is called unexpected (a bug, likely), with where to find its traceback.
    """
    logging.getLogger("stockout_sk").error(
        "the command failed: %s", error, exc_info=error, extra={FILE_ONLY: True}
    )
    message = str(error).strip() or type(error).__name__
    known = isinstance(error, ValueError | TypeError | LookupError | OSError)
    if not known:
        where = "the traceback is in the log" if log_file else "-vv shows the traceback"
        message = f"unexpected {type(error).__name__}: {message} (this may be a bug; {where})"
    lines = message.splitlines()
    if log_file is not None and len(lines) > 1:
        message = f"{lines[0]} … (the rest is in the log)"
    return f"error: {message}"
