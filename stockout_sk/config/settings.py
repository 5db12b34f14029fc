"""Where things live and how services are reached: read from the environment, never at import.

:class:`Settings` (the tracking and registry store, the model name, the local artifacts folder,
the promotion gate) is what every command uses; :class:`ServingSettings` adds the knobs of the API
and the morning list; :class:`Schedules` the cron schedules of the Prefect deployments. The
``load_*`` functions read ``os.environ`` (or a mapping a test passes) when they are called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stockout_sk.config import _env
from stockout_sk.vocabulary import Alias

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_MODEL_NAME",
    "MONITORING_EXPERIMENT",
    "Schedules",
    "ServingSettings",
    "Settings",
    "default_tracking_uri",
    "load_schedules",
    "load_serving_settings",
    "load_settings",
]

DEFAULT_MODEL_NAME = "stockout-classifier"
DEFAULT_EXPERIMENT = "stockout-training"
MONITORING_EXPERIMENT = "stockout-monitoring"


@dataclass(frozen=True)
class Settings:
    """Where things live and how services are reached; read from the environment.

    Environment variables
    ---------------------
    MLFLOW_TRACKING_URI
        Tracking and registry store (default: SQLite ``mlflow.db`` in the working directory,
        artifacts under ``mlartifacts/``).
    STOCKOUT_MODEL_NAME
        Registered model name (default ``stockout-classifier``).
    STOCKOUT_EXPERIMENT
        Training experiment name (default ``stockout-training``).
    STOCKOUT_ARTIFACTS_DIR
        Local output folder for reports, rejects and checkpoints (default ``artifacts``).
    STOCKOUT_MIN_F1
        Promotion gate on holdout F1, in [0, 1] (default 0.7).
    STOCKOUT_LOCK_WAIT_SECONDS
        How long a promotion decision or an operator move waits for another one in progress
        on the same registered model before it gives up with "another run is in progress"
        (default 120).
    STOCKOUT_DASK_SCHEDULER
        Run the heavy training steps on a Dask cluster: a scheduler address
        (``tcp://host:8786``) or ``local`` (a ``LocalCluster`` sized to this machine). Unset:
        one process, and Dask is never imported.
    """

    tracking_uri: str = ""
    model_name: str = DEFAULT_MODEL_NAME
    experiment: str = DEFAULT_EXPERIMENT
    artifacts_dir: Path = field(default_factory=lambda: Path("artifacts"))
    min_f1: float = 0.7
    lock_wait_seconds: float = 120.0
    dask_scheduler: str | None = None


def default_tracking_uri(workdir: Path | None = None) -> str:
    """The embedded default store: SQLite in the working directory."""
    base = (workdir or Path.cwd()).resolve()
    return f"sqlite:///{base / 'mlflow.db'}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read :class:`Settings` from the environment (``os.environ`` by default).

    Raises
    ------
    ValueError
        A variable holds a value outside its allowed range; the message names the variable
        and the value (``STOCKOUT_MIN_F1 must be a number in [0.0, 1.0], got '2'``).
    """
    env = os.environ if environ is None else environ
    return Settings(
        tracking_uri=_env.text(env, "MLFLOW_TRACKING_URI") or default_tracking_uri(),
        model_name=_env.text(env, "STOCKOUT_MODEL_NAME", DEFAULT_MODEL_NAME),
        experiment=_env.text(env, "STOCKOUT_EXPERIMENT", DEFAULT_EXPERIMENT),
        artifacts_dir=Path(_env.text(env, "STOCKOUT_ARTIFACTS_DIR", "artifacts")),
        min_f1=_env.number(env, "STOCKOUT_MIN_F1", 0.7, minimum=0.0, maximum=1.0),
        lock_wait_seconds=_env.number(env, "STOCKOUT_LOCK_WAIT_SECONDS", 120.0, minimum=0.0),
        dask_scheduler=_env.text(env, "STOCKOUT_DASK_SCHEDULER"),
    )


@dataclass(frozen=True)
class ServingSettings:
    """How the API (and the morning list) finds, refreshes and guards the model.

    Environment variables (read by :func:`load_serving_settings`)
    ------------------------------------------------------------
    MLFLOW_TRACKING_URI, STOCKOUT_MODEL_NAME
        The registry and the registered model (see :class:`Settings`).
    STOCKOUT_MODEL_ALIAS
        Alias served (default ``production``).
    STOCKOUT_POLL_SECONDS
        Seconds between two registry polls (default 30; ``0`` disables polling — only start-up
        and ``POST /model/reload`` load a model).
    STOCKOUT_REGISTRY_GRACE_SECONDS
        How long a loaded model keeps serving while the registry is unreachable before the rule
        baseline takes over (default 60; ``0`` falls back at the first failed poll).
    STOCKOUT_MAX_BATCH
        Records accepted by ``POST /predict/batch`` (default 10000).
    STOCKOUT_MAX_BODY_BYTES
        Largest request body; larger ones get 413 (default 4 MiB, enough for 10,000 records).
    STOCKOUT_API_KEY
        When set, every endpoint but ``/health`` requires the header ``X-API-Key`` with this
        value.
    STOCKOUT_STARTUP_WAIT_SECONDS
        How long start-up waits for the first model load before serving the rule baseline while
        the load goes on (default 60).
    STOCKOUT_COALESCE_MAX_ROWS
        Most concurrent single-row ``POST /predict`` requests scored in one pipeline call
        (default 64; ``1`` scores each request alone). See :mod:`stockout_sk.coalescing`.
    STOCKOUT_MAX_STALENESS_DAYS
        The staleness policy: a row dated more than this many days after the freshest history
        the model carries is answered by the rule baseline, with the reason (default 60; ``0``:
        any row after the carried history). See ``docs/DESIGN.md``, "Serving".
    STOCKOUT_RELOAD_MIN_SECONDS
        ``POST /model/reload`` runs at most once per this many seconds per process; sooner
        calls get 429 with ``Retry-After`` (default 10; ``0``: no limit).

    Attributes
    ----------
    registry : Settings
        Tracking URI and model name.
    alias : str
    poll_seconds : float
    registry_grace_seconds : float
    max_batch : int
    max_body_bytes : int
    api_key : str or None
    startup_wait_seconds : float
    coalesce_max_rows : int
    max_staleness_days : int
    reload_min_seconds : float
    explain_top : int
        Contributions returned per row by ``explain=true``.
    """

    registry: Settings = field(default_factory=Settings)
    alias: str = Alias.PRODUCTION
    poll_seconds: float = 30.0
    registry_grace_seconds: float = 60.0
    max_batch: int = 10_000
    max_body_bytes: int = 4 * 1024 * 1024
    api_key: str | None = None
    startup_wait_seconds: float = 60.0
    coalesce_max_rows: int = 64
    max_staleness_days: int = 60
    reload_min_seconds: float = 10.0
    explain_top: int = 5


def load_serving_settings(environ: Mapping[str, str] | None = None) -> ServingSettings:
    """Read :class:`ServingSettings` from the environment (``os.environ`` by default).

    Raises
    ------
    ValueError
        A variable holds something that is not a number in its allowed range; the message names
        the variable and the value.
    """
    env = os.environ if environ is None else environ
    return ServingSettings(
        registry=load_settings(env),
        alias=_env.text(env, "STOCKOUT_MODEL_ALIAS", Alias.PRODUCTION),
        poll_seconds=_env.number(env, "STOCKOUT_POLL_SECONDS", 30.0, minimum=0.0),
        registry_grace_seconds=_env.number(
            env, "STOCKOUT_REGISTRY_GRACE_SECONDS", 60.0, minimum=0.0
        ),
        max_batch=_env.integer(env, "STOCKOUT_MAX_BATCH", 10_000, minimum=1),
        max_body_bytes=_env.integer(env, "STOCKOUT_MAX_BODY_BYTES", 4 * 1024 * 1024, minimum=1),
        api_key=env.get("STOCKOUT_API_KEY") or None,
        startup_wait_seconds=_env.number(env, "STOCKOUT_STARTUP_WAIT_SECONDS", 60.0, minimum=0.0),
        coalesce_max_rows=_env.integer(env, "STOCKOUT_COALESCE_MAX_ROWS", 64, minimum=1),
        max_staleness_days=_env.integer(env, "STOCKOUT_MAX_STALENESS_DAYS", 60, minimum=0),
        reload_min_seconds=_env.number(env, "STOCKOUT_RELOAD_MIN_SECONDS", 10.0, minimum=0.0),
    )


@dataclass(frozen=True)
class Schedules:
    """Cron schedules of the Prefect deployments (``python -m flows.deploy``).

    Environment variables
    ---------------------
    STOCKOUT_CRON
        The daily retrain (default ``0 5 * * *``: every day at 05:00).
    STOCKOUT_SCORE_CRON
        The morning list; unset: not served.
    STOCKOUT_MONITOR_CRON
        Monitoring; unset: not served.
    """

    train: str = "0 5 * * *"
    score: str | None = None
    monitor: str | None = None


def load_schedules(environ: Mapping[str, str] | None = None) -> Schedules:
    """Read :class:`Schedules` from the environment (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    return Schedules(
        train=_env.text(env, "STOCKOUT_CRON", Schedules.train),
        score=_env.text(env, "STOCKOUT_SCORE_CRON"),
        monitor=_env.text(env, "STOCKOUT_MONITOR_CRON"),
    )
