"""What the flows share: the ingest task, their settings, Prefect's start-up timeout, logging.

Every flow reads the six CSV exports with the same retried :func:`ingest` task and takes its
settings from the environment (:mod:`stockout_sk.config`) with the flow's own parameters on top
(:func:`flow_settings`, :func:`flow_serving_settings`). :func:`run_with_startup_timeout` runs a
flow from the command line, where Prefect may have to start a temporary local server first.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

from flows.ephemeral import start_ephemeral_server
from stockout_sk.config import (
    ModelConfig,
    ServingSettings,
    Settings,
    load_csv_format,
    load_model_config,
    load_serving_settings,
    load_settings,
)
from stockout_sk.ingest import ChainData, load_chain
from stockout_sk.logs import (
    FILE_FORMAT,
    adopt_library_loggers,
    quiet_third_parties,
    report_failure,
    run_log_path,
    setup_logging,
)

__all__ = [
    "DEFAULT_DATA_DIR",
    "EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
    "LOG_FORMAT",
    "checked_parameters",
    "configure_logging",
    "flow_serving_settings",
    "flow_settings",
    "ingest",
    "run_main",
    "run_with_startup_timeout",
    "transient_read_error",
]

#: Seconds Prefect may take to start its temporary local server (its own default is too short on
#: a loaded machine).
EPHEMERAL_STARTUP_TIMEOUT_SECONDS = 90
#: The folder of the six CSV files when a flow is given none.
DEFAULT_DATA_DIR = "sample_data"
LOG_FORMAT = FILE_FORMAT


def transient_read_error(task: Any, task_run: Any, state: Any) -> bool:
    """Whether a failed read is worth a retry: an I/O error a network share can throw.

    A missing file or folder, a permission problem, or anything wrong with the data itself
    (:class:`~stockout_sk.ingest.DataContractError`, a ``ValueError``) fails the same way again:
    retrying it only prints the same error three times and waits 12 seconds.
    """
    error = state.data
    if not isinstance(error, BaseException):
        error = state.result(raise_on_failure=False)
    permanent = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)
    return isinstance(error, OSError) and not isinstance(error, permanent)


# Nothing is cached by input hash (NO_CACHE), here or in the flows' other tasks: the inputs are
# DataFrames and fitted pipelines, expensive to hash and never worth reusing across runs.
@task(
    name="ingest",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=transient_read_error,
    cache_policy=NO_CACHE,
)
def ingest(
    data_dir: str,
    out_dir: str | None = None,
    *,
    horizon: int = 7,
    encoding: str | None = None,
    delimiter: str | None = None,
    chunksize: int = 100_000,
) -> ChainData:
    """Read the six CSV exports (an I/O error is retried: the folder may be a network share).

    Parameters
    ----------
    data_dir : str
        Folder with the six CSV files.
    out_dir : str, optional
        The rejects and the validation report go to ``<out_dir>/ingest``; default: not written.
    horizon : int
        The label horizon: a run of more than ``max(28, 3 × horizon)`` days with no activity
        cuts the history (see :func:`stockout_sk.ingest.load_chain`).
    encoding, delimiter : str, optional
        The exports' encoding and delimiter; default ``STOCKOUT_CSV_ENCODING`` /
        ``STOCKOUT_CSV_DELIMITER``, else detected per file.
    chunksize : int
        CSV rows per chunk.
    """
    csv_format = load_csv_format(encoding=encoding, delimiter=delimiter)
    return load_chain(
        data_dir,
        out_dir=None if out_dir is None else Path(out_dir) / "ingest",
        chunksize=chunksize,
        csv_format=csv_format,
        horizon=horizon,
    )


def _given(**values: Any) -> dict[str, Any]:
    # A parameter left empty (None or "") keeps the environment's value.
    return {key: value for key, value in values.items() if value is not None and value != ""}


def flow_settings(**overrides: Any) -> Settings:
    """:class:`~stockout_sk.config.Settings` from the environment, with a flow's parameters.

    Parameters
    ----------
    **overrides
        ``Settings`` fields (``model_name``, ``experiment``, ``min_f1``, ``tracking_uri``, …);
        ``None`` or ``""`` keeps the environment's value.
    """
    return replace(load_settings(), **_given(**overrides))


def checked_parameters(
    *,
    horizon: int,
    min_f1: float | None,
    model_overrides: dict[str, Any] | None,
    holdout_days: int | None = None,
    validation_days: int | None = None,
    log_checkpoints: bool = False,
    **registry: str | None,
) -> tuple[Settings, ModelConfig]:
    """The flow's settings and model configuration, every value checked before any work.

    Parameters
    ----------
    horizon, min_f1, model_overrides, holdout_days, validation_days, log_checkpoints
        The flow's parameters of the same names.
    **registry
        ``model_name``, ``experiment``, ``tracking_uri`` (``None``: the environment's).

    Returns
    -------
    (Settings, ModelConfig)

    Raises
    ------
    ValueError, TypeError
        A parameter (named ``run-pipeline parameter …``) or an environment variable (named by
        its variable) holds a value outside its range. Nothing has been read, trained or
        registered.
    """
    if min_f1 is not None:
        value = float(min_f1)
        if not 0.0 <= value <= 1.0:  # NaN fails too
            raise ValueError(
                f"run-pipeline parameter min_f1 must be a number in [0, 1], got {min_f1!r}"
            )
        min_f1 = value
    settings = flow_settings(min_f1=min_f1, **registry)
    overrides = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in (model_overrides or {}).items()
    }
    if log_checkpoints:
        overrides["checkpoint_retain"] = True
    windows = {"holdout_days": holdout_days, "validation_days": validation_days}
    try:
        config = load_model_config(**overrides, horizon=horizon, **windows)
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"run-pipeline parameters horizon/holdout_days/validation_days/model_overrides: {error}"
        ) from error
    return settings, config


def flow_serving_settings(
    model_name: str | None = None, tracking_uri: str | None = None
) -> ServingSettings:
    """:class:`~stockout_sk.config.ServingSettings` from the environment, with a flow's registry.

    Parameters
    ----------
    model_name, tracking_uri : str, optional
        The registered model and the MLflow store; ``None`` or ``""`` keeps the environment's.
    """
    settings = load_serving_settings()
    registry = replace(
        settings.registry, **_given(model_name=model_name, tracking_uri=tracking_uri)
    )
    return replace(settings, registry=registry)


def run_with_startup_timeout(flow_fn: Any, **parameters: Any) -> Any:
    """Run ``flow_fn`` with a start-up timeout that suits Prefect's temporary local server.

    Without ``PREFECT_API_URL`` the temporary server is started first, watched so that it
    stops with this process even on ``kill -9`` (:func:`~flows.ephemeral.start_ephemeral_server`).

    Parameters
    ----------
    flow_fn : prefect.Flow
        The flow to call.
    **parameters
        Its parameters.

    Returns
    -------
    object
        What the flow returns.
    """
    current = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    timeout = max(int(current), EPHEMERAL_STARTUP_TIMEOUT_SECONDS)
    with temporary_settings(updates={PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: timeout}):
        # Started here, not lazily by Prefect, so that it is stopped even if we are killed.
        start_ephemeral_server(timeout)
        return flow_fn(**parameters)


def configure_logging(
    out_dir: str | Path | None = None, command: str = "flow", verbosity: int = 1
) -> Path | None:
    """Logging for a flow's command line, as ``stockout-sk`` does it (:mod:`stockout_sk.logs`).

    Progress at INFO on stderr, Prefect's own failure reports left to the one line
    :func:`run_main` prints, telemetry off, and with ``out_dir`` the run's log file
    (``<out_dir>/logs/<UTC time>-<command>.log``) with every record and traceback.

    Returns
    -------
    Path or None
        The log file.
    """
    quiet_third_parties()
    path = None if out_dir is None else run_log_path(out_dir, command)
    setup_logging(verbosity, path)
    adopt_library_loggers(verbosity)  # MLflow is imported by now (the flows use it)
    return path


def run_main(main: Callable[[], int], log_file: Path | None) -> int:
    """Run a flow's command line; a failure is one line on stderr and the log file's path."""
    try:
        return main()
    except Exception as error:  # one line for a person; the traceback is in the log
        print(report_failure(error, log_file), file=sys.stderr)
        if log_file is not None and log_file.exists():
            print(f"full log: {log_file}", file=sys.stderr)
        return 1
