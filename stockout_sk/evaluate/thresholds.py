"""The decision threshold chosen on several rolling-origin folds, not one window.

One short validation window is a noisy place to choose a threshold: the F1-best cut of two
weeks can be far from the best cut of the week after. :func:`fold_threshold` takes the
validation labels and scores of every fold (each fold fitted on the as-of days before its own
window, purged; :func:`~stockout_sk.evaluate.splits.rolling_folds`) and chooses one threshold by
one of :data:`FOLD_METHODS`:

* ``"pooled"`` — the F1-maximising cut of all folds' rows together;
* ``"median"`` — the median of the folds' own F1-maximising cuts;
* ``"last"`` — the latest fold's own cut: one window, what the project did before the folds.

Whichever is chosen, every fold's own threshold and their spread are reported, so a run shows
how stable the choice was.

:func:`expected_f1_threshold` needs no label: the cut that maximises the F1 a set of
probabilities expects of itself. The default ``threshold_method="expected"`` takes it on the
first morning list a model scores (:mod:`stockout_sk.training.morning`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from stockout_sk.config.model import FOLD_METHODS, THRESHOLD_METHODS
from stockout_sk.evaluate._inputs import as_labels, as_scores, float_array
from stockout_sk.evaluate.metrics import EvaluationWarning, choose_threshold, classification_metrics
from stockout_sk.jsonable import jsonable

__all__ = [
    "FOLD_METHODS",
    "THRESHOLD_METHODS",
    "FoldThreshold",
    "expected_f1_threshold",
    "fold_threshold",
]


@dataclass(frozen=True)
class FoldThreshold:
    """The threshold chosen on the folds, each fold's own, and how far apart they are.

    Attributes
    ----------
    method : str
        One of :data:`FOLD_METHODS`.
    threshold : float
        The chosen threshold.
    candidates : dict of str to float
        The threshold every method would have chosen on the same scores.
    folds : list of dict
        Per fold, oldest first: ``start``, ``end`` (its window), ``rows``, ``positives``,
        ``threshold`` (its own F1-best cut), ``f1_own`` (F1 there) and ``f1`` (F1 at the chosen
        threshold).
    spread : dict
        ``min``, ``max``, ``std`` and ``range`` of the folds' own thresholds (one-class folds
        left out: F1 cannot choose a cut there).
    """

    method: str
    threshold: float
    candidates: dict[str, float]
    folds: list[dict[str, Any]] = field(default_factory=list)
    spread: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the run's ``threshold_folds`` and ``evaluate --json``)."""
        return jsonable(
            {
                "method": self.method,
                "threshold": self.threshold,
                "candidates": self.candidates,
                "spread": self.spread,
                "folds": self.folds,
            }
        )

    def describe(self) -> str:
        """One line for the log and the evaluation summary."""
        own = ", ".join(
            "n/a (one class)" if f["threshold"] is None else f"{f['threshold']:.3f}"
            for f in self.folds
        )
        spread = self.spread.get("range")
        spread_text = "n/a" if spread is None else f"{spread:.3f}"
        return (
            f"threshold {self.threshold:.4f} ({self.method} over {len(self.folds)} purged "
            f"rolling-origin fold(s); the folds' own F1-best cuts {own}, range {spread_text})"
        )


