"""Where runs and models go: the store, the experiment, a client, a link to a run.

Nothing runs at import: the tracking URI is set by :func:`configure_tracking` and by
:func:`connect` (which every registry call goes through), from
:class:`~stockout_sk.config.Settings`.

Only commands that write create a store. :func:`configure_tracking` (training, monitoring's
log) creates a local store that is missing, holding a lock beside it
(:func:`~stockout_sk.registry.locking.file_lock`) so that two first runs in one folder never
initialise the database at once (SQLite migrations interleaved leave it broken for good).
:func:`connect` (every read, and the moves of an alias) never creates one: where the settings
point at a local store that does not exist, it raises :class:`NoStoreError` naming the path.
:func:`moves_lock` serialises the decisions that move an alias.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import mlflow
from mlflow import MlflowClient
from mlflow.entities import LifecycleStage
from mlflow.exceptions import MlflowException

from stockout_sk.config import Settings, default_tracking_uri, load_settings
from stockout_sk.registry.locking import file_lock, lease_lock

__all__ = [
    "NoStoreError",
    "TrackingInfo",
    "configure_tracking",
    "connect",
    "local_store_path",
    "moves_lock",
    "redact_text",
    "redact_uri",
    "resolve_tracking_uri",
    "run_link",
    "store_kind",
]

#: Query parameters whose values are secrets in a store URI (compared lower-case).
_SECRET_PARAMETERS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "token",
        "access_token",
        "auth_token",
        "secret",
        "client_secret",
        "key",
        "api_key",
        "apikey",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "sas",
    }
)
#: Tracking URIs MLflow reads as a hosted service, not as a path.
_NAMED_SERVERS = frozenset({"databricks", "databricks-uc", "uc"})
#: Local stores this process has opened (created if it was allowed to): a store is checked and
#: initialised once per process.
_opened: set[str] = set()


class NoStoreError(LookupError):
    """The settings point at a local MLflow store that does not exist, and nothing may create it."""


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
    """Point MLflow at the configured store, creating it if needed, and make sure the experiment
    exists. For commands that write (training, monitoring's run log).

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
    RegistryBusyError
        Another process kept the store's lock longer than ``settings.lock_wait_seconds``.
    """
    settings = settings or load_settings()
    uri = _use_tracking(settings, create=True)
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

    Never creates a store (see :func:`configure_tracking` for that).

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :func:`~stockout_sk.config.load_settings`.

    Returns
    -------
    client : MlflowClient
    settings : Settings

    Raises
    ------
    NoStoreError
        The settings point at a local store that does not exist.
    """
    settings = settings or load_settings()
    uri = _use_tracking(settings, create=False)
    return MlflowClient(tracking_uri=uri, registry_uri=uri), settings


@contextlib.contextmanager
def moves_lock(client: MlflowClient, settings: Settings, purpose: str) -> Iterator[None]:
    """Hold the lock on moves of ``settings.model_name``'s aliases for the ``with`` block.

    A local store: a file lock beside it (``mlflow.db.moves.lock``), released by the operating
    system if the holder dies. A server store: the registry lease of
    :func:`~stockout_sk.registry.locking.lease_lock`, which other hosts see too. Waits up to
    ``settings.lock_wait_seconds`` (``STOCKOUT_LOCK_WAIT_SECONDS``).

    Raises
    ------
    RegistryBusyError
        "another run is in progress …" after the wait.
    """
    path = local_store_path(resolve_tracking_uri(settings))
    if path is not None:
        lock = file_lock(
            path.with_name(f"{path.name}.moves.lock"),
            purpose=purpose,
            wait_seconds=settings.lock_wait_seconds,
        )
    else:
        lock = lease_lock(
            client, settings.model_name, purpose=purpose, wait_seconds=settings.lock_wait_seconds
        )
    with lock:
        yield


def local_store_path(uri: str) -> Path | None:
    """The file (SQLite) or folder (file store) of a local store; ``None`` for a server.

    Examples
    --------
    >>> local_store_path("sqlite:////srv/stockout/mlflow.db").as_posix()
    '/srv/stockout/mlflow.db'
    >>> local_store_path("http://mlflow:5000") is None
    True
    """
    parts = urlsplit(uri)
    if uri in _NAMED_SERVERS:
        return None
    if parts.scheme == "sqlite":
        if uri in ("sqlite://", "sqlite:///:memory:"):
            return None
        return Path(uri.removeprefix("sqlite:///").split("?", 1)[0]).expanduser()
    if parts.scheme == "file":
        return Path(parts.path).expanduser()
    if parts.scheme == "" or (len(parts.scheme) == 1 and uri[1:3] in (":\\", ":/")):
        return Path(uri).expanduser()  # a plain path (a Windows drive letter is no scheme)
    return None


def store_kind(uri: str) -> str:
    """What kind of store a URI names, without anything that locates it.

    Examples
    --------
    >>> store_kind("sqlite:////srv/mlflow.db"), store_kind("https://u:p@mlflow.example.com")
    ('sqlite', 'https')
    """
    scheme = urlsplit(uri).scheme
    return scheme.split("+", 1)[0] if scheme and len(scheme) > 1 else "file"


def redact_uri(uri: str) -> str:
    """``uri`` without its secrets, for reports and logs.

    A password (``user:***@``), a credential alone in the user part (``https://***@host``, as
    tokens are often passed) and the values of secret query parameters (``?password=***``,
    ``token``, ``key``, signatures, …) are replaced by ``***``.

    Examples
    --------
    >>> redact_uri("postgresql://mlflow:s3cret@db:5432/mlflow")
    'postgresql://mlflow:***@db:5432/mlflow'
    >>> redact_uri("https://ghp_abc123@mlflow.example.com/")
    'https://***@mlflow.example.com/'
    >>> redact_uri("http://mlflow:5000/?token=abc&experiment=7")
    'http://mlflow:5000/?token=***&experiment=7'
    """
    try:
        parts = urlsplit(uri)
        hostname, port, username, password = (
            parts.hostname,
            parts.port,
            parts.username,
            parts.password,
        )
    except ValueError:
        return "<unparseable URI>"
    netloc = parts.netloc
    if username is not None or password is not None:
        host = hostname or ""
        if ":" in host:  # an IPv6 literal keeps its brackets
            host = f"[{host}]"
        if port is not None:
            host += f":{port}"
        user = "***" if password is None else f"{username}:***"
        netloc = f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_PARAMETERS for key, _ in pairs):
            query = urlencode(
                [(k, "***" if k.lower() in _SECRET_PARAMETERS else v) for k, v in pairs],
                safe="*",
            )
    if (netloc, query) == (parts.netloc, parts.query):
        return uri  # nothing secret; urlunsplit would also fold sqlite:////abs into sqlite://abs
    return urlunsplit(parts._replace(netloc=netloc, query=query))


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


