"""Scoring rows with a snapshot: probabilities, decisions, explanations, the rule's answer.

A model that fails at predict time answers that request from the rule baseline and says so; no
validated request ever reaches a 5xx through here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from stockout_sk import evaluate
from stockout_sk.contract import CURRENT_QUANTITY, SAFETY_STOCK_LEVEL
from stockout_sk.features.columns import Columns, n_rows
from stockout_sk.features.names import HASH_PREFIX, ID_HASHES
from stockout_sk.model import SMALL_BATCH_ROWS
from stockout_sk.pipeline import features_of
from stockout_sk.serving.snapshot import Snapshot
from stockout_sk.vocabulary import Source

__all__ = ["Scored", "explain", "predict", "score_rows"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scored:
    """Predictions for a batch of rows, all from one snapshot.

    Attributes
    ----------
    probability : ndarray of float64
        P(stock-out within the horizon); for the rule baseline its decision as 0.0 / 1.0.
    prediction : ndarray of int64
        0/1 at the model's threshold (or the rule).
    source : {"registry", "rule-baseline"}
    version : str or None
        The model version that answered (``None`` for the rule baseline).
    threshold : float or None
    reason : str or None
        Why the rule baseline answered.
    stale_days : ndarray of int64 or None
        Days between each row's date and the freshest history the model carries (0 = fresh).
    """

    probability: np.ndarray
    prediction: np.ndarray
    source: str
    version: str | None
    threshold: float | None
    reason: str | None
    stale_days: np.ndarray | None


def _rule_scored(X: Mapping[str, Any], reason: str | None) -> Scored:
    # The one rule the model is evaluated against; it never raises on a value, because this is
    # the answer of last resort when the model cannot answer.
    decision = evaluate.rule_decision(X[CURRENT_QUANTITY], X[SAFETY_STOCK_LEVEL])
    return Scored(
        probability=decision.astype(np.float64),
        prediction=decision,
        source=Source.RULE_BASELINE,
        version=None,
        threshold=None,
        reason=reason,
        stale_days=None,
    )


def predict(snapshot: Snapshot, X: Columns | Any) -> Scored:
    """Score rows with the snapshot's pipeline, or the rule baseline.

    Parameters
    ----------
    snapshot : Snapshot
        Read once by the caller; everything here uses only it.
    X : Columns or DataFrame
        Raw rows (:func:`~stockout_sk.serving.to_frame`).

    Returns
    -------
    Scored
        When the pipeline raises or returns something that is not a probability, the rule
        baseline answers these rows: the failure is logged with its traceback and the reason
        (naming the version and the error) is in ``Scored.reason``.
    """
    pipeline = snapshot.pipeline
    if pipeline is None:
        return _rule_scored(X, snapshot.reason)
    try:
        proba = np.asarray(pipeline.predict_proba(X)[:, 1], dtype=np.float64)
        if not np.isfinite(proba).all():
            raise ValueError("the model returned a non-finite probability")
        history = pipeline.named_steps.get("history")
        stale = None if history is None else history.staleness_days(X)
    except Exception as error:  # any model failure: rule baseline, logged, said
        reason = (
            f"model version {snapshot.version} failed at predict time "
            f"({type(error).__name__}: {error}); the rule baseline answered this request"
        )
        logger.exception("%s", reason)
        return _rule_scored(X, reason)
    threshold = float(snapshot.threshold if snapshot.threshold is not None else 0.5)
    stale_days = (
        None
        if stale is None
        # An unreadable date has no staleness; 0 keeps the column integral (the model warned).
        else np.nan_to_num(np.asarray(stale, dtype=np.float64), nan=0.0).astype(np.int64)
    )
    return Scored(
        probability=proba,
        prediction=(proba >= threshold).astype(np.int64),
        source=Source.REGISTRY,
        version=snapshot.version,
        threshold=threshold,
        reason=None,
        stale_days=stale_days,
    )


def explain(snapshot: Snapshot, X: Columns | Any, top: int = 5) -> list[list[dict[str, Any]]]:
    """The features that moved each row's score most (LightGBM ``pred_contrib``).

    Contributions are SHAP values in log-odds: positive raises the stock-out risk, negative
    lowers it; with the model's base value they add up to the row's raw score. Hashed ID columns
    are summed into one entry, :data:`ID_HASHES`.

    Parameters
    ----------
    snapshot : Snapshot
    X : Columns or DataFrame
        Raw rows.
    top : int
        Entries per row, largest absolute contribution first.

    Returns
    -------
    list of list of dict
        Per row: ``{"feature", "value", "contribution"}`` (``value`` is the model-matrix value,
        ``None`` for :data:`ID_HASHES` or a missing value). Empty lists for the rule baseline.

    Raises
    ------
    Exception
        Whatever the pipeline raises (callers that must not fail catch it; see the API).
    """
    pipeline = snapshot.pipeline
    if pipeline is None:
        return [[] for _ in range(n_rows(X))]
    matrix = np.asarray(features_of(pipeline).transform(X))
    booster = pipeline[-1].booster_
    threads = 1 if matrix.shape[0] <= SMALL_BATCH_ROWS else 0
    contrib = np.asarray(booster.predict(matrix, pred_contrib=True, num_threads=threads))
    names = snapshot.feature_names or features_of(pipeline).get_feature_names_out()
    names = np.asarray(names, dtype=object)
    hashed = np.char.startswith(names.astype(str), HASH_PREFIX)
    contrib = contrib[:, : len(names)]  # the last column is the base value
    grouped = np.column_stack([contrib[:, ~hashed], contrib[:, hashed].sum(axis=1)])
    values = np.column_stack([matrix[:, ~hashed], np.full(matrix.shape[0], np.nan)])
    labels = [*names[~hashed].tolist(), ID_HASHES]
    k = max(0, min(int(top), grouped.shape[1]))
    order = np.argsort(-np.abs(grouped), axis=1, kind="stable")[:, :k]
    out: list[list[dict[str, Any]]] = []
    for row, columns in enumerate(order):
        entries = []
        for j in columns:
            value = float(values[row, j])
            entries.append(
                {
                    "feature": labels[j],
                    # The matrix is float32: 6 significant digits are all it holds.
                    "value": float(f"{value:.6g}") if math.isfinite(value) else None,
                    "contribution": float(grouped[row, j]),
                }
            )
        out.append(entries)
    return out


def score_rows(
    snapshot: Snapshot, X: Columns | Any, *, explain_top: int | None = None
) -> tuple[Scored, list[list[dict[str, Any]]] | None]:
    """:func:`predict`, and with ``explain_top`` the :func:`explain` entries of each row.

    What the API and the morning list call. An explanation that fails is logged and left empty
    (the prediction stands); the rule baseline has none.

    Returns
    -------
    tuple
        ``(Scored, explanations)``; ``explanations`` is ``None`` when not asked for.
    """
    scored = predict(snapshot, X)
    if explain_top is None:
        return scored, None
    if scored.source != Source.REGISTRY:
        return scored, [[] for _ in range(len(scored.probability))]
    try:
        return scored, explain(snapshot, X, explain_top)
    except Exception:  # the prediction is good; only its explanation is lost
        logger.exception(
            "explaining %d row(s) with version %s failed", len(scored.probability), snapshot.version
        )
        return scored, [[] for _ in range(len(scored.probability))]
