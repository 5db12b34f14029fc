"""The operator's moves of ``production``: :func:`promote` and :func:`rollback`.

:func:`promote` moves ``production`` to a chosen version (one the gate never evaluated only with
``force``); :func:`rollback` moves it back to the last version that held it and was not rolled
back from (:func:`~stockout_sk.registry.history.rollback_target`). Both hold the moves lock
(:func:`~stockout_sk.registry.tracking.moves_lock`), are recorded like the gate's decisions and
in the alias history, and set the serving mode back to ``model``. Each returns a typed result
whose ``to_dict`` is the ``stockout-sk registry … --json`` line.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from stockout_sk.clock import utc_now
from stockout_sk.config import Settings
from stockout_sk.registry.history import actor, record_move
from stockout_sk.registry.state import (
    NoProductionModelError,
    aliases_of,
    production_version,
    record,
    write_serving_mode,
)
from stockout_sk.registry.tracking import connect, moves_lock
from stockout_sk.registry.view import is_evaluated, show
from stockout_sk.vocabulary import Alias, Decision, HistoryAction, ServingMode, Tag, holdout_tag

__all__ = [
    "NoPreviousProductionError",
    "PromotionResult",
    "RollbackResult",
    "UnevaluatedVersionError",
    "promote",
    "rollback",
]

logger = logging.getLogger(__name__)


class NoPreviousProductionError(LookupError):
    """No earlier production version qualifies for a rollback (the message says why)."""


class UnevaluatedVersionError(ValueError):
    """A manual promotion of a version the gate never evaluated, without ``force``."""


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
    """What :func:`rollback` did: ``production`` moved from one version to another.

    ``skipped`` lists the earlier holders passed over, each with why.
    """

    model_name: str
    from_version: str
    to_version: str
    reason: str
    aliases: dict[str, str | None]
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the ``registry rollback --json`` line)."""
        return asdict(self)