def fold_threshold(
    labels: Sequence[ArrayLike],
    scores: Sequence[ArrayLike],
    *,
    method: str = "pooled",
    windows: Sequence[tuple[str, str]] | None = None,
) -> FoldThreshold:
    """Choose the decision threshold from several validation folds.

    Parameters
    ----------
    labels, scores : sequence of array-like
        Per fold, oldest first: the validation labels (0/1) and the predicted probabilities of
        the model fitted before that fold's window.
    method : {"pooled", "median", "last"}, default "pooled"
        See :data:`FOLD_METHODS`.
    windows : sequence of (str, str), optional
        Each fold's first and last as-of day, for the report.

    Returns
    -------
    FoldThreshold

    Raises
    ------
    ValueError
        Unknown ``method``, no fold, or folds whose labels and scores differ in length.

    Examples
    --------
    >>> t = fold_threshold([[0, 1, 1], [0, 0, 1]], [[0.2, 0.6, 0.9], [0.1, 0.3, 0.7]])
    >>> round(t.threshold, 3), [round(f["threshold"], 3) for f in t.folds]
    (0.45, [0.4, 0.5])
    """
    caller = "fold_threshold"
    if method not in FOLD_METHODS:
        raise ValueError(
            f"{caller}: method must be one of {FOLD_METHODS}, got {method!r} "
            "(ModelConfig.threshold_method)."
        )
    if len(labels) != len(scores) or not len(labels):
        raise ValueError(
            f"{caller}: give one array of labels and one of scores per fold, got {len(labels)} "
            f"and {len(scores)}."
        )
    ys = [as_labels(y, caller, f"labels[{i}]") for i, y in enumerate(labels)]
    ps = [as_scores(p, caller, f"scores[{i}]", len(ys[i])) for i, p in enumerate(scores)]

    own: list[float | None] = []
    for y, p in zip(ys, ps, strict=True):
        if 0 < y.sum() < len(y):
            own.append(choose_threshold(y, p))
        else:
            own.append(None)  # one class: F1 cannot rank cuts
    decided = [t for t in own if t is not None]
    with warnings.catch_warnings():
        # A one-class pool already warns through choose_threshold's caller below.
        warnings.simplefilter("ignore", EvaluationWarning)
        pooled = choose_threshold(np.concatenate(ys), np.concatenate(ps))
    candidates = {
        "pooled": pooled,
        "median": float(np.median(decided)) if decided else pooled,
        "last": own[-1] if own[-1] is not None else pooled,
    }
    if not decided:
        warnings.warn(
            f"{caller}: every validation fold holds one class only; F1 cannot choose a "
            f"threshold, {candidates[method]} is used. Use a longer history.",
            EvaluationWarning,
            stacklevel=2,
        )
    threshold = float(candidates[method])

    folds = []
    for index, (y, p, cut) in enumerate(zip(ys, ps, own, strict=True)):
        at_own = None if cut is None else classification_metrics(y, p, threshold=cut)["f1"]
        entry = {
            "fold": index + 1,
            "rows": len(y),
            "positives": int(y.sum()),
            "threshold": cut,
            "f1_own": at_own,
            "f1": classification_metrics(y, p, threshold=threshold)["f1"],
        }
        if windows is not None:
            entry["start"], entry["end"] = (str(w) for w in windows[index])
        folds.append(entry)
    values = np.asarray(decided, dtype=np.float64)
    spread = {
        "min": float(values.min()) if len(values) else None,
        "max": float(values.max()) if len(values) else None,
        "std": float(values.std()) if len(values) else None,
        "range": float(values.max() - values.min()) if len(values) else None,
    }
    return FoldThreshold(
        method=method,
        threshold=threshold,
        candidates={k: float(v) for k, v in candidates.items()},
        folds=folds,
        spread=spread,
    )


def expected_f1_threshold(probabilities: ArrayLike) -> tuple[float, float]:
    """The cut that maximises the F1 the probabilities themselves expect, and that F1.

    No label is needed: if each row is positive with its probability ``p``, flagging the rows
    with ``p ≥ t`` is expected to find ``Σ_{p≥t} p`` true positives out of ``Σ p`` positives, an
    F1 of about ``2·Σ_{p≥t} p / (#{p ≥ t} + Σ p)``. The cut follows the rows being scored: on a
    morning whose scores run high it rises, on one whose scores run low it falls. It is only as
    good as the probabilities' calibration (undo any resampling first:
    :func:`stockout_sk.sampling.unresampled_probability`).

    Parameters
    ----------
    probabilities : array-like of shape (n,)
        One probability per row, in [0, 1].

    Returns
    -------
    (float, float)
        The threshold (flag ``p ≥ threshold``) and the expected F1 there. As
        :func:`~stockout_sk.evaluate.choose_threshold` does, the threshold sits halfway between
        the lowest score flagged and the highest one not (0 below the lowest score): on a short
        list the gap can be wide, and other days' rows fall into it. With no probability above
        zero nothing can be expected: ``(1.0, 0.0)``.

    Examples
    --------
    >>> t, f1 = expected_f1_threshold([0.9, 0.8, 0.3, 0.1, 0.05])
    >>> round(t, 2), round(f1, 3)
    (0.55, 0.819)
    """
    caller = "expected_f1_threshold"
    p = float_array(probabilities, caller, "probabilities")
    p = as_scores(p, caller, "probabilities", len(p))
    if not len(p):
        raise ValueError(f"{caller}: no probabilities to choose a threshold from.")
    total = float(p.sum())
    if total <= 0:
        return 1.0, 0.0
    ordered = np.sort(p)[::-1]
    caught = np.cumsum(ordered)
    flagged = np.arange(1, len(ordered) + 1)
    # Only the last of equal scores is a cut: p ≥ t flags all of them together.
    last_of_ties = np.r_[ordered[1:] != ordered[:-1], True]
    expected = np.where(last_of_ties, 2 * caught / (flagged + total), -1.0)
    best = int(np.argmax(expected))
    below = ordered[best + 1 :]
    below = below[below < ordered[best]]
    return float((ordered[best] + (below[0] if len(below) else 0.0)) / 2.0), float(expected[best])
