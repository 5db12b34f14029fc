"""The operator's moves and view: :func:`promote`, :func:`rollback`, :func:`show`.

:func:`promote` moves ``production`` to a chosen version; :func:`rollback` moves it back to the
version recorded on the current one as ``stockout.previous_production``. Both are recorded like
the gate's decisions and set the serving mode back to ``model``. Each returns a typed result whose
``to_dict`` is the ``stockout-sk registry … --json`` line.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from stockout_sk.clock import utc_now
from stockout_sk.config import Settings
from stockout_sk.registry.state import (
    NoProductionModelError,
    aliases_of,
    production_version,
    record,
    tag_float,
    write_serving_mode,
)
from stockout_sk.registry.tracking import connect, resolve_tracking_uri
from stockout_sk.vocabulary import Alias, Decision, ServingMode, Tag, holdout_tag

__all__ = [
    "NoPreviousProductionError",
    "PromotionResult",
    "RegistryView",
    "RollbackResult",
    "VersionInfo",
    "promote",
    "rollback",
    "show",
]

logger = logging.getLogger(__name__)


class NoPreviousProductionError(LookupError):
    """The production version records no previous production version to roll back to."""


@dataclass(frozen=True)
class PromotionResult:
    """What :func:`promote` did.

    Attributes
    ----------
    model_name, version : str
    previous_production : str or None
        The version that held ``production`` before (what a rollback returns to).
    decision : str
        ``promoted``.
    reason : str
    aliases : dict
        ``{"production": version or None, "staging": version or None}`` afterwards.
    """

    model_name: str
    version: str
    previous_production: str | None
    decision: str
    reason: str
    aliases: dict[str, str | None]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the ``registry promote --json`` line)."""
        return asdict(self)


@dataclass(frozen=True)
class RollbackResult:
    """What :func:`rollback` did: ``production`` moved from one version to another."""

    model_name: str
    from_version: str
    to_version: str
    reason: str
    aliases: dict[str, str | None]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the ``registry rollback --json`` line)."""
        return asdict(self)


@dataclass(frozen=True)
class VersionInfo:
    """One registered version as :func:`show` lists it (its tags read back)."""

    version: str
    aliases: list[str]
    run_id: str | None
    created_at: str | None
    status: str
    decision: str | None
    reason: str | None
    holdout_f1: float | None
    threshold: float | None
    previous_production: str | None
    trained_at: str | None


@dataclass(frozen=True)
class RegistryView:
    """The registered model at a glance (:func:`show`).

    Attributes
    ----------
    model_name, tracking_uri : str
    registered : bool
        ``False`` when the model has never been registered (then everything else is empty).
    serving_mode : str
        ``model`` or ``rule-baseline``.
    aliases : dict
        ``{alias: version}``.
    versions : list of VersionInfo
        Newest first.
    """

    model_name: str
    tracking_uri: str
    registered: bool
    serving_mode: str
    aliases: dict[str, str]
    versions: list[VersionInfo]

    def version(self, number: str) -> VersionInfo | None:
        """The listed version ``number``, or ``None``."""
        return next((v for v in self.versions if v.version == str(number)), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the ``registry show --json`` line)."""
        return asdict(self)


def promote(
    version: str | int, settings: Settings | None = None, *, reason: str = "manual"
) -> PromotionResult:
    """Move ``production`` to ``version`` (operator action), recording the previous holder.

    Parameters
    ----------
    version : str or int
        An existing version of the registered model.
    settings : Settings, optional
    reason : str, default="manual"
        Recorded as ``stockout.reason`` on the version and its run.

    Returns
    -------
    PromotionResult
    """
    client, settings = connect(settings)
    name, version = settings.model_name, str(version)
    target = _get_version(client, name, version)
    current = production_version(settings)
    if current == version:
        # Still an operator saying "serve this model": leave a rule-baseline fallback.
        write_serving_mode(
            client, name, ServingMode.MODEL, f"version {version} promoted ({reason})"
        )
        logger.info("%s version %s already holds '%s'", name, version, Alias.PRODUCTION)
        return PromotionResult(
            model_name=name,
            version=version,
            previous_production=target.tags.get(Tag.PREVIOUS_PRODUCTION) or None,
            decision=Decision.PROMOTED,
            reason=f"already {Alias.PRODUCTION}",
            aliases=aliases_of(client, name),
        )
    client.set_registered_model_alias(name, Alias.PRODUCTION, version)
    write_serving_mode(client, name, ServingMode.MODEL, f"version {version} promoted ({reason})")
    record(
        client,
        target,
        {
            Tag.DECISION: Decision.PROMOTED,
            Tag.REASON: reason,
            Tag.PREVIOUS_PRODUCTION: current or "",
            Tag.DECIDED_AT: utc_now(),
        },
    )
    logger.info("%s version %s promoted to '%s' (%s)", name, version, Alias.PRODUCTION, reason)
    return PromotionResult(
        model_name=name,
        version=version,
        previous_production=current,
        decision=Decision.PROMOTED,
        reason=reason,
        aliases=aliases_of(client, name),
    )


