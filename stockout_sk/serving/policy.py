"""What an answer is: a key the model never saw, a date before its history, the staleness policy.

The model answers every validated row, but not every answer means the same:

* ``unknown_key`` — the branch×item has no carried history: the model never saw it in
  training, its history features are those of a key with no movement at all;
* ``history_missing`` — the row's date is before the history the model carries (or
  unreadable): some of its history features are missing;
* the **staleness policy** — a row dated more than ``max_staleness_days``
  (``STOCKOUT_MAX_STALENESS_DAYS``, default 60) after the freshest history the model carries is
  answered by the rule baseline, with the reason: the model would read a stock position months
  or years old as current. An absurd date (``9999-12-31``) is such a row.

:func:`assess` computes them from the fitted history step; :func:`~stockout_sk.serving.predict`
applies them. See ``docs/DESIGN.md``, "Serving".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Assessment", "assess"]


@dataclass(frozen=True)
class Assessment:
    """What the carried history says about each row of a batch.

    Attributes
    ----------
    unknown_key, history_missing : ndarray of bool
    by_rule : ndarray of bool
        Rows past the staleness limit: the rule baseline answers them.
    rule_reason : str or None
        Why (``None`` when no row is past the limit).
    """

    unknown_key: np.ndarray
    history_missing: np.ndarray
    by_rule: np.ndarray
    rule_reason: str | None


def assess(
    history: Any,
    X: Any,
    stale_days: np.ndarray,
    *,
    max_staleness_days: int | None,
    history_end: str | None,
) -> Assessment:
    """Flags and the staleness policy for rows ``X`` scored by a pipeline whose history step is
    ``history`` (a fitted :class:`~stockout_sk.features.history.HistoryFeatures`).

    Parameters
    ----------
    history : HistoryFeatures
    X : Columns or DataFrame
        The raw rows.
    stale_days : ndarray of int
        Days between each row's date and the freshest carried history (0: not after it).
    max_staleness_days : int or None
        The policy's limit; ``None``: no limit.
    history_end : str or None
        The freshest carried day (ISO), for the reason.

    Returns
    -------
    Assessment

    Examples
    --------
    >>> class History:
    ...     def coverage(self, X):
    ...         return np.array([True, False]), np.array([False, False])
    >>> found = assess(History(), None, np.array([3, 3_000_000]), max_staleness_days=60,
    ...                history_end="2024-04-29")
    >>> found.unknown_key.tolist(), found.by_rule.tolist()
    ([False, True], [False, True])
    """
    known, before = history.coverage(X)
    stale = np.asarray(stale_days)
    by_rule = (
        np.zeros(len(stale), dtype=bool)
        if max_staleness_days is None
        else stale > max_staleness_days
    )
    reason = None
    if by_rule.any():
        reason = (
            f"Date is more than {max_staleness_days} days after the freshest history the model "
            f"carries ({history_end}; see history_staleness_days): by the staleness policy "
            "(STOCKOUT_MAX_STALENESS_DAYS) the rule baseline answered. Retrain on recent exports, "
            "or check the date"
        )
    return Assessment(
        unknown_key=~np.asarray(known, dtype=bool),
        history_missing=np.asarray(before, dtype=bool),
        by_rule=by_rule,
        rule_reason=reason,
    )
