"""What an operator reads: :func:`show` (aliases, serving mode, every version) and the history.

Both only read: they never create a store (:func:`~stockout_sk.registry.tracking.connect`) and
name the store they opened, its credentials redacted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlflow.exceptions import MlflowException

from stockout_sk.config import Settings
from stockout_sk.registry.history import AliasMove, RollbackPlan, read_history, rollback_target
from stockout_sk.registry.state import tag_float
from stockout_sk.registry.tracking import connect, redact_uri, resolve_tracking_uri
from stockout_sk.vocabulary import Alias, Decision, ServingMode, Tag, holdout_tag

__all__ = ["RegistryView", "VersionInfo", "show"]


@dataclass(frozen=True)
class VersionInfo:
    """One registered version as :func:`show` lists it (its tags read back).

    ``evaluated`` is False when the gate never saw it: no holdout F1 or threshold recorded (its
    training run ended before logging them), or marked ``unevaluated`` on a later start.
    """

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
    evaluated: bool = True


@dataclass(frozen=True)
class RegistryView:
    """The registered model at a glance (:func:`show`).

    Attributes
    ----------
    model_name : str
    tracking_uri : str
        The store read, credentials redacted.
    registered : bool
        ``False`` when the model has never been registered (then everything else is empty).
    serving_mode : str
        ``model`` or ``rule-baseline``.
    aliases : dict
        ``{alias: version}``.
    versions : list of VersionInfo
        Newest first.
    history : list of AliasMove
        Every recorded move of ``production`` and of the serving mode, oldest first.
    """

    model_name: str
    tracking_uri: str
    registered: bool
    serving_mode: str
    aliases: dict[str, str]
    versions: list[VersionInfo]
    history: list[AliasMove] = field(default_factory=list)
    tags: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def version(self, number: str) -> VersionInfo | None:
        """The listed version ``number``, or ``None``."""
        return next((v for v in self.versions if v.version == str(number)), None)

    def rollback_plan(self) -> RollbackPlan:
        """Where a rollback from the current production version would go (see
        :func:`~stockout_sk.registry.history.rollback_target`)."""
        return rollback_target(self.history, self.aliases.get(Alias.PRODUCTION), self.tags)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the ``registry show --json`` line)."""
        out = asdict(self)
        out.pop("tags")
        return out


def show(settings: Settings | None = None) -> RegistryView:
    """The registered model at a glance: aliases, serving mode, every version, the history.

    Parameters
    ----------
    settings : Settings, optional

    Returns
    -------
    RegistryView
        ``registered=False`` (and nothing listed) when the model was never registered.

    Raises
    ------
    NoStoreError
        There is no store where the settings point (none is created).
    """
    client, settings = connect(settings)
    name = settings.model_name
    uri = redact_uri(resolve_tracking_uri(settings))
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
    all_tags: dict[str, dict[str, str]] = {}
    for mv in sorted(
        client.search_model_versions(f"name='{name}'"), key=lambda m: int(m.version), reverse=True
    ):
        tags = dict(mv.tags or {})
        all_tags[str(mv.version)] = tags
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
                evaluated=is_evaluated(tags),
            )
        )
    return RegistryView(
        model_name=name,
        tracking_uri=uri,
        registered=True,
        serving_mode=model.tags.get(Tag.SERVING_MODE, ServingMode.MODEL),
        aliases={alias: str(v) for alias, v in sorted(model.aliases.items())},
        versions=versions,
        history=read_history(model.tags),
        tags=all_tags,
    )


def is_evaluated(tags: dict[str, str]) -> bool:
    """Whether a version's tags show it was evaluated: holdout F1 and threshold recorded, and
    neither marked ``unevaluated`` nor still waiting for the gate (``pending-gate``).

    Examples
    --------
    >>> is_evaluated({"stockout.holdout.f1": "0.8", "stockout.threshold": "0.4"})
    True
    >>> is_evaluated({"stockout.decision": "unevaluated"}), is_evaluated({})
    (False, False)
    """
    if tags.get(Tag.DECISION) in (Decision.UNEVALUATED, Decision.PENDING):
        return False
    return tag_float(tags.get(holdout_tag("f1"))) is not None and bool(tags.get(Tag.THRESHOLD))


def _iso_seconds(milliseconds: int | None) -> str | None:
    """An MLflow timestamp (epoch milliseconds) as ISO 8601 UTC to the second."""
    if milliseconds is None:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC).isoformat(timespec="seconds")
