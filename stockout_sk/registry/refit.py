"""The deployed model: the refit on every matured row of a version that passed the gate.

The evaluated version never saw the holdout and purge weeks — the freshest a chain has. Once the
gate has judged it, :func:`register_refit` logs the same pipeline fitted on every matured row
(:func:`stockout_sk.training.refit_on_all`: same settings; its threshold chosen on the
snapshot's morning list under the default ``threshold_method="expected"``, else the folds') in the
same run, registers it as the next version and moves ``production`` to it. The run's holdout
metrics stay those of the evaluated version (the refit has no holdout of its own: it trained on
it); the refit version says which rows it was fitted on, how its cut was chosen (its reason,
``stockout.threshold_method`` and ``model-refit/threshold_validation.json``) and which version it
refits (``stockout.refit_of``), and the evaluated version points to it (``stockout.refit_version``).

A refit is scored in-sample on a later holdout that overlaps its rows, so the gate compares a new
candidate with production's *evaluated* version (:func:`evaluated_version`), never with a refit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow import MlflowClient

from stockout_sk.clock import utc_now
from stockout_sk.config import Settings
from stockout_sk.jsonable import jsonable
from stockout_sk.registry.history import actor, record_move
from stockout_sk.registry.packaging import MODEL_ARTIFACT, input_example
from stockout_sk.registry.state import (
    HOLDOUT_METRICS,
    aliases_of,
    tag_number,
    tag_version,
    write_serving_mode,
)
from stockout_sk.registry.tracking import connect, moves_lock
from stockout_sk.registry.training_run import LoggedTraining, _log_model
from stockout_sk.training import FittedModel, TrainingResult, split_xy
from stockout_sk.vocabulary import Alias, Decision, HistoryAction, ServingMode, Tag, holdout_tag

if TYPE_CHECKING:
    # promotion imports evaluated_version from here.
    from stockout_sk.registry.promotion import PromotionDecision

__all__ = ["REFIT_ARTIFACT", "RefitRegistration", "evaluated_version", "register_refit"]

logger = logging.getLogger(__name__)

#: The name the refit pipeline is logged under in the training run.
REFIT_ARTIFACT = f"{MODEL_ARTIFACT}-refit"


@dataclass(frozen=True)
class RefitRegistration:
    """What :func:`register_refit` registered.

    Attributes
    ----------
    version : str
        The refit's version (now ``production``).
    refit_of : str
        The evaluated version it refits.
    model_uri : str
    fit_rows : dict
        ``rows``, ``start``, ``end`` (as-of days) of the refit.
    reason : str
    aliases : dict
    """

    version: str
    refit_of: str
    model_uri: str
    fit_rows: dict[str, Any]
    reason: str
    aliases: dict[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the flow's summary)."""
        return {
            "version": self.version,
            "refit_of": self.refit_of,
            "model_uri": self.model_uri,
            "fit_rows": dict(self.fit_rows),
            "reason": self.reason,
            "aliases": dict(self.aliases),
        }