def redact_text(text: str, uri: str) -> str:
    """``text`` (an error message, say) with the secrets of ``uri`` replaced by ``***``.

    Errors of HTTP clients quote the URL they called, credentials included: whatever
    :func:`redact_uri` hides is hidden wherever it appears.

    Examples
    --------
    >>> redact_text("GET http://u:pw123@h/api failed", "http://u:pw123@h")
    'GET http://u:***@h/api failed'
    """
    for secret in sorted(_secrets_of(uri), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _secrets_of(uri: str) -> set[str]:
    try:
        parts = urlsplit(uri)
        username, password = parts.username, parts.password
    except ValueError:
        return set()
    found = {password} if password else ({username} if username else set())
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in _SECRET_PARAMETERS and value:
            found.add(value)
    found |= {quote(secret, safe="") for secret in found}  # as it appears in a URL
    return {secret for secret in found if len(secret) >= 3}


def _use_tracking(settings: Settings, *, create: bool) -> str:
    uri = resolve_tracking_uri(settings)
    _open_store(uri, create=create, wait_seconds=settings.lock_wait_seconds)
    # Process-wide by MLflow's design: models:/ URIs and log_model resolve through these.
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def _open_store(uri: str, *, create: bool, wait_seconds: float) -> None:
    """Check (and, with ``create``, initialise) a local store once per process."""
    path = local_store_path(uri)
    if path is None or uri in _opened:
        return
    if not path.exists():
        if not create:
            raise NoStoreError(
                f"no MLflow store at {path} ({uri}): nothing has been trained or registered "
                "there. Run this command from the folder you trained in, or point "
                "MLFLOW_TRACKING_URI at your store; `stockout-sk train --data DIR` creates one"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    if urlsplit(uri).scheme == "sqlite":
        # MLflow creates or migrates the database on first use; two processes doing it at once
        # leave it broken (alembic's _alembic_tmp_ tables), so one at a time, under a lock.
        with file_lock(
            path.with_name(f"{path.name}.lock"),
            purpose="opening the MLflow store",
            wait_seconds=wait_seconds,
        ):
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)
    _opened.add(uri)


def _local_artifact_location(tracking_uri: str, experiment: str) -> str | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///")).expanduser().resolve()
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in experiment)
    return (database.parent / "mlartifacts" / slug).as_uri()
