"""What the registry holds and records: the aliases, the serving-mode switch, tags on a version.

A registered-model tag ``stockout.serving_mode`` (``model`` | ``rule-baseline``) is the fallback
switch the API honours: monitoring sets ``rule-baseline`` when there is nothing to roll back to;
every move of ``production`` sets it back to ``model`` and is recorded the same way, as tags on the
version *and* on the run that produced it (:func:`record`). Numbers are written as tags with six
significant digits (:func:`tag_number`) and read back leniently (:func:`tag_float`).
"""

from __future__ import annotations

from collections.abc import Mapping

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from stockout_sk.clock import utc_now
from stockout_sk.config import Settings
from stockout_sk.evaluate import METRIC_KEYS
from stockout_sk.registry.history import actor, record_move
from stockout_sk.registry.tracking import connect, moves_lock
from stockout_sk.vocabulary import Alias, HistoryAction, ServingMode, Tag

__all__ = [
    "HOLDOUT_METRICS",
    "NoProductionModelError",
    "aliases_of",
    "get_serving_mode",
    "production_version",
    "record",
    "set_serving_mode",
    "tag_float",
    "tag_number",
    "tag_version",
    "write_serving_mode",
]

#: The holdout metrics written on a version as ``stockout.holdout.<metric>`` tags: an evaluation
#: block's metrics, the threshold apart (it has its own tag, ``stockout.threshold``).
HOLDOUT_METRICS: tuple[str, ...] = tuple(key for key in METRIC_KEYS if key != "threshold")


class NoProductionModelError(LookupError):
    """The registered model has no version with the requested alias (or is not registered)."""


def production_version(
    settings: Settings | None = None, *, alias: str = Alias.PRODUCTION
) -> str | None:
    """The version holding ``alias`` (default ``production``), or ``None``. A cheap poll.

    Parameters
    ----------
    settings : Settings, optional
    alias : str, default="production"

    Returns
    -------
    str or None
        ``None`` when the model is not registered or no version holds ``alias``.
    """
    client, settings = connect(settings)
    try:
        return str(client.get_model_version_by_alias(settings.model_name, alias).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def get_serving_mode(settings: Settings | None = None) -> str:
    """``"model"`` or ``"rule-baseline"`` (the registered-model tag; ``"model"`` when unset).

    Parameters
    ----------
    settings : Settings, optional

    Returns
    -------
    str
    """
    client, settings = connect(settings)
    try:
        model = client.get_registered_model(settings.model_name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return ServingMode.MODEL
        raise
    return model.tags.get(Tag.SERVING_MODE, ServingMode.MODEL)


def set_serving_mode(
    mode: str, settings: Settings | None = None, *, reason: str = "manual", by: str = "operator"
) -> str:
    """Set the registered-model tag ``stockout.serving_mode`` (the API's fallback switch).

    Made under the moves lock and recorded in the alias history: a fallback to the rule
    baseline marks the version holding ``production`` as one a rollback must not return to.

    Parameters
    ----------
    mode : {"model", "rule-baseline"}
    settings : Settings, optional
    reason : str, default="manual"
        Recorded as ``stockout.serving_mode_reason`` and in the history.
    by : str, default="operator"
        Who switches, for the history (monitoring passes ``"monitoring"``).

    Returns
    -------
    str
        The mode now set.
    """
    if mode not in tuple(ServingMode):
        raise ValueError(
            f"serving mode must be one of {[str(m) for m in ServingMode]}, got {mode!r}"
        )
    client, settings = connect(settings)
    with moves_lock(client, settings, f"switching serving to {mode}"):
        write_serving_mode(client, settings.model_name, mode, reason)
        holder = production_version(settings)
        record_move(
            client,
            settings.model_name,
            action=(
                HistoryAction.FALLBACK
                if mode == ServingMode.RULE_BASELINE
                else HistoryAction.MODEL_SERVING
            ),
            from_version=holder,
            to_version=holder,
            by=actor(by),
            reason=reason,
        )
    return mode


def write_serving_mode(client: MlflowClient, name: str, mode: str, reason: str) -> None:
    """Set the serving mode of registered model ``name``, with why and when."""
    client.set_registered_model_tag(name, Tag.SERVING_MODE, mode)
    client.set_registered_model_tag(name, Tag.SERVING_MODE_REASON, reason)
    client.set_registered_model_tag(name, Tag.SERVING_MODE_AT, utc_now())


def aliases_of(client: MlflowClient, name: str) -> dict[str, str | None]:
    """``{"production": version or None, "staging": version or None}`` of ``name`` now."""
    aliases = {str(k): str(v) for k, v in client.get_registered_model(name).aliases.items()}
    return {
        Alias.PRODUCTION: aliases.get(Alias.PRODUCTION),
        Alias.STAGING: aliases.get(Alias.STAGING),
    }


def tag_version(client: MlflowClient, name: str, version: str, tags: Mapping[str, str]) -> None:
    """Write ``tags`` on one model version."""
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def record(client: MlflowClient, mv: ModelVersion, tags: Mapping[str, str]) -> None:
    """Write the same tags on a model version and on the run that produced it."""
    tag_version(client, mv.name, str(mv.version), tags)
    if mv.run_id:
        for key, value in tags.items():
            client.set_tag(mv.run_id, key, value)


def tag_number(value: float | None) -> str:
    """A number as a tag: six significant digits, ``""`` for ``None``.

    Examples
    --------
    >>> tag_number(0.123456789), tag_number(None)
    ('0.123457', '')
    """
    return "" if value is None else f"{value:.6g}"


def tag_float(value: str | None) -> float | None:
    """A tag read back as a number: ``None`` when unset, empty or not a number.

    Examples
    --------
    >>> tag_float("0.75"), tag_float(""), tag_float(None), tag_float("n/a")
    (0.75, None, None, None)
    """
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        return None