def rollback(
    settings: Settings | None = None, *, reason: str = "manual rollback"
) -> RollbackResult:
    """Move ``production`` back to the version that held it before the current one.

    Parameters
    ----------
    settings : Settings, optional
    reason : str, default="manual rollback"
        Recorded on the demoted version (and its run) with ``stockout.decision=rolled-back``.

    Returns
    -------
    RollbackResult

    Raises
    ------
    NoProductionModelError
        Nothing holds ``production``.
    NoPreviousProductionError
        The production version records no previous one (or it no longer exists); monitoring
        falls back to the rule baseline in that case.
    """
    client, settings = connect(settings)
    name = settings.model_name
    current = production_version(settings)
    if current is None:
        raise NoProductionModelError(
            f"registered model {name!r} has no '{Alias.PRODUCTION}' alias: there is nothing "
            f"to roll back; promote a version with `stockout-sk registry promote VERSION`"
        )
    demoted = client.get_model_version(name, current)
    previous = demoted.tags.get(Tag.PREVIOUS_PRODUCTION) or None
    if previous is None:
        raise NoPreviousProductionError(
            f"{name} version {current} holds '{Alias.PRODUCTION}' but records no previous "
            f"production version (tag '{Tag.PREVIOUS_PRODUCTION}'); promote a version "
            "explicitly with `stockout-sk registry promote VERSION`"
        )
    try:
        restored = client.get_model_version(name, previous)
    except MlflowException as error:
        raise NoPreviousProductionError(
            f"{name} version {current} records version {previous} as the previous production "
            f"version, but it cannot be read ({error}); promote a version explicitly"
        ) from error
    client.set_registered_model_alias(name, Alias.PRODUCTION, previous)
    write_serving_mode(client, name, ServingMode.MODEL, f"rolled back to version {previous}")
    now = utc_now()
    record(
        client,
        demoted,
        {Tag.DECISION: Decision.ROLLED_BACK, Tag.REASON: reason, Tag.DECIDED_AT: now},
    )
    record(
        client,
        restored,
        {Tag.RESTORED_FROM: current, Tag.RESTORED_AT: now},
    )
    logger.info(
        "%s: '%s' moved back from version %s to %s (%s)",
        name,
        Alias.PRODUCTION,
        current,
        previous,
        reason,
    )
    return RollbackResult(
        model_name=name,
        from_version=current,
        to_version=previous,
        reason=reason,
        aliases=aliases_of(client, name),
    )


def show(settings: Settings | None = None) -> RegistryView:
    """The registered model at a glance: aliases, serving mode and every version, newest first.

    Parameters
    ----------
    settings : Settings, optional

    Returns
    -------
    RegistryView
        ``registered=False`` (and nothing listed) when the model was never registered.
    """
    client, settings = connect(settings)
    name = settings.model_name
    uri = resolve_tracking_uri(settings)
    try:
        model = client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return RegistryView(name, uri, False, ServingMode.MODEL, {}, [])
    by_version: dict[str, list[str]] = {}
    for alias, v in model.aliases.items():
        by_version.setdefault(str(v), []).append(alias)
    versions = []
    for mv in sorted(
        client.search_model_versions(f"name='{name}'"), key=lambda m: int(m.version), reverse=True
    ):
        tags = mv.tags or {}
        versions.append(
            VersionInfo(
                version=str(mv.version),
                aliases=sorted(by_version.get(str(mv.version), [])),
                run_id=mv.run_id,
                created_at=_iso_seconds(mv.creation_timestamp),
                status=mv.status,
                decision=tags.get(Tag.DECISION),
                reason=tags.get(Tag.REASON),
                holdout_f1=tag_float(tags.get(holdout_tag("f1"))),
                threshold=tag_float(tags.get(Tag.THRESHOLD)),
                previous_production=tags.get(Tag.PREVIOUS_PRODUCTION) or None,
                trained_at=tags.get(Tag.TRAINED_AT),
            )
        )
    return RegistryView(
        model_name=name,
        tracking_uri=uri,
        registered=True,
        serving_mode=model.tags.get(Tag.SERVING_MODE, ServingMode.MODEL),
        aliases={alias: str(v) for alias, v in sorted(model.aliases.items())},
        versions=versions,
    )


def _get_version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    try:
        return client.get_model_version(name, version)
    except MlflowException as error:
        known = [str(m.version) for m in client.search_model_versions(f"name='{name}'")]
        raise ValueError(
            f"{name} has no version {version!r}; existing versions: {sorted(known, key=int)}. "
            "See `stockout-sk registry show`"
        ) from error


def _iso_seconds(milliseconds: int | None) -> str | None:
    """An MLflow timestamp (epoch milliseconds) as ISO 8601 UTC to the second."""
    if milliseconds is None:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC).isoformat(timespec="seconds")
