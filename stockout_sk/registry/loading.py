"""Loading a registered model safely: skops only, with our own trusted types, nothing else.

Anyone who can write to the registry chooses what a version's artifact holds. MLflow's own
loader (``mlflow.sklearn.load_model``) obeys the format the artifact declares — pickle and
cloudpickle run arbitrary code when loaded — takes skops' trusted types from the artifact's own
``MLmodel`` file, and prepends the artifact's ``code/`` folder to ``sys.path`` on every load. So
every process of ours (the API, ``score``, ``monitor``, the promotion gate) loads through
:func:`load_pipeline` instead, which:

* downloads only the ``MLmodel`` file and the serialized model it names (never ``code/``; our
  package is already importable), into a temporary folder removed afterwards;
* reads ``MLmodel`` with a safe YAML parser and refuses any format but ``skops`` — a pickle is
  never opened;
* refuses a skops file holding any type outside :data:`~stockout_sk.registry.TRUSTED_TYPES`
  (:func:`skops.io.get_untrusted_types` reads the file's schema without building anything),
  then loads it with that same list;
* leaves ``sys.path`` as it was.

A refusal is an :class:`UnsafeModelError` saying which version, what was found and what to do;
the API then answers from the rule baseline and says why.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import mlflow
import yaml

from stockout_sk.registry.packaging import TRUSTED_TYPES

__all__ = ["MODEL_FORMAT", "UnsafeModelError", "load_pipeline"]

#: The one serialization format our processes load (MLflow's sklearn flavor name for it).
MODEL_FORMAT = "skops"
_FLAVOR = "sklearn"


class UnsafeModelError(ValueError):
    """A registered model our processes refuse to load (the message says why and what to do)."""


def load_pipeline(name: str, version: str | int, tracking_uri: str) -> Any:
    """The pipeline of registered version ``name``/``version``, loaded only if it is safe.

    Parameters
    ----------
    name : str
        Registered model name.
    version : str or int
        Its version number.
    tracking_uri : str
        The registry (also used to resolve the artifact's location).

    Returns
    -------
    object
        The fitted pipeline.

    Raises
    ------
    UnsafeModelError
        The artifact is not a skops model, names a file outside itself, or holds a type that
        is not in :data:`~stockout_sk.registry.TRUSTED_TYPES`.
    """
    uri = f"models:/{name}/{version}"
    where = f"{name} version {version}"
    # MLflow resolves a models:/ URI through the process-wide registry URI (whatever is passed
    # below), as every registry call of ours sets it (see tracking.connect).
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    with tempfile.TemporaryDirectory(prefix="stockout-model-") as folder:
        mlmodel = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"{uri}/MLmodel",
                dst_path=folder,
                tracking_uri=tracking_uri,
                registry_uri=tracking_uri,
            )
        )
        file_name = model_file(mlmodel.read_text(encoding="utf-8"), where)
        path = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"{uri}/{file_name}",
                dst_path=folder,
                tracking_uri=tracking_uri,
                registry_uri=tracking_uri,
            )
        )
        check_trusted(path, where)
        import skops.io  # imported where a model is read: ~1 s that `registry show` never needs

        return skops.io.load(path, trusted=list(TRUSTED_TYPES))


def model_file(mlmodel_text: str, where: str = "the model") -> str:
    """The skops file an ``MLmodel`` document names, after checking the format it declares.

    Parameters
    ----------
    mlmodel_text : str
        The ``MLmodel`` file's text (YAML).
    where : str
        What the model is, for messages (``"stockout-classifier version 3"``).

    Returns
    -------
    str
        The model file's path inside the artifact (relative, POSIX).

    Raises
    ------
    UnsafeModelError
        Not a scikit-learn model in skops format, or a file name that leaves the artifact.

    Examples
    --------
    >>> model_file("flavors:\\n  sklearn:\\n    pickled_model: model.skops\\n"
    ...            "    serialization_format: skops\\n")
    'model.skops'
    >>> model_file("flavors:\\n  sklearn:\\n    pickled_model: model.pkl\\n"
    ...            "    serialization_format: cloudpickle\\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stockout_sk.registry.loading.UnsafeModelError: the model is stored as 'cloudpickle', not...
    """
    try:
        document = yaml.safe_load(mlmodel_text)
    except yaml.YAMLError as error:
        raise UnsafeModelError(f"{where}: its MLmodel file is not valid YAML ({error})") from None
    flavors = document.get("flavors") if isinstance(document, dict) else None
    flavor = flavors.get(_FLAVOR) if isinstance(flavors, dict) else None
    if not isinstance(flavor, dict):
        found = sorted(flavors) if isinstance(flavors, dict) else []
        raise UnsafeModelError(
            f"{where} is not a scikit-learn model (MLmodel flavors {found}); stockout-sk "
            f"serves only models it logged itself ('{_FLAVOR}' flavor, {MODEL_FORMAT} format). "
            "Register a model with `stockout-sk train`, or move the alias to one that was"
        )
    declared = flavor.get("serialization_format", "pickle")
    if declared != MODEL_FORMAT:
        raise UnsafeModelError(
            f"{where} is stored as {declared!r}, not {MODEL_FORMAT!r}: refused without opening "
            "it (loading a pickle or cloudpickle file runs whatever code it holds). stockout-sk "
            "logs every model in skops format; re-train (`stockout-sk train`) or move the "
            "alias to a version it logged, and find out who registered this one"
        )
    name = flavor.get("pickled_model")
    parts = PurePosixPath(name).parts if isinstance(name, str) and name else ()
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name:
        raise UnsafeModelError(
            f"{where}: its MLmodel names the model file {name!r}, which is not a file inside "
            "the artifact; refused"
        )
    return str(PurePosixPath(name))


def check_trusted(path: str | Path, where: str = "the model") -> None:
    """Refuse a skops file that holds any type outside our trusted list, naming them.

    :func:`skops.io.get_untrusted_types` reads the file's schema; nothing in it is built or
    imported.

    Raises
    ------
    UnsafeModelError
        The file is not a skops archive, or it holds untrusted types.
    """
    import skops.io  # imported where a model is read (as in load_pipeline)

    try:
        found = skops.io.get_untrusted_types(file=path)
    except Exception as error:  # a corrupt or foreign file: whatever it is, it is not loaded
        raise UnsafeModelError(
            f"{where}: its model file is not a readable skops archive "
            f"({type(error).__name__}: {error}); refused"
        ) from None
    extra = sorted(set(found) - set(TRUSTED_TYPES))
    if extra:
        raise UnsafeModelError(
            f"{where} holds type(s) {extra} outside stockout_sk.registry.TRUSTED_TYPES: "
            "refused without loading it. A model stockout-sk trained holds none; if this "
            "version is yours, review those types before adding any to the list"
        )
