"""The promotion gate: does a newly registered version take ``production``?

A candidate is promoted when its holdout F1 reaches ``min_f1`` **and** it is not worse than the
current production version re-scored now on the same holdout rows. The decision and its reason are
recorded either way (see ``docs/DESIGN.md``, "The registry and the gate").
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stockout_sk.clock import utc_now
from stockout_sk.config import Settings
from stockout_sk.evaluate import classification_metrics
from stockout_sk.registry.refit import evaluated_version
from stockout_sk.registry.state import (
    aliases_of,
    production_version,
    record,
    tag_number,
    write_serving_mode,
)
from stockout_sk.registry.tracking import connect
from stockout_sk.vocabulary import Alias, Decision, ServingMode, Tag

__all__ = ["PromotionDecision", "decide_promotion"]

logger = logging.getLogger(__name__)

#: F1 is compared with this slack so that re-scoring the same model (float noise) is "not worse".
_F1_TOLERANCE = 1e-9


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
    min_f1: float | None = None,
) -> PromotionDecision:
    """Promote ``version`` to ``production`` if it is good enough, and record why either way.

    The gate: ``candidate_f1 >= min_f1`` **and**, when a production version exists, the
    candidate's F1 is not below the production model's F1 re-scored now on the same holdout rows
    (``predict_proba`` of the loaded production pipeline, at its own threshold).

    Parameters
    ----------
    version : str or int
        The candidate version (just registered by :func:`~stockout_sk.registry.log_training`).
    candidate_f1 : float
        Its holdout F1 (``result.report.model["f1"]``).
    X_holdout, y_holdout
        The holdout raw rows and labels the candidate was scored on.
    settings : Settings, optional
    min_f1 : float, optional
        Defaults to ``settings.min_f1`` (``STOCKOUT_MIN_F1``, 0.7).

    Returns
    -------
    PromotionDecision
        Also written as tags (``stockout.decision``, ``stockout.reason``, ``stockout.min_f1``,
        ``stockout.candidate_f1``, ``stockout.compared_with``, ``stockout.production_f1``,
        ``stockout.previous_production``, ``stockout.decided_at``) on the version and its run.
    """
    client, settings = connect(settings)
    name, version = settings.model_name, str(version)
    threshold = settings.min_f1 if min_f1 is None else float(min_f1)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(
            f"min_f1 must be in [0, 1], got {threshold!r} (from "
            f"{'the min_f1 argument' if min_f1 is not None else 'STOCKOUT_MIN_F1'}); pass a "
            "value such as 0.7"
        )
    candidate_f1 = float(candidate_f1)
    candidate = client.get_model_version(name, version)  # fails early on an unknown version
    current = production_version(settings)
    y = np.asarray(y_holdout, dtype=np.int64)

    compared_with: str | None = None
    production_f1: float | None = None
    if candidate_f1 < threshold:
        decision = Decision.KEPT_STAGING
        reason = f"holdout F1 {candidate_f1:.4f} < min_f1 {threshold:.4f}: below the promotion gate"
    elif current is None:
        decision = Decision.PROMOTED
        reason = (
            f"holdout F1 {candidate_f1:.4f} ≥ min_f1 {threshold:.4f}; no production version yet"
        )
    elif current == version:
        decision = Decision.PROMOTED
        reason = f"version {version} already holds '{Alias.PRODUCTION}'"
    else:
        compared_with = current
        try:
            # A refit has trained on part of this holdout: its evaluated version is re-scored.
            production_f1 = _rescore(name, evaluated_version(client, name, current), X_holdout, y)
        except Exception as error:  # any failure closes the gate; the cause is in the reason
            logger.warning(
                "could not re-score production %s version %s on the holdout: %r; keeping "
                "version %s in staging",
                name,
                current,
                error,
                version,
            )
            decision = Decision.KEPT_STAGING
            reason = (
                f"holdout F1 {candidate_f1:.4f} ≥ min_f1 {threshold:.4f}, but production version "
                f"{current} could not be re-scored on the holdout ({type(error).__name__}: "
                f"{error}); promote manually (`stockout-sk registry promote {version}`) if intended"
            )
        else:
            if candidate_f1 + _F1_TOLERANCE >= production_f1:
                decision = Decision.PROMOTED
                reason = (
                    f"holdout F1 {candidate_f1:.4f} ≥ min_f1 {threshold:.4f} and ≥ production "
                    f"version {current} re-scored on the same {len(y):,} holdout rows "
                    f"(F1 {production_f1:.4f})"
                )
            else:
                decision = Decision.KEPT_STAGING
                reason = (
                    f"holdout F1 {candidate_f1:.4f} is worse than production version {current} "
                    f"re-scored on the same {len(y):,} holdout rows (F1 {production_f1:.4f})"
                )

    previous = current if decision == Decision.PROMOTED and current != version else None
    tags = {
        Tag.DECISION: decision,
        Tag.REASON: reason,
        Tag.MIN_F1: tag_number(threshold),
        Tag.CANDIDATE_F1: tag_number(candidate_f1),
        Tag.COMPARED_WITH: compared_with or "",
        Tag.PRODUCTION_F1: tag_number(production_f1),
        Tag.DECIDED_AT: utc_now(),
    }
    if decision == Decision.PROMOTED and current != version:
        tags[Tag.PREVIOUS_PRODUCTION] = previous or ""
        client.set_registered_model_alias(name, Alias.PRODUCTION, version)
        write_serving_mode(client, name, ServingMode.MODEL, f"version {version} promoted")
    record(client, candidate, tags)
    logger.info("%s version %s: %s — %s", name, version, decision, reason)
    return PromotionDecision(
        decision=decision,
        reason=reason,
        version=version,
        candidate_f1=candidate_f1,
        min_f1=threshold,
        compared_with=compared_with,
        production_f1=production_f1,
        previous_production=previous,
        aliases=aliases_of(client, name),
    )


def _rescore(name: str, version: str, X: pd.DataFrame, y: np.ndarray) -> float:
    """F1 of registered ``version`` on ``(X, y)``, at the threshold it carries."""
    pipeline = mlflow.sklearn.load_model(f"models:/{name}/{version}")
    proba = pipeline.predict_proba(X)[:, 1]
    own_threshold = float(getattr(pipeline[-1], "threshold", 0.5))
    return float(classification_metrics(y, proba, threshold=own_threshold)["f1"])
