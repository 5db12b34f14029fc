"""The alias history: every move of ``production`` and of the serving mode, who, when and why.

MLflow keeps only where an alias points now. Every move stockout-sk makes — the gate's
promotion, an operator's promote or rollback, monitoring's rollback or fallback to the rule
baseline, a switch back to the model — is written as one registered-model tag
``stockout.history.<UTC time>-<random>`` holding a JSON :class:`AliasMove`; keys sort by time
and never collide. The newest :data:`MAX_MOVES` are kept.

:func:`rollback_target` reads it: a rollback returns to the last version that held
``production`` and was **not rolled back from** — not an undo of the last move, which after a
manual fix would re-install the version that was just removed.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlflow import MlflowClient

from stockout_sk.vocabulary import Decision, HistoryAction, Tag

__all__ = [
    "HISTORY_TAG_PREFIX",
    "MAX_MOVES",
    "AliasMove",
    "RollbackPlan",
    "actor",
    "read_history",
    "record_move",
    "rollback_target",
]

logger = logging.getLogger(__name__)

#: Registered-model tags holding the history (one move each).
HISTORY_TAG_PREFIX = "stockout.history."
#: Moves kept; older ones are dropped when a move is recorded (the registry's tags are read on
#: every poll of the API).
MAX_MOVES = 200
#: Longest reason kept in a move (MLflow allows far more; a move is read by a person).
_REASON_CHARS = 2000


@dataclass(frozen=True)
class AliasMove:
    """One move of ``production`` (or of the serving mode), as recorded.

    Attributes
    ----------
    at : str
        ISO UTC time of the move.
    action : str
        A :class:`~stockout_sk.vocabulary.HistoryAction`.
    from_version, to_version : str or None
        Who held ``production`` before and after (a serving-mode switch keeps it: both are the
        version holding it then).
    by : str
        Who moved it: ``"gate"``, ``"operator"`` or ``"monitoring"``, with the user and host.
    reason : str
    """

    at: str
    action: str
    from_version: str | None
    to_version: str | None
    by: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (a line of ``registry history --json``)."""
        return asdict(self)


@dataclass(frozen=True)
class RollbackPlan:
    """Where a rollback from the current production version would go, and why.

    Attributes
    ----------
    current : str or None
        The version holding ``production``.
    target : str or None
        The version to return to (``None``: none qualifies).
    skipped : list of str
        Earlier holders passed over, each with the reason.
    source : str
        ``"history"`` (the recorded moves) or ``"tags"`` (a registry from before the history
        was recorded: the versions' ``stockout.previous_production`` chain).
    """

    current: str | None
    target: str | None
    skipped: list[str] = field(default_factory=list)
    source: str = "history"