def register_refit(
    logged: LoggedTraining,
    decision: PromotionDecision,
    result: TrainingResult,
    refitted: FittedModel,
    settings: Settings | None = None,
    *,
    data_dir: str = "",
) -> RefitRegistration:
    """Log and register the refit of a promoted version, and give it ``production``.

    Parameters
    ----------
    logged : LoggedTraining
        The evaluated version's run and version.
    decision : PromotionDecision
        The gate's verdict on it; must be ``promoted``.
    result : TrainingResult
        The training it came from (its holdout metrics are recorded on the refit too).
    refitted : FittedModel
        :func:`stockout_sk.training.refit_on_all` of ``result.fitted``.
    settings : Settings, optional
    data_dir : str
        Where the exports came from (tag).

    Raises
    ------
    ValueError
        ``decision`` did not promote the version: a refit of a model the gate refused is never
        deployed.
    """
    if not decision.promoted:
        raise ValueError(
            f"version {logged.version} was not promoted ({decision.decision}: {decision.reason}); "
            "only a version that passed the gate is refitted and deployed"
        )
    client, settings = connect(settings)
    name, evaluated = settings.model_name, logged.version
    rows = refitted.fit_rows
    X, _ = split_xy(result.prepared.train)
    trained_at = utc_now()
    with mlflow.start_run(run_id=logged.run_id):
        version = _log_model(refitted, name, input_example(X), trained_at, name=REFIT_ARTIFACT)
        mlflow.set_tag(Tag.REFIT_VERSION, version)
        # How its own cut was chosen (the run's threshold_validation is the evaluated one's).
        mlflow.log_dict(
            jsonable(refitted.validation), f"{REFIT_ARTIFACT}/threshold_validation.json"
        )
    report = result.report
    reason = (
        f"refit of version {evaluated} on every matured row ({rows['rows']:,} rows, as-of "
        f"{rows['start']}..{rows['end']}, {_cut_text(refitted)}) after version {evaluated} "
        f"passed the gate: {decision.reason}"
    )
    tag_version(
        client,
        name,
        version,
        {
            Tag.TRAINED_AT: trained_at,
            Tag.HORIZON: str(refitted.config.horizon),
            Tag.THRESHOLD: tag_number(refitted.threshold),
            Tag.THRESHOLD_METHOD: str(refitted.validation.get("method", "")),
            Tag.DATA_DIR: data_dir,
            Tag.FIT_ROWS: str(rows["rows"]),
            Tag.FIT_START: str(rows["start"]),
            Tag.FIT_END: str(rows["end"]),
            Tag.REFIT_OF: evaluated,
            # The evaluated version's holdout: the refit trained on those rows.
            **{holdout_tag(k): tag_number(report.model[k]) for k in HOLDOUT_METRICS},
            Tag.DECISION: Decision.PROMOTED,
            Tag.REASON: reason,
            Tag.MIN_F1: tag_number(decision.min_f1),
            Tag.CANDIDATE_F1: tag_number(decision.candidate_f1),
            Tag.PREVIOUS_PRODUCTION: decision.previous_production or "",
            Tag.DECIDED_AT: utc_now(),
        },
    )
    client.set_model_version_tag(name, evaluated, Tag.REFIT_VERSION, version)
    client.set_registered_model_alias(name, Alias.STAGING, version)
    with moves_lock(client, settings, f"deploying version {version}, the refit of {evaluated}"):
        holder = aliases_of(client, name).get(Alias.PRODUCTION)
        if holder != evaluated:
            # Someone moved production since the gate: their move stands, the refit waits.
            logger.warning(
                "%s: '%s' moved from %s to %s after the gate; version %s (the refit) stays in "
                "staging — promote it by hand if intended",
                name,
                Alias.PRODUCTION,
                evaluated,
                holder,
                version,
            )
            reason = f"'{Alias.PRODUCTION}' moved from {evaluated} to {holder} after the gate"
            tag_version(
                client, name, version, {Tag.DECISION: Decision.KEPT_STAGING, Tag.REASON: reason}
            )
        else:
            client.set_registered_model_alias(name, Alias.PRODUCTION, version)
            write_serving_mode(
                client, name, ServingMode.MODEL, f"version {version} promoted ({reason})"
            )
            record_move(
                client,
                name,
                action=HistoryAction.PROMOTED,
                from_version=evaluated,
                to_version=version,
                by=actor("gate"),
                reason=reason,
            )
            logger.info("%s version %s: %s", name, version, reason)
    return RefitRegistration(
        version=version,
        refit_of=evaluated,
        model_uri=f"models:/{name}/{version}",
        fit_rows=dict(rows),
        reason=reason,
        aliases=aliases_of(client, name),
    )


def evaluated_version(client: MlflowClient, name: str, version: str) -> str:
    """The version to re-score in place of ``version``: the one it refits, or itself.

    A refit trained on every row up to its export's end, so it has seen part of any later
    holdout; the version it refits has not (it stopped before its own holdout).
    """
    tags = client.get_model_version(name, version).tags
    return tags.get(Tag.REFIT_OF) or version


def _cut_text(refitted: FittedModel) -> str:
    """How the refit's threshold was chosen, for the version's reason."""
    morning = refitted.validation.get("morning")
    if not morning:
        return f"threshold {refitted.threshold:.4f} kept from the folds"
    return (
        f"threshold {refitted.threshold:.4f} chosen on the morning list of {morning['as_of']}: "
        f"expected F1 {morning['expected_f1']:.3f}, {morning['flagged']:,} of "
        f"{morning['rows']:,} rows flagged"
    )
