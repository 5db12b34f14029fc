"""Classification metrics on one set of rows, and the F1-maximising decision threshold.

Conventions: labels are 0/1; a row is predicted positive when ``score >= threshold``; metrics
that are undefined on the given rows (ROC-AUC with one class, PR-AUC without positives) are
``None``. The threshold is chosen on a training-side validation window, never on the holdout.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, roc_auc_score

from stockout_sk.evaluate._inputs import as_labels, as_scores, check_unit_interval
from stockout_sk.params import check_finite

__all__ = [
    "FALLBACK_THRESHOLD",
    "METRIC_KEYS",
    "EvaluationWarning",
    "choose_threshold",
    "classification_metrics",
    "recall_at_top",
]

#: Keys of one metrics block in :meth:`EvaluationReport.to_dict` (model and each baseline).
METRIC_KEYS: tuple[str, ...] = (
    "f1",
    "precision",
    "recall",
    "pr_auc",
    "roc_auc",
    "brier",
    "threshold",
)

#: Threshold used when the validation labels hold one class only and F1 cannot choose one.
FALLBACK_THRESHOLD = 0.5


class EvaluationWarning(UserWarning):
    """A recoverable problem in evaluation (one-class labels, missing velocities, ...)."""


def choose_threshold(y_true: ArrayLike, proba: ArrayLike) -> float:
    """Return the threshold that maximises F1 (rows with ``proba >= threshold`` are positive).

    Every cut between two adjacent distinct scores is a candidate. The returned value is the
    midpoint between the lowest score predicted positive and the next lower distinct score (0.0
    below the minimum), so ``>`` and ``>=`` agree on these rows and the cut is not glued to one
    observed score.

    Ties are broken deterministically towards the **highest** threshold (fewest alerts): among
    cuts with the same F1, the one that flags fewer rows wins. F1 is computed from integer counts,
    so equal F1 values compare exactly.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        Labels of the training-side validation rows (never the holdout).
    proba : array-like of float
        Predicted probability of the positive class for the same rows.

    Returns
    -------
    float
        The chosen threshold. If ``y_true`` holds one class only, F1 cannot rank thresholds and
        ``0.5`` is returned with an :class:`EvaluationWarning`.

    Raises
    ------
    ValueError
        On empty input, different lengths, labels other than 0/1, or non-finite scores.

    Examples
    --------
    >>> choose_threshold([0, 0, 1, 1], [0.1, 0.25, 0.75, 0.9])
    0.5
    """
    y = as_labels(y_true, "choose_threshold", "y_true")
    p = as_scores(proba, "choose_threshold", "proba", len(y))
    check_unit_interval(p, "choose_threshold", "proba", "pass predict_proba(X)[:, 1].")
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        only = "positive" if positives else "negative"
        warnings.warn(
            f"choose_threshold: all {len(y)} validation labels are {only}, so F1 cannot choose a "
            f"threshold; falling back to {FALLBACK_THRESHOLD}. Use a longer validation window.",
            EvaluationWarning,
            stacklevel=2,
        )
        return FALLBACK_THRESHOLD

    # Cumulative counts with distinct scores in descending order: cut k flags every row whose
    # score is >= the k-th highest distinct score.
    order = np.argsort(-p, kind="stable")
    p_sorted, y_sorted = p[order], y[order]
    last_of_value = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    tp = np.cumsum(y_sorted)[last_of_value]
    flagged = np.arange(1, len(p) + 1)[last_of_value]
    f1 = 2.0 * tp / (flagged + positives)  # 2TP / (TP + FP + TP + FN)
    best = int(np.argmax(f1))  # first maximum = highest threshold among ties
    cut_scores = p_sorted[last_of_value]
    below = cut_scores[best + 1] if best + 1 < len(cut_scores) else 0.0
    return float((cut_scores[best] + below) / 2.0)


def classification_metrics(
    y_true: ArrayLike,
    score: ArrayLike,
    *,
    threshold: float,
    proba: ArrayLike | None = None,
    prediction: ArrayLike | None = None,
) -> dict[str, Any]:
    """Metrics of a scored classifier on one set of rows, as plain Python numbers.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        True labels.
    score : array-like of float
        Continuous score, higher = more at risk; ranks rows for PR-AUC and ROC-AUC.
    threshold : float
        Decision threshold; rows with ``score >= threshold`` are predicted positive unless
        ``prediction`` is given. Reported as is.
    proba : array-like of float in [0, 1], optional
        Probabilities for the Brier score. Defaults to ``score`` (which must then lie in [0, 1]).
        For a hard rule, pass its 0/1 prediction.
    prediction : array-like of {0, 1}, optional
        Hard predictions for rules whose decision is not ``score >= threshold`` (a baseline's
        strict ``<``); ``threshold`` is then only reported.

    Returns
    -------
    dict
        ``f1, precision, recall`` (0 where undefined, like ``zero_division=0``), ``pr_auc``
        (average precision; ``None`` without positives), ``roc_auc`` (``None`` with one class),
        ``brier``, ``threshold``, ``n`` (rows) and ``positives``.

    Raises
    ------
    ValueError
        On empty input, different lengths, labels other than 0/1, non-finite scores, or a
        ``score`` outside [0, 1] used as probability.
    """
    caller = "classification_metrics"
    y = as_labels(y_true, caller, "y_true")
    s = as_scores(score, caller, "score", len(y))
    threshold = check_finite(threshold, "threshold", caller=caller)
    if prediction is None:
        pred = s >= threshold
    else:
        pred = as_labels(prediction, caller, "prediction", n=len(y)).astype(bool)
    if proba is None:
        check_unit_interval(
            s, caller, "score (used as proba for the Brier score)", "pass proba= explicitly."
        )
        p = s
    else:
        p = as_scores(proba, caller, "proba", len(y))
        check_unit_interval(
            p, caller, "proba", "pass probabilities (the 0/1 prediction for a hard rule)."
        )

    truth = y.astype(bool)
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    positives = int(truth.sum())
    n = len(y)

    return {
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        # Average precision needs a positive to recall; sklearn would warn and return 0.0, which
        # reads as "worst possible" rather than "undefined".
        "pr_auc": float(average_precision_score(truth, s)) if positives else None,
        "roc_auc": float(roc_auc_score(truth, s)) if 0 < positives < n else None,
        # Computed directly: sklearn's brier_score_loss needs both classes to infer pos_label.
        "brier": float(np.mean((p - y) ** 2)),
        "threshold": threshold,
        "n": n,
        "positives": positives,
    }


def recall_at_top(y_true: ArrayLike, score: ArrayLike, share: float) -> float | None:
    """Share of the positives found in the top ``share`` of the rows ranked by ``score``.

    What a planner who can check only the first ``share`` of the morning list catches: the top
    ``ceil(share × n)`` rows (ties in the order given), their positives over all positives.

    Parameters
    ----------
    y_true : array-like of {0, 1}
    score : array-like of float
        Higher = more at risk.
    share : float in (0, 1]

    Returns
    -------
    float or None
        ``None`` when there is no positive row (nothing to find).

    Examples
    --------
    >>> recall_at_top([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.2], 0.25)
    0.5
    """
    caller = "recall_at_top"
    y = as_labels(y_true, caller, "y_true")
    s = as_scores(score, caller, "score", len(y))
    share = check_finite(share, "share", caller=caller)
    if not 0.0 < share <= 1.0:
        raise ValueError(f"{caller}: share must be in (0, 1], got {share!r}.")
    positives = int(y.sum())
    if not positives:
        return None
    top = np.argsort(-s, kind="stable")[: int(np.ceil(share * len(y)))]
    return float(y[top].sum() / positives)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0