def actor(role: str) -> str:
    """``"<role> (<user>@<host>, pid <pid>)"``: who is moving an alias, for the history."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown user"
    return f"{role} ({user}@{socket.gethostname()}, pid {os.getpid()})"


def record_move(
    client: MlflowClient,
    name: str,
    *,
    action: str,
    from_version: str | None,
    to_version: str | None,
    by: str,
    reason: str,
) -> AliasMove:
    """Write one move of registered model ``name`` and drop moves beyond :data:`MAX_MOVES`.

    Returns
    -------
    AliasMove
    """
    now = datetime.now(UTC)
    move = AliasMove(
        at=now.isoformat(timespec="seconds"),
        action=str(action),
        from_version=from_version,
        to_version=to_version,
        by=by,
        reason=reason[:_REASON_CHARS],
    )
    key = f"{HISTORY_TAG_PREFIX}{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{uuid.uuid4().hex[:6]}"
    client.set_registered_model_tag(name, key, json.dumps(move.to_dict()))
    tags = client.get_registered_model(name).tags
    keys = sorted(k for k in tags if k.startswith(HISTORY_TAG_PREFIX))
    for old in keys[: max(0, len(keys) - MAX_MOVES)]:
        client.delete_registered_model_tag(name, old)
    return move


def read_history(tags: Mapping[str, str]) -> list[AliasMove]:
    """The moves recorded in a registered model's tags, oldest first (unreadable ones skipped).

    Examples
    --------
    >>> move = {"at": "2026-01-01T00:00:00+00:00", "action": "promoted", "from_version": None,
    ...         "to_version": "1", "by": "gate", "reason": "first"}
    >>> [m.to_version for m in read_history({"stockout.history.1": json.dumps(move)})]
    ['1']
    """
    moves = []
    for key in sorted(k for k in tags if k.startswith(HISTORY_TAG_PREFIX)):
        try:
            moves.append(AliasMove(**json.loads(tags[key])))
        except (TypeError, ValueError):
            logger.warning("skipping unreadable alias-history tag %s", key)
    return moves


def rollback_target(
    history: Iterable[AliasMove],
    current: str | None,
    versions: Mapping[str, Mapping[str, str]],
) -> RollbackPlan:
    """The last version that held ``production`` before ``current`` and was not rolled back from.

    A version counts as *rolled back from* when ``production`` was rolled back away from it;
    when serving fell back to the rule baseline while it held ``production`` (monitoring judged
    it); when an operator promoted over it, by hand, an older version that had held
    ``production`` before (a manual rollback); or when its decision tag says ``rolled-back``.
    Versions that no longer exist, or that the gate never evaluated, are passed over too.

    Parameters
    ----------
    history : iterable of AliasMove
        Oldest first (:func:`read_history`).
    current : str or None
        The version holding ``production`` now.
    versions : mapping
        Each existing version's tags, by version number.

    Returns
    -------
    RollbackPlan
        With ``source="tags"`` when the history records no holder (a registry from before it
        was kept): the chain of ``stockout.previous_production`` tags is followed instead.

    Examples
    --------
    Version 2 was rolled back to 1; an operator then promoted 3. Rolling back from 3 returns to
    1, not to 2:

    >>> def move(action, a, b):
    ...     return AliasMove("t", action, a, b, "operator", "")
    >>> moves = [move("promoted", None, "1"), move("promoted", "1", "2"),
    ...          move("rolled-back", "2", "1"), move("promoted", "1", "3")]
    >>> plan = rollback_target(moves, "3", {"1": {}, "2": {}, "3": {}})
    >>> plan.target, plan.skipped
    ('1', [])
    """
    moves = list(history)
    judged = {
        m.from_version
        for m in moves
        if m.action in (HistoryAction.ROLLED_BACK, HistoryAction.FALLBACK) and m.from_version
    }
    # An operator who promotes by hand an older version that held production before, over a
    # newer one, is rolling back (the usual "manual fix"): the version replaced was judged too.
    held: set[str] = set()
    for m in moves:
        if (
            m.action == HistoryAction.MANUAL_PROMOTION
            and m.from_version
            and m.to_version in held
            and _older(m.to_version, m.from_version)
        ):
            judged.add(m.from_version)
        if m.to_version:
            held.add(m.to_version)
    judged |= {v for v, tags in versions.items() if tags.get(Tag.DECISION) == Decision.ROLLED_BACK}
    # A refit and the version it refits are one model (fitted on more or fewer rows): judging
    # one judges both, and rolling back from one never lands on the other.
    judged |= {w for v in list(judged) if v for w in _family(v, versions)}
    holders = [m.to_version for m in moves if m.action in _PRODUCTION_MOVES and m.to_version]
    if not holders:
        return _target_from_tags(current, versions, judged)
    skipped: list[str] = []
    seen = {current}
    same_model = _family(current, versions) - {current} if current else set()
    for version in reversed(holders):
        if version in seen:
            continue
        seen.add(version)
        if version in same_model:
            skipped.append(f"version {version}: the same model as version {current} (its refit)")
            continue
        why = _unusable(version, versions, judged)
        if why is None:
            return RollbackPlan(current, version, skipped)
        skipped.append(f"version {version}: {why}")
    return RollbackPlan(current, None, skipped)


def _family(version: str, versions: Mapping[str, Mapping[str, str]]) -> set[str]:
    """``version``, the version it refits and the versions that refit it."""
    family = {version}
    refit_of = versions.get(version, {}).get(Tag.REFIT_OF)
    if refit_of:
        family.add(refit_of)
    family |= {v for v, tags in versions.items() if tags.get(Tag.REFIT_OF) in family}
    return family


def _older(a: str | None, b: str) -> bool:
    """Version ``a`` was registered before version ``b`` (numbers grow with time)."""
    try:
        return a is not None and int(a) < int(b)
    except ValueError:
        return False


#: History actions that put a version in ``production``.
_PRODUCTION_MOVES = frozenset(
    {HistoryAction.PROMOTED, HistoryAction.MANUAL_PROMOTION, HistoryAction.ROLLED_BACK}
)


def _unusable(
    version: str, versions: Mapping[str, Mapping[str, str]], judged: set[str | None]
) -> str | None:
    if version not in versions:
        return "no longer exists"
    if version in judged:
        return "was rolled back from (or fallen back from) after it held production"
    if versions[version].get(Tag.DECISION) == Decision.UNEVALUATED:
        return "was never evaluated by the gate"
    return None


def _target_from_tags(
    current: str | None, versions: Mapping[str, Mapping[str, str]], judged: set[str | None]
) -> RollbackPlan:
    skipped: list[str] = []
    seen = {current}
    version = current
    while version is not None:
        previous = versions.get(version, {}).get(Tag.PREVIOUS_PRODUCTION) or None
        if previous is None or previous in seen:
            break
        seen.add(previous)
        why = _unusable(previous, versions, judged)
        if why is None:
            return RollbackPlan(current, previous, skipped, source="tags")
        skipped.append(f"version {previous}: {why}")
        version = previous
    return RollbackPlan(current, None, skipped, source="tags")
