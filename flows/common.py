"""What the flows share: the ingest task, their settings, Prefect's start-up timeout, logging.

Every flow reads the six CSV exports with the same retried :func:`ingest` task and takes its
settings from the environment (:mod:`stockout_sk.config`) with the flow's own parameters on top
(:func:`flow_settings`, :func:`flow_serving_settings`). :func:`run_with_startup_timeout` runs a
flow from the command line, where Prefect may have to start a temporary local server first.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

from flows.ephemeral import start_ephemeral_server
from stockout_sk.config import ServingSettings, Settings, load_serving_settings, load_settings
from stockout_sk.ingest import ChainData, load_chain

__all__ = [
    "DEFAULT_DATA_DIR",
    "EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
    "LOG_FORMAT",
    "configure_logging",
    "flow_serving_settings",
    "flow_settings",
    "ingest",
    "run_with_startup_timeout",
]

#: Seconds Prefect may take to start its temporary local server (its own default is too short on
#: a loaded machine).
EPHEMERAL_STARTUP_TIMEOUT_SECONDS = 90
#: The folder of the six CSV files when a flow is given none.
DEFAULT_DATA_DIR = "sample_data"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


# Nothing is cached by input hash (NO_CACHE), here or in the flows' other tasks: the inputs are
# DataFrames and fitted pipelines, expensive to hash and never worth reusing across runs.
@task(name="ingest", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def ingest(data_dir: str, out_dir: str | None = None) -> ChainData:
    """Read the six CSV exports (retried: the data folder may sit on a network share).

    Parameters
    ----------
    data_dir : str
        Folder with the six CSV files.
    out_dir : str, optional
        The rejects and the validation report go to ``<out_dir>/ingest``; default: not written.
    """
    return load_chain(data_dir, out_dir=None if out_dir is None else Path(out_dir) / "ingest")


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


def configure_logging() -> None:
    """Log at INFO to stderr, for the flows' command lines."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # One line per HTTP call to the Prefect API drowns the flow's own messages.
    logging.getLogger("httpx").setLevel(logging.WARNING)
