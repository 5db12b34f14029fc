"""The two hard-rule baselines the model is reported next to, on the same rows.

**rule** ``CurrentQuantity < SafetyStockLevel`` (the one rule baseline of the project;
:func:`rule_decision` is its decision alone, cheap enough for one request) and **velocity**
``CurrentQuantity − ReservedQuantity − N·velocity < SafetyStockLevel``. Pure functions of the raw
request fields.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stockout_sk.contract import (
    CURRENT_QUANTITY,
    QUANTITY_FIELDS,
    RESERVED_QUANTITY,
    SAFETY_STOCK_LEVEL,
)
from stockout_sk.evaluate._inputs import float_array
from stockout_sk.evaluate.metrics import EvaluationWarning, classification_metrics
from stockout_sk.params import check_int

__all__ = [
    "BaselineScores",
    "baseline_shortfalls",
    "rule_baseline",
    "rule_decision",
    "velocity_baseline",
]


@dataclass(frozen=True, eq=False)
class BaselineScores:
    """A hard-rule baseline: its continuous risk score and its 0/1 decision.

    Attributes
    ----------
    name : str
        ``"rule"`` or ``"velocity"``.
    rule : str
        The decision rule in words (shown in the summary).
    score : numpy.ndarray of float
        Margin ``(SS − projected stock) / max(SS, 1)``; higher = more at risk. Used for PR/ROC-AUC.
    prediction : numpy.ndarray of int
        The rule's decision: 1 where projected stock ``< SS``, i.e. ``score > threshold``.
    threshold : float
        ``0.0``: the rule cuts its margin at zero (strictly).
    """

    name: str
    rule: str
    score: np.ndarray
    prediction: np.ndarray
    threshold: float = 0.0

    def metrics(self, y_true: ArrayLike) -> dict[str, Any]:
        """:func:`classification_metrics` of this baseline (Brier on its 0/1 prediction)."""
        return classification_metrics(
            y_true,
            self.score,
            threshold=self.threshold,
            proba=self.prediction,
            prediction=self.prediction,
        )


def rule_baseline(X: pd.DataFrame) -> BaselineScores:
    """The rule baseline: at risk iff ``CurrentQuantity < SafetyStockLevel``.

    Parameters
    ----------
    X : pandas.DataFrame
        Rows with ``CurrentQuantity`` and ``SafetyStockLevel`` (the raw request fields).

    Returns
    -------
    BaselineScores
        ``score = (SS − CurrentQuantity) / max(SS, 1)``, ``prediction = score > 0``.

    Examples
    --------
    >>> X = pd.DataFrame({"CurrentQuantity": [5, 50], "SafetyStockLevel": [10, 10]})
    >>> b = rule_baseline(X)
    >>> b.score.tolist(), b.prediction.tolist()
    ([0.5, -4.0], [1, 0])
    """
    cq, ss = _baseline_columns(X, (CURRENT_QUANTITY, SAFETY_STOCK_LEVEL), "rule_baseline")
    return BaselineScores(
        name="rule",
        rule=f"{CURRENT_QUANTITY} < {SAFETY_STOCK_LEVEL}",
        score=(ss - cq) / np.maximum(ss, 1.0),
        prediction=rule_decision(cq, ss),
    )


def rule_decision(current_quantity: ArrayLike, safety_stock_level: ArrayLike) -> np.ndarray:
    """The rule's decision alone: 1 where ``CurrentQuantity < SafetyStockLevel``, else 0.

    No checks and no DataFrame, so that serving can answer one request with it; a missing value
    compares false (not at risk). :func:`rule_baseline` checks its columns, then calls this.

    Parameters
    ----------
    current_quantity, safety_stock_level : array-like of float
        One value per row, in the same order.

    Returns
    -------
    numpy.ndarray of int64
        The 0/1 decision per row.

    Examples
    --------
    >>> rule_decision([5, 50, 10], [10, 10, 10]).tolist()
    [1, 0, 0]
    """
    current = np.asarray(current_quantity, dtype=np.float64)
    safety = np.asarray(safety_stock_level, dtype=np.float64)
    return (current < safety).astype(np.int64)


def velocity_baseline(X: pd.DataFrame, velocity: ArrayLike, *, horizon: int) -> BaselineScores:
    """The velocity baseline: at risk iff ``CurrentQuantity − R − N·velocity < SafetyStockLevel``.

    Parameters
    ----------
    X : pandas.DataFrame
        Rows with ``CurrentQuantity``, ``ReservedQuantity`` and ``SafetyStockLevel``.
    velocity : array-like of float
        Sales velocity in units per day as of each row (from the history features), one per row.
        Missing values (no history) count as 0 with an :class:`EvaluationWarning`.
    horizon : int
        N, the number of days ahead.

    Returns
    -------
    BaselineScores
        ``score = (SS − (CQ − R − N·v)) / max(SS, 1)``, ``prediction = score > 0``.

    Examples
    --------
    >>> X = pd.DataFrame(
    ...     {"CurrentQuantity": [30], "ReservedQuantity": [5], "SafetyStockLevel": [10]}
    ... )
    >>> b = velocity_baseline(X, [3.0], horizon=7)  # projected 30 - 5 - 21 = 4 < 10
    >>> b.score.tolist(), b.prediction.tolist()
    ([0.6], [1])
    """
    caller = "velocity_baseline"
    horizon = check_int(horizon, "horizon", caller=caller)
    cq, reserved, ss = _baseline_columns(X, QUANTITY_FIELDS, caller)
    v = float_array(velocity, caller, "velocity")
    if len(v) != len(cq):
        raise ValueError(
            f"{caller}: velocity has {len(v)} values but X has {len(cq)} rows; pass one velocity "
            "(units/day) per row, in the same order."
        )
    missing = ~np.isfinite(v)
    if missing.any():
        warnings.warn(
            f"{caller}: {int(missing.sum())} of {len(v)} velocities are missing or infinite "
            "(no sales history); they count as 0 units/day.",
            EvaluationWarning,
            stacklevel=2,
        )
        v = np.where(missing, 0.0, v)
    projected = cq - reserved - horizon * v
    return BaselineScores(
        name="velocity",
        rule=(
            f"{CURRENT_QUANTITY} − {RESERVED_QUANTITY} − {horizon}·velocity < {SAFETY_STOCK_LEVEL}"
        ),
        score=(ss - projected) / np.maximum(ss, 1.0),
        prediction=(projected < ss).astype(np.int64),
    )


def baseline_shortfalls(
    f1: float,
    baseline_f1: Mapping[str, float | None],
    *,
    margin: float = 0.0,
    strict: bool = False,
) -> dict[str, float]:
    """The baselines a model's F1 does not clear, on the same rows: the one comparison rule.

    The promotion gate (a new model must beat every baseline on its holdout) and monitoring (the
    model must not fall below the rule baseline in the latest window) both ask this.

    Parameters
    ----------
    f1 : float
        The model's F1.
    baseline_f1 : mapping
        Each baseline's F1 on the same rows; ``None`` (undefined) is skipped.
    margin : float, default=0.0
        Slack in the model's favour: a baseline is cleared when ``f1 >= b - margin``.
    strict : bool, default=False
        A tie does not clear a baseline (``f1 > b - margin`` is needed): a model must *beat*
        the free rule to be worth serving.

    Returns
    -------
    dict
        ``{name: baseline F1}`` of the baselines not cleared, in the given order.

    Examples
    --------
    >>> baseline_shortfalls(0.84, {"rule": 0.975, "velocity": 0.80})
    {'rule': 0.975}
    >>> tie = {"rule": 0.9}
    >>> baseline_shortfalls(0.9, tie), baseline_shortfalls(0.9, tie, strict=True)
    ({}, {'rule': 0.9})
    """
    out: dict[str, float] = {}
    for name, value in baseline_f1.items():
        if value is None:
            continue
        bar = float(value) - margin
        if (f1 <= bar) if strict else (f1 < bar):
            out[name] = float(value)
    return out


def _baseline_columns(
    X: pd.DataFrame, columns: tuple[str, ...], caller: str
) -> tuple[np.ndarray, ...]:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{caller}: X must be a pandas DataFrame, got {type(X).__name__}.")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(
            f"{caller}: X lacks column(s) {missing}; it needs {list(columns)} "
            "(the raw request fields of the training table)."
        )
    out = []
    for column in columns:
        values = pd.to_numeric(X[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{caller}: column {column!r} has {int(bad.sum())} missing or non-numeric "
                f"value(s), first at row {first} ({X[column].iloc[first]!r}); repair or drop them."
            )
        out.append(values)
    return tuple(out)
