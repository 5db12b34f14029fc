"""The promotion gate: does a newly registered version take ``production``?

A candidate is promoted when its decision threshold is not degenerate, its holdout F1 reaches
``min_f1``, it beats both baselines (rule and velocity) on the holdout, **and** it is not worse
than the current production version re-scored now on the same holdout rows. The decision and
every reason are recorded either way (see ``docs/DESIGN.md``, "The registry and the gate").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from numpy.typing import ArrayLike

from stockout_sk.clock import utc_now
from stockout_sk.config import Settings
from stockout_sk.evaluate import baseline_shortfalls, classification_metrics
from stockout_sk.registry.history import actor, record_move
from stockout_sk.registry.loading import load_pipeline
from stockout_sk.registry.refit import evaluated_version
from stockout_sk.registry.state import (
    aliases_of,
    production_version,
    record,
    tag_number,
    write_serving_mode,
)
from stockout_sk.registry.tracking import connect, moves_lock, resolve_tracking_uri
from stockout_sk.vocabulary import Alias, Decision, HistoryAction, ServingMode, Tag, baseline_tag

__all__ = ["MOST_FLAGGED", "PromotionDecision", "decide_promotion", "degenerate_threshold"]

logger = logging.getLogger(__name__)

#: F1 is compared with this slack so that re-scoring the same model (float noise) is "not worse".
_F1_TOLERANCE = 1e-9
#: A threshold that flags at least this share of the training-side validation rows is
#: degenerate: it calls (almost) everything at risk.
MOST_FLAGGED = 0.99


@dataclass
class PromotionDecision:
    """The promotion gate's verdict on one version.

    Attributes
    ----------
    decision : {"promoted", "kept-staging"}
    reason : str
    version : str
    candidate_f1 : float
    min_f1 : float
    baseline_f1 : dict
        Each baseline's holdout F1 on the same rows (the candidate must beat them all).
    threshold : float or None
        The candidate's decision threshold.
    flagged_share : float or None
        Share of the training-side validation rows that threshold flags.
    compared_with : str or None
        The production version it was compared with (``None`` when there was none).
    production_f1 : float or None
        That version's F1 re-scored on the same holdout rows, at its own threshold.
    previous_production : str or None
        The version that held ``production`` before this one (promoted only).
    aliases : dict
        ``{"production": version or None, "staging": version or None}`` after the decision.
    """

    decision: str
    reason: str
    version: str
    candidate_f1: float
    min_f1: float
    baseline_f1: dict[str, float | None] = field(default_factory=dict)
    threshold: float | None = None
    flagged_share: float | None = None
    compared_with: str | None = None
    production_f1: float | None = None
    previous_production: str | None = None
    aliases: dict[str, str | None] = field(default_factory=dict)

    @property
    def promoted(self) -> bool:
        """Whether the gate moved ``production`` to (or left it on) this version."""
        return self.decision == Decision.PROMOTED

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def decide_promotion(
    version: str | int,
    candidate_f1: float,
    X_holdout: pd.DataFrame,
    y_holdout: ArrayLike,
    settings: Settings | None = None,
    *,
    baselines: Mapping[str, float | None],
    validation: Mapping[str, Any],
    min_f1: float | None = None,
) -> PromotionDecision:
    """Promote ``version`` to ``production`` if it is good enough, and record why either way.

    The gate, every check on the candidate's own holdout rows:

    1. its decision threshold is not degenerate: strictly between 0 and 1, and it flags some
       but not (almost) all of the training-side validation rows (:data:`MOST_FLAGGED`);
    2. its holdout F1 reaches ``min_f1``;
    3. it **beats** every baseline's F1 on the same rows (the comparison monitoring makes,
       :func:`stockout_sk.evaluate.baseline_shortfalls`; a tie does not beat the free rule);
    4. when a production version exists, its F1 is not below that version's F1 re-scored now on
       the same rows (``predict_proba`` of the loaded pipeline, at its own threshold).

    Every check runs, and every one that fails is in the reason.

    Parameters
    ----------
    version : str or int
        The candidate version (just registered by :func:`~stockout_sk.registry.log_training`).
    candidate_f1 : float
        Its holdout F1 (``result.report.model["f1"]``).
    X_holdout, y_holdout
        The holdout raw rows and labels the candidate was scored on.
    settings : Settings, optional
    baselines : mapping
        Each baseline's holdout F1 on the same rows (``{"rule": …, "velocity": …}``, from
        ``result.report.baselines``).
    validation : mapping
        How the threshold was chosen (``FittedModel.validation``): ``threshold``, ``rows`` and
        ``flagged`` (rows at or above the threshold).
    min_f1 : float, optional
        Defaults to ``settings.min_f1`` (``STOCKOUT_MIN_F1``, 0.7).

    Returns
    -------
    PromotionDecision
        Also written as tags (``stockout.decision``, ``stockout.reason``, ``stockout.min_f1``,
        ``stockout.candidate_f1``, ``stockout.baseline.<name>.f1``,
        ``stockout.validation_flagged_share``, ``stockout.compared_with``,
        ``stockout.production_f1``, ``stockout.previous_production``, ``stockout.decided_at``)
        on the version and its run.
    """
    client, settings = connect(settings)
    name, version = settings.model_name, str(version)
    gate = settings.min_f1 if min_f1 is None else float(min_f1)
    if not 0.0 <= gate <= 1.0:
        raise ValueError(
            f"min_f1 must be in [0, 1], got {gate!r} (from "
            f"{'the min_f1 argument' if min_f1 is not None else 'STOCKOUT_MIN_F1'}); pass a "
            "value such as 0.7"
        )
    candidate_f1 = float(candidate_f1)
    candidate = client.get_model_version(name, version)  # fails early on an unknown version
    y = np.asarray(y_holdout, dtype=np.int64)
    threshold_problem, flagged_share = degenerate_threshold(validation)
    fixed = [threshold_problem] if threshold_problem else []
    if candidate_f1 < gate:
        fixed.append(f"holdout F1 {candidate_f1:.4f} < min_f1 {gate:.4f}: below the promotion gate")
    for baseline, f1 in baseline_shortfalls(candidate_f1, baselines, strict=True).items():
        fixed.append(
            f"holdout F1 {candidate_f1:.4f} does not beat the {baseline} baseline's F1 "
            f"{f1:.4f} on the same {len(y):,} holdout rows"
        )

    # Read production, re-score it, move the alias: one step for every other run (the lock),
    # and the alias re-read before and after the move for anyone who does not take the lock.
    with moves_lock(client, settings, f"deciding the promotion of version {version}"):
        current = production_version(settings)
        verdict = _judge(
            client,
            name,
            version,
            candidate_f1,
            gate,
            baselines,
            current,
            fixed,
            X_holdout,
            y,
            settings,
        )
        decision, reason, production_f1 = verdict
        if decision == Decision.PROMOTED and current != version:
            moved_meanwhile = production_version(settings)
            if moved_meanwhile != current:
                decision = Decision.KEPT_STAGING
                reason = (
                    f"'{Alias.PRODUCTION}' moved from {current} to {moved_meanwhile} while this "
                    "decision was made, by something that does not take stockout-sk's lock; "
                    "not promoting on a stale comparison — train again or promote by hand"
                )
        previous = current if decision == Decision.PROMOTED and current != version else None
        tags = {
            Tag.DECISION: decision,
            Tag.REASON: reason,
            Tag.MIN_F1: tag_number(gate),
            Tag.CANDIDATE_F1: tag_number(candidate_f1),
            Tag.COMPARED_WITH: current if current not in (None, version) else "",
            Tag.PRODUCTION_F1: tag_number(production_f1),
            Tag.VALIDATION_FLAGGED: tag_number(flagged_share),
            Tag.DECIDED_AT: utc_now(),
            **{baseline_tag(b): tag_number(f) for b, f in baselines.items()},
        }
        moving = decision == Decision.PROMOTED and current != version
        if moving:
            tags[Tag.PREVIOUS_PRODUCTION] = previous or ""
        # Recorded before the alias moves: whoever reads @production finds its decision.
        record(client, candidate, tags)
        if moving:
            client.set_registered_model_alias(name, Alias.PRODUCTION, version)
            write_serving_mode(client, name, ServingMode.MODEL, f"version {version} promoted")
            record_move(
                client,
                name,
                action=HistoryAction.PROMOTED,
                from_version=current,
                to_version=version,
                by=actor("gate"),
                reason=reason,
            )
            after = production_version(settings)
            if after != version:
                logger.warning(
                    "%s: '%s' was moved to %s right after the gate moved it to %s",
                    name,
                    Alias.PRODUCTION,
                    after,
                    version,
                )
    logger.info("%s version %s: %s — %s", name, version, decision, reason)
    return PromotionDecision(
        decision=decision,
        reason=reason,
        version=version,
        candidate_f1=candidate_f1,
        min_f1=gate,
        baseline_f1=dict(baselines),
        threshold=_threshold_of(validation),
        flagged_share=flagged_share,
        compared_with=current if current not in (None, version) else None,
        production_f1=production_f1,
        previous_production=previous,
        aliases=aliases_of(client, name),
    )


def _judge(
    client: MlflowClient,
    name: str,
    version: str,
    candidate_f1: float,
    gate: float,
    baselines: Mapping[str, float | None],
    current: str | None,
    failures: list[str],
    X: pd.DataFrame,
    y: np.ndarray,
    settings: Settings,
) -> tuple[str, str, float | None]:
    """``(decision, reason, production F1)``: the failures given, plus the production check."""
    failures = list(failures)
    rows = f"the same {len(y):,} holdout rows"
    production_f1: float | None = None
    if current is not None and current != version:
        try:
            # A refit has trained on part of this holdout: its evaluated version is re-scored.
            rescored = evaluated_version(client, name, current)
            production_f1 = _rescore(name, rescored, X, y, resolve_tracking_uri(settings))
        except Exception as error:  # any failure closes the gate; the cause is in the reason
            logger.warning(
                "could not re-score production %s version %s on the holdout: %r; keeping "
                "version %s in staging",
                name,
                current,
                error,
                version,
            )
            failures.append(
                f"production version {current} could not be re-scored on the holdout "
                f"({type(error).__name__}: {error}); promote manually (`stockout-sk registry "
                f"promote {version}`) if intended"
            )
        else:
            if candidate_f1 + _F1_TOLERANCE < production_f1:
                failures.append(
                    f"holdout F1 {candidate_f1:.4f} is worse than production version {current} "
                    f"re-scored on {rows} (F1 {production_f1:.4f})"
                )
    if failures:
        return Decision.KEPT_STAGING, "; ".join(failures), production_f1
    if current == version:
        return Decision.PROMOTED, f"version {version} already holds '{Alias.PRODUCTION}'", None
    beaten = ", ".join(f"{b} {f:.4f}" for b, f in baselines.items() if f is not None)
    reason = f"holdout F1 {candidate_f1:.4f} ≥ min_f1 {gate:.4f}, beats the baselines ({beaten})"
    if current is None:
        return Decision.PROMOTED, reason + "; no production version yet", None
    reason += f" and ≥ production version {current} re-scored on {rows} (F1 {production_f1:.4f})"
    return Decision.PROMOTED, reason, production_f1


def degenerate_threshold(validation: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """Why a chosen threshold is degenerate (``None`` when it is not), and the share it flags.

    A threshold at or outside 0 or 1 says "everything" or "nothing" whatever the scores; one
    that flags no training-side validation row, or at least :data:`MOST_FLAGGED` of them, is no
    ranking at all: F1 is then maximised by calling (almost) every row at risk, which the rule
    baseline does for free.

    Parameters
    ----------
    validation : mapping
        ``threshold``, and ``rows`` and ``flagged`` when known (``FittedModel.validation``).

    Returns
    -------
    (str or None, float or None)

    Examples
    --------
    >>> degenerate_threshold({"threshold": 0.0, "rows": 630, "flagged": 630})[0]
    'threshold 0.0000 is degenerate: at or outside [0, 1] it flags every row or none'
    >>> problem, share = degenerate_threshold({"threshold": 0.6, "rows": 630, "flagged": 83})
    >>> problem, round(share, 3)
    (None, 0.132)
    """
    threshold = _threshold_of(validation)
    rows, flagged = validation.get("rows"), validation.get("flagged")
    share = flagged / rows if rows and flagged is not None else None
    if threshold is None or not 0.0 < threshold < 1.0:
        shown = "unknown" if threshold is None else f"{threshold:.4f}"
        return (
            f"threshold {shown} is degenerate: at or outside [0, 1] it flags every row or none",
            share,
        )
    if share is not None and (flagged == 0 or share >= MOST_FLAGGED):
        what = "none" if flagged == 0 else f"{share:.1%}"
        return (
            f"threshold {threshold:.4f} is degenerate: it flags {what} of the {rows:,} "
            "training-side validation rows (no ranking: the rule baseline does that for free)",
            share,
        )
    return None, share


def _threshold_of(validation: Mapping[str, Any]) -> float | None:
    value = validation.get("threshold")
    return None if value is None else float(value)


def _rescore(name: str, version: str, X: pd.DataFrame, y: np.ndarray, tracking_uri: str) -> float:
    """F1 of registered ``version`` on ``(X, y)``, at the threshold it carries."""
    pipeline = load_pipeline(name, version, tracking_uri)
    proba = pipeline.predict_proba(X)[:, 1]
    own_threshold = float(getattr(pipeline[-1], "threshold", 0.5))
    return float(classification_metrics(y, proba, threshold=own_threshold)["f1"])
