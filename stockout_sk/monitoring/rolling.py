"""Rolling evaluation: the model and the rule baseline on a window ending at every as-of day.

Only rows whose label has matured (``t + N`` inside the monitored data) are evaluated; nothing
newer can be judged on performance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stockout_sk.contract import CURRENT_QUANTITY, DATE, LABEL, SAFETY_STOCK_LEVEL
from stockout_sk.evaluate import classification_metrics, rule_baseline

__all__ = ["WindowMetrics", "rolling_evaluation"]


@dataclass
class WindowMetrics:
    """Model and rule-baseline metrics on one window of as-of days.

    Attributes
    ----------
    window_start, window_end : str
        First and last as-of day (ISO) of the window.
    days, rows, positives : int
    f1, precision, recall : float
        The model at its own threshold.
    pr_auc : float or None
        Average precision (``None`` without positives).
    rule_f1, rule_precision, rule_recall : float
    rule_pr_auc : float or None
        The rule baseline on the same rows.
    judged : bool
        At least ``min_window_positives`` positives: the window counts for the verdict.
    partial : bool
        Fewer as-of days than ``window_days`` were available (the whole period is one window).
    """

    window_start: str
    window_end: str
    days: int
    rows: int
    positives: int
    f1: float
    precision: float
    recall: float
    pr_auc: float | None
    rule_f1: float
    rule_precision: float
    rule_recall: float
    rule_pr_auc: float | None
    judged: bool
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def rolling_evaluation(
    rows: pd.DataFrame,
    proba: ArrayLike,
    *,
    threshold: float,
    window_days: int = 7,
    min_positives: int = 20,
) -> list[WindowMetrics]:
    """Metrics of the model and the rule baseline on a window ending at every as-of day.

    Parameters
    ----------
    rows : DataFrame
        Labelled rows: the raw fields (``Date``, ``CurrentQuantity``, ``SafetyStockLevel`` are
        used) and ``label``.
    proba : array-like of float
        The model's probability for each row, same order.
    threshold : float
        The model's decision threshold.
    window_days : int, default=7
        As-of days per window; windows end at every as-of day from the ``window_days``-th on
        (one partial window of all days when there are fewer).
    min_positives : int, default=20
        Windows with fewer positives are marked ``judged=False``.

    Returns
    -------
    list of WindowMetrics
        Ordered by ``window_end``.
    """
    if rows.empty:
        return []
    missing = [c for c in (DATE, CURRENT_QUANTITY, SAFETY_STOCK_LEVEL, LABEL) if c not in rows]
    if missing:
        raise ValueError(
            f"rolling_evaluation: rows lack column(s) {missing}; pass the labelled table of "
            "stockout_sk.labels.build_dataset"
        )
    p = np.asarray(proba, dtype=np.float64).reshape(-1)
    if len(p) != len(rows):
        raise ValueError(
            f"rolling_evaluation: proba has {len(p)} values for {len(rows)} rows; pass one "
            "probability per row, in the same order"
        )
    dates = pd.to_datetime(rows[DATE]).dt.normalize().to_numpy()
    y = rows[LABEL].to_numpy()
    days = np.unique(dates)
    span = np.timedelta64(window_days - 1, "D")
    full = days[days >= days[0] + span]
    ends, partial = (full, False) if len(full) else (days[-1:], True)
    out = []
    for end in ends:
        start = end - span
        mask = (dates >= start) & (dates <= end)
        model = classification_metrics(y[mask], p[mask], threshold=threshold)
        rule = rule_baseline(rows.loc[mask]).metrics(y[mask])
        out.append(
            WindowMetrics(
                window_start=str(pd.Timestamp(max(start, days[0])).date()),
                window_end=str(pd.Timestamp(end).date()),
                days=len(np.unique(dates[mask])),
                rows=int(mask.sum()),
                positives=int(model["positives"]),
                f1=float(model["f1"]),
                precision=float(model["precision"]),
                recall=float(model["recall"]),
                pr_auc=model["pr_auc"],
                rule_f1=float(rule["f1"]),
                rule_precision=float(rule["precision"]),
                rule_recall=float(rule["recall"]),
                rule_pr_auc=rule["pr_auc"],
                judged=int(model["positives"]) >= min_positives,
                partial=partial,
            )
        )
    return out
