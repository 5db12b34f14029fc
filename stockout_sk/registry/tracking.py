"""Where runs and models go: the tracking URI, the experiment, a client, a link to a run.

Nothing runs at import: the tracking URI is set by :func:`configure_tracking` and by
:func:`connect` (which every registry call goes through), from
:class:`~stockout_sk.config.Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import LifecycleStage
from mlflow.exceptions import MlflowException

from stockout_sk.config import Settings, default_tracking_uri, load_settings

__all__ = ["TrackingInfo", "configure_tracking", "connect", "resolve_tracking_uri", "run_link"]


@dataclass(frozen=True)
class TrackingInfo:
    """Where runs and models go.

    Attributes
    ----------
    tracking_uri : str
        Tracking and registry store.
    experiment : str
        Experiment name.
    experiment_id : str
    artifact_location : str
        Where the experiment's artifacts are stored.
    """

    tracking_uri: str
    experiment: str
    experiment_id: str
    artifact_location: str


def resolve_tracking_uri(settings: Settings | None = None) -> str:
    """The tracking URI of ``settings``, or the embedded SQLite store in the working directory.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :func:`~stockout_sk.config.load_settings`.

    Returns
    -------
    str
    """
    settings = settings or load_settings()
    return settings.tracking_uri or default_tracking_uri()


def configure_tracking(settings: Settings | None = None) -> TrackingInfo:
    """Point MLflow at the configured store and make sure the experiment exists.

    With a SQLite store (the default, ``sqlite:///<cwd>/mlflow.db``), a new experiment keeps its
    artifacts in ``mlartifacts/<experiment>`` next to the database file, so one folder holds the
    whole embedded store. With a server URI the server decides where artifacts go.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :func:`~stockout_sk.config.load_settings` (``MLFLOW_TRACKING_URI``,
        ``STOCKOUT_EXPERIMENT``).

    Returns
    -------
    TrackingInfo

    Raises
    ------
    ValueError
        The experiment exists but was deleted.
    """
    settings = settings or load_settings()
    uri = _use_tracking(settings)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(settings.experiment)
    if experiment is None:
        location = _local_artifact_location(uri, settings.experiment)
        try:
            experiment_id = client.create_experiment(
                settings.experiment, artifact_location=location
            )
        except MlflowException:
            # Another process created it between our lookup and create: use theirs.
            experiment = client.get_experiment_by_name(settings.experiment)
            if experiment is None:
                raise
            experiment_id = experiment.experiment_id
        experiment = client.get_experiment(experiment_id)
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise ValueError(
            f"MLflow experiment {settings.experiment!r} (id {experiment.experiment_id}) in "
            f"{uri} is deleted; restore it (`mlflow experiments restore --experiment-id "
            f"{experiment.experiment_id}`) or set STOCKOUT_EXPERIMENT to another name"
        )
    return TrackingInfo(
        tracking_uri=uri,
        experiment=settings.experiment,
        experiment_id=str(experiment.experiment_id),
        artifact_location=str(experiment.artifact_location),
    )


def connect(settings: Settings | None = None) -> tuple[MlflowClient, Settings]:
    """A client on the configured store, with MLflow pointed at it, and the settings used.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :func:`~stockout_sk.config.load_settings`.

    Returns
    -------
    client : MlflowClient
    settings : Settings
    """
    settings = settings or load_settings()
    uri = _use_tracking(settings)
    return MlflowClient(tracking_uri=uri, registry_uri=uri), settings


def run_link(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """A link to the run in the MLflow UI, or the command that shows it for a local store.

    Parameters
    ----------
    tracking_uri, experiment_id, run_id : str

    Returns
    -------
    str
    """
    if tracking_uri.startswith(("http://", "https://")):
        return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return (
        f"run {run_id} in {tracking_uri} (browse with `mlflow ui --backend-store-uri "
        f"{tracking_uri}` → experiment {experiment_id})"
    )


def _use_tracking(settings: Settings) -> str:
    uri = resolve_tracking_uri(settings)
    # Process-wide by MLflow's design: models:/ URIs and log_model resolve through these.
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def _local_artifact_location(tracking_uri: str, experiment: str) -> str | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///")).expanduser().resolve()
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in experiment)
    return (database.parent / "mlartifacts" / slug).as_uri()