def promote(
    version: str | int,
    settings: Settings | None = None,
    *,
    reason: str = "manual",
    force: bool = False,
) -> PromotionResult:
    """Move ``production`` to ``version`` (operator action), recording the previous holder.

    Parameters
    ----------
    version : str or int
        An existing version of the registered model.
    settings : Settings, optional
    reason : str, default="manual"
        Recorded as ``stockout.reason`` on the version and its run, and in the history.
    force : bool, default=False
        Promote a version the gate never evaluated (no holdout F1 or threshold recorded, or
        marked ``unevaluated``: its training run ended before the decision).

    Returns
    -------
    PromotionResult

    Raises
    ------
    UnevaluatedVersionError
        ``version`` was never evaluated and ``force`` is not set.
    RegistryBusyError
        Another run is deciding a move right now.
    """
    client, settings = connect(settings)
    name, version = settings.model_name, str(version)
    with moves_lock(client, settings, f"promoting version {version} by hand"):
        target = _get_version(client, name, version)
        tags = target.tags or {}
        if not is_evaluated(tags):
            if not force:
                f1 = tags.get(holdout_tag("f1")) or "not recorded"
                raise UnevaluatedVersionError(
                    f"{name} version {version} was never evaluated by the gate (decision "
                    f"{tags.get(Tag.DECISION) or 'none'}, holdout F1 {f1}, threshold "
                    f"{tags.get(Tag.THRESHOLD) or 'not recorded'}): its training run ended "
                    "before the decision. Check it (`stockout-sk registry show`), then promote "
                    "it with --force if you mean to"
                )
            reason = f"{reason} (forced: never evaluated by the gate)"
        current = production_version(settings)
        if current == version:
            # Still an operator saying "serve this model": leave a rule-baseline fallback.
            write_serving_mode(
                client, name, ServingMode.MODEL, f"version {version} promoted ({reason})"
            )
            record_move(
                client,
                name,
                action=HistoryAction.MODEL_SERVING,
                from_version=current,
                to_version=version,
                by=actor("operator"),
                reason=reason,
            )
            logger.info("%s version %s already holds '%s'", name, version, Alias.PRODUCTION)
            return PromotionResult(
                model_name=name,
                version=version,
                previous_production=tags.get(Tag.PREVIOUS_PRODUCTION) or None,
                decision=Decision.PROMOTED,
                reason=f"already {Alias.PRODUCTION}",
                aliases=aliases_of(client, name),
            )
        client.set_registered_model_alias(name, Alias.PRODUCTION, version)
        write_serving_mode(
            client, name, ServingMode.MODEL, f"version {version} promoted ({reason})"
        )
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
        record_move(
            client,
            name,
            action=HistoryAction.MANUAL_PROMOTION,
            from_version=current,
            to_version=version,
            by=actor("operator"),
            reason=reason,
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
    settings: Settings | None = None, *, reason: str = "manual rollback", by: str = "operator"
) -> RollbackResult:
    """Move ``production`` back to the last version that held it and was not rolled back from.

    Not an undo of the last move: a version ``production`` was rolled back from, or that
    monitoring fell back from, is passed over, and so is one that no longer exists (see
    :func:`~stockout_sk.registry.history.rollback_target`).

    Parameters
    ----------
    settings : Settings, optional
    reason : str, default="manual rollback"
        Recorded on the demoted version (and its run) with ``stockout.decision=rolled-back``,
        and in the history.
    by : str, default="operator"
        Who rolls back, for the history (monitoring passes ``"monitoring"``).

    Returns
    -------
    RollbackResult

    Raises
    ------
    NoProductionModelError
        Nothing holds ``production``.
    NoPreviousProductionError
        No earlier production version qualifies (the message lists those passed over);
        monitoring falls back to the rule baseline in that case.
    RegistryBusyError
        Another run is deciding a move right now.
    """
    client, settings = connect(settings)
    name = settings.model_name
    with moves_lock(client, settings, "rolling back production"):
        view = show(settings)
        current = view.aliases.get(Alias.PRODUCTION)
        if current is None:
            raise NoProductionModelError(
                f"registered model {name!r} has no '{Alias.PRODUCTION}' alias: there is "
                f"nothing to roll back; promote a version with `stockout-sk registry promote "
                "VERSION`"
            )
        plan = view.rollback_plan()
        if plan.target is None:
            passed = f" (passed over: {'; '.join(plan.skipped)})" if plan.skipped else ""
            raise NoPreviousProductionError(
                f"{name} version {current} holds '{Alias.PRODUCTION}' and no earlier "
                f"production version qualifies for a rollback{passed}; promote a version "
                "explicitly with `stockout-sk registry promote VERSION`"
            )
        previous = plan.target
        demoted = client.get_model_version(name, current)
        restored = client.get_model_version(name, previous)
        client.set_registered_model_alias(name, Alias.PRODUCTION, previous)
        write_serving_mode(client, name, ServingMode.MODEL, f"rolled back to version {previous}")
        now = utc_now()
        record(
            client,
            demoted,
            {Tag.DECISION: Decision.ROLLED_BACK, Tag.REASON: reason, Tag.DECIDED_AT: now},
        )
        record(client, restored, {Tag.RESTORED_FROM: current, Tag.RESTORED_AT: now})
        record_move(
            client,
            name,
            action=HistoryAction.ROLLED_BACK,
            from_version=current,
            to_version=previous,
            by=actor(by),
            reason=reason,
        )
    logger.info(
        "%s: '%s' moved back from version %s to %s (%s)%s",
        name,
        Alias.PRODUCTION,
        current,
        previous,
        reason,
        f"; passed over {plan.skipped}" if plan.skipped else "",
    )
    return RollbackResult(
        model_name=name,
        from_version=current,
        to_version=previous,
        reason=reason,
        aliases=aliases_of(client, name),
        skipped=plan.skipped,
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
