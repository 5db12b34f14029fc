"""Honest, time-based evaluation: purged time split, threshold choice, metrics, baselines, report.

Everything here is a pure function of arrays except :func:`evaluate_holdout` with ``out_dir``,
which writes the plots and the summary a person looks at after a training run.

The rules come from ``DESIGN.md`` ("Training, evaluation, promotion"):

* the split is by time, never random: the holdout is the latest as-of days, and training as-of days
  end at least ``horizon`` days before the first holdout day, so that no training label window
  ``[t+1, t+N]`` reaches a holdout as-of day (the *purge gap*);
* the decision threshold is chosen on a training-side validation window (:func:`validation_split`,
  :func:`choose_threshold`), never on the holdout;
* the model is reported next to two baselines on the same rows: **rule**
  ``CurrentQuantity < SafetyStockLevel`` and **velocity**
  ``CurrentQuantity − ReservedQuantity − N·velocity < SafetyStockLevel``.

Conventions: labels are 0/1; a row is predicted positive when ``score >= threshold``; metrics that
are undefined on the given rows (ROC-AUC with one class, PR-AUC without positives) are ``None``.
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from stockout_sk.contract import CURRENT_QUANTITY, QUANTITY_FIELDS, SAFETY_STOCK_LEVEL

if TYPE_CHECKING:  # matplotlib is imported lazily, see _new_figure
    from matplotlib.figure import Figure

__all__ = [
    "METRIC_KEYS",
    "BaselineScores",
    "EvaluationReport",
    "EvaluationWarning",
    "TimeSplit",
    "choose_threshold",
    "classification_metrics",
    "evaluate_holdout",
    "rule_baseline",
    "time_split",
    "validation_split",
    "velocity_baseline",
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

#: Default text for where the model's threshold came from (shown in ``summary.md``).
DEFAULT_THRESHOLD_SOURCE = "maximum F1 on the training-side validation window (choose_threshold)"

_TOP_FEATURES = 20
_DPI = 110


class EvaluationWarning(UserWarning):
    """A recoverable problem in evaluation (one-class labels, missing velocities, ...)."""


# --------------------------------------------------------------------------------------------------
# Time split with a purge gap
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TimeSplit:
    """Row masks and boundaries of a purged time split.

    Rows whose as-of day falls in the purge gap (strictly between ``cutoff`` and ``holdout_start``)
    are in neither mask: their label windows would overlap the held-out days.

    Attributes
    ----------
    train, holdout : numpy.ndarray of bool
        Positional row masks, aligned with the ``dates`` given to the split. For
        :func:`validation_split`, ``holdout`` is the validation window.
    train_start, train_end : pandas.Timestamp
        First and last training as-of day present in the data.
    holdout_start, holdout_end : pandas.Timestamp
        First and last held-out as-of day.
    cutoff : pandas.Timestamp
        Latest day a training as-of day may have: ``holdout_start − horizon − 1 day``.
    horizon : int
        Label horizon N in days that the purge gap protects.
    n_train_days, n_holdout_days : int
        Distinct as-of days on each side.
    """

    train: np.ndarray
    holdout: np.ndarray
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    holdout_start: pd.Timestamp
    holdout_end: pd.Timestamp
    cutoff: pd.Timestamp
    horizon: int
    n_train_days: int
    n_holdout_days: int

    @property
    def purged(self) -> np.ndarray:
        """Mask of rows dropped because their as-of day lies in the purge gap."""
        return ~(self.train | self.holdout)

    @property
    def gap_days(self) -> int:
        """Calendar days strictly between the last training and the first held-out as-of day."""
        return int((self.holdout_start - self.train_end).days) - 1

    def rows(self) -> dict[str, int]:
        """Row counts in the shape :func:`evaluate_holdout` takes as ``rows``."""
        return {"train": int(self.train.sum()), "holdout": int(self.holdout.sum())}


def time_split(
    dates: pd.Series | ArrayLike,
    *,
    horizon: int,
    holdout_days: int = 21,
    min_train_days: int = 28,
) -> TimeSplit:
    """Split rows by as-of day into training and a later holdout, with a purge gap of ``horizon``.

    The holdout is the latest ``holdout_days`` *distinct* as-of days present. Training as-of days
    ``t`` satisfy ``t <= first_holdout_day − horizon − 1``, so every training label window
    ``[t+1, t+horizon]`` ends before the first held-out as-of day. Never random.

    Parameters
    ----------
    dates : pandas.Series of datetime64
        The ``Date`` column of the training table (one entry per row). A time of day is ignored:
        a timestamp belongs to its date.
    horizon : int
        Label horizon N in days (>= 1); also the minimum purge gap.
    holdout_days : int, default 21
        Number of distinct latest as-of days held out.
    min_train_days : int, default 28
        Minimum number of distinct training as-of days; fewer is an error.

    Returns
    -------
    TimeSplit
        Boolean row masks ``train`` and ``holdout`` (positional) and the boundary dates.

    Raises
    ------
    TypeError
        If ``dates`` is not datetime-like.
    ValueError
        If a date is missing, or there are not enough distinct days for the holdout, the purge gap
        and ``min_train_days`` training days (the message says how many are needed and found).

    Examples
    --------
    >>> d = pd.Series(pd.date_range("2024-01-01", periods=40, freq="D"))
    >>> s = time_split(d, horizon=7, holdout_days=5, min_train_days=10)
    >>> str(s.train_end.date()), str(s.holdout_start.date()), s.gap_days
    ('2024-01-28', '2024-02-05', 7)
    """
    return _purged_split(
        dates,
        horizon=horizon,
        window_days=holdout_days,
        min_train_days=min_train_days,
        caller="time_split",
        window_name="holdout",
    )


def validation_split(
    dates: pd.Series | ArrayLike,
    *,
    horizon: int,
    validation_days: int,
    min_train_days: int = 28,
) -> TimeSplit:
    """Carve a validation window off the end of the *training* rows, with the same purge rule.

    Call it on the training side only (``dates[split.train]``), fit on ``.train`` and choose the
    threshold on ``.holdout`` (the validation window) with :func:`choose_threshold`; the masks are
    positional in the dates you pass.

    Parameters
    ----------
    dates : pandas.Series of datetime64
        As-of days of the training rows.
    horizon : int
        Label horizon N in days; the purge gap between fit and validation as-of days.
    validation_days : int
        Number of distinct latest as-of days used for validation.
    min_train_days : int, default 28
        Minimum number of distinct as-of days left to fit on.

    Returns
    -------
    TimeSplit
        ``train`` is the fitting part, ``holdout`` the validation window.

    Raises
    ------
    TypeError, ValueError
        As :func:`time_split`.
    """
    return _purged_split(
        dates,
        horizon=horizon,
        window_days=validation_days,
        min_train_days=min_train_days,
        caller="validation_split",
        window_name="validation",
    )


def _purged_split(
    dates: pd.Series | ArrayLike,
    *,
    horizon: int,
    window_days: int,
    min_train_days: int,
    caller: str,
    window_name: str,
) -> TimeSplit:
    horizon = _check_positive_int(horizon, "horizon", caller)
    window_days = _check_positive_int(window_days, f"{window_name}_days", caller)
    min_train_days = _check_positive_int(min_train_days, "min_train_days", caller)

    days = _as_days(dates, caller)
    distinct = pd.DatetimeIndex(days.drop_duplicates()).sort_values()
    n_days = len(distinct)
    # Consecutive days consumed by the window, the purge gap and the minimum training span.
    needed = window_days + horizon + min_train_days
    span = (
        f"{n_days} distinct as-of day(s) ({distinct[0].date()} .. {distinct[-1].date()})"
        if n_days
        else "no as-of days"
    )
    fix = (
        f"Use a longer history, or lower {window_name}_days={window_days}, "
        f"min_train_days={min_train_days} or horizon={horizon}."
    )
    if n_days < window_days:
        raise ValueError(
            f"{caller}: not enough days: the {window_name} needs {window_days} distinct as-of days "
            f"and at least {needed} consecutive days overall ({window_days} {window_name} + "
            f"{horizon} purge + {min_train_days} training); the Date column has {span}. {fix}"
        )

    window_start = distinct[n_days - window_days]
    cutoff = window_start - pd.Timedelta(days=horizon + 1)
    train_distinct = distinct[distinct <= cutoff]
    if len(train_distinct) < min_train_days:
        raise ValueError(
            f"{caller}: not enough days: training needs {min_train_days} distinct as-of days on "
            f"or before {cutoff.date()} (first {window_name} day {window_start.date()} − horizon "
            f"{horizon} − 1), i.e. at least {needed} consecutive days overall ({window_days} "
            f"{window_name} + {horizon} purge + {min_train_days} training); the Date column has "
            f"{span}, of which {len(train_distinct)} are usable for training. {fix}"
        )

    return TimeSplit(
        train=(days <= cutoff).to_numpy(dtype=bool),
        holdout=(days >= window_start).to_numpy(dtype=bool),
        train_start=train_distinct[0],
        train_end=train_distinct[-1],
        holdout_start=window_start,
        holdout_end=distinct[-1],
        cutoff=cutoff,
        horizon=horizon,
        n_train_days=len(train_distinct),
        n_holdout_days=window_days,
    )


def _as_days(dates: pd.Series | ArrayLike, caller: str) -> pd.Series:
    """Dates as a positional Series of midnights; reject non-datetimes and missing values."""
    series = dates if isinstance(dates, pd.Series) else pd.Series(dates)
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        raise TypeError(
            f"{caller}: dates must be datetime64 (the training table's Date column), got dtype "
            f"{series.dtype!s}; convert it first, e.g. with pd.to_datetime(...)."
        )
    missing = int(series.isna().sum())
    if missing:
        first = int(np.flatnonzero(series.isna().to_numpy())[0])
        raise ValueError(
            f"{caller}: {missing} missing date(s) (NaT), first at position {first}; every "
            "training row needs its as-of Date. Drop or repair those rows before splitting."
        )
    # Positional index so masks line up with the caller's rows whatever their index was.
    return series.dt.normalize().reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Threshold and metrics
# --------------------------------------------------------------------------------------------------


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
    y = _as_labels(y_true, "choose_threshold", "y_true")
    p = _as_scores(proba, "choose_threshold", "proba", len(y))
    _check_unit_interval(p, "choose_threshold", "proba", "pass predict_proba(X)[:, 1].")
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
    y = _as_labels(y_true, caller, "y_true")
    s = _as_scores(score, caller, "score", len(y))
    threshold = _check_finite(threshold, "threshold", caller)
    if prediction is None:
        pred = s >= threshold
    else:
        pred = _as_labels(prediction, caller, "prediction", n=len(y)).astype(bool)
    if proba is None:
        _check_unit_interval(
            s, caller, "score (used as proba for the Brier score)", "pass proba= explicitly."
        )
        p = s
    else:
        p = _as_scores(proba, caller, "proba", len(y))
        _check_unit_interval(
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


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


# --------------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------------


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
        rule="CurrentQuantity < SafetyStockLevel",
        score=(ss - cq) / np.maximum(ss, 1.0),
        prediction=(cq < ss).astype(np.int64),
    )


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
    horizon = _check_positive_int(horizon, "horizon", caller)
    cq, reserved, ss = _baseline_columns(X, QUANTITY_FIELDS, caller)
    v = _float_array(velocity, caller, "velocity")
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
        rule=f"CurrentQuantity − ReservedQuantity − {horizon}·velocity < SafetyStockLevel",
        score=(ss - projected) / np.maximum(ss, 1.0),
        prediction=(projected < ss).astype(np.int64),
    )


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


# --------------------------------------------------------------------------------------------------
# Holdout evaluation and report
# --------------------------------------------------------------------------------------------------


@dataclass
class EvaluationReport:
    """Holdout metrics of the model and both baselines, plus the files written for people.

    Attributes
    ----------
    model : dict
        :func:`classification_metrics` of the model at its threshold.
    baselines : dict of str to dict
        The same for ``"rule"`` and ``"velocity"``, on the same rows.
    rows : dict
        ``{"train": int | None, "holdout": int}``.
    positive_rate : float
        Share of positive labels on the holdout.
    horizon : int
        Label horizon N.
    threshold_source : str
        Where the model's threshold came from.
    notes : list of str
        Things a reader should know (skipped plots, undefined metrics).
    paths : list of pathlib.Path
        Files written (empty without ``out_dir``).
    """

    model: dict[str, Any]
    baselines: dict[str, dict[str, Any]]
    rows: dict[str, int | None]
    positive_rate: float
    horizon: int
    threshold_source: str = DEFAULT_THRESHOLD_SOURCE
    notes: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able summary (plain floats/ints/None), as saved in ``summary.json``.

        Returns
        -------
        dict
            ``{"model": {...}, "baselines": {"rule": {...}, "velocity": {...}},
            "rows": {"train", "holdout"}, "positive_rate"}``; each metrics block has exactly
            the keys in :data:`METRIC_KEYS`.
        """
        return {
            "model": _metric_block(self.model),
            "baselines": {name: _metric_block(m) for name, m in self.baselines.items()},
            "rows": {
                "train": _plain(self.rows.get("train")),
                "holdout": _plain(self.rows["holdout"]),
            },
            "positive_rate": _plain(self.positive_rate),
        }


def evaluate_holdout(
    y_true: ArrayLike,
    proba: ArrayLike,
    *,
    threshold: float,
    X: pd.DataFrame,
    velocity: ArrayLike,
    horizon: int,
    feature_importance: pd.Series | None = None,
    out_dir: Path | None = None,
    rows: Mapping[str, int | None] | None = None,
    threshold_source: str = DEFAULT_THRESHOLD_SOURCE,
) -> EvaluationReport:
    """Evaluate the model and both baselines on the same holdout rows; optionally write a report.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        Holdout labels.
    proba : array-like of float in [0, 1]
        Model probability of the positive class for the same rows.
    threshold : float
        The model's decision threshold, chosen on training-side validation (never here).
    X : pandas.DataFrame
        The holdout rows' raw fields (``CurrentQuantity``, ``ReservedQuantity``,
        ``SafetyStockLevel``), in the same order as ``y_true``.
    velocity : array-like of float
        Sales velocity (units/day) per holdout row, for the velocity baseline.
    horizon : int
        Label horizon N.
    feature_importance : pandas.Series, optional
        Gain per feature name; plotted (top 20) when given.
    out_dir : pathlib.Path, optional
        Where to write ``pr_curve.png``, ``calibration.png``, ``confusion_matrix.png``,
        ``feature_importance.png``, ``summary.json`` and ``summary.md`` (created if needed).
    rows : mapping, optional
        ``{"train": n_train, "holdout": n_holdout}`` (e.g. :meth:`TimeSplit.rows`); ``holdout``
        must equal the number of rows evaluated. Defaults to ``{"train": None, "holdout": n}``.
    threshold_source : str, optional
        Where the threshold came from, for ``summary.md``.

    Returns
    -------
    EvaluationReport
        Metrics, notes and the list of written paths.
    """
    caller = "evaluate_holdout"
    horizon = _check_positive_int(horizon, "horizon", caller)
    y = _as_labels(y_true, caller, "y_true")
    p = _as_scores(proba, caller, "proba", len(y))
    if len(X) != len(y):
        raise ValueError(
            f"{caller}: X has {len(X)} rows but y_true has {len(y)}; pass the holdout rows' raw "
            "fields in the same order as the labels."
        )
    checked_rows = _check_rows(rows, len(y), caller)

    baselines = {
        "rule": rule_baseline(X),
        "velocity": velocity_baseline(X, velocity, horizon=horizon),
    }
    report = EvaluationReport(
        model=classification_metrics(y, p, threshold=threshold),
        baselines={name: b.metrics(y) for name, b in baselines.items()},
        rows=checked_rows,
        positive_rate=float(y.mean()),
        horizon=horizon,
        threshold_source=threshold_source,
    )
    positives = report.model["positives"]
    if positives == 0:
        report.notes.append("The holdout has no positive rows: PR-AUC and ROC-AUC are undefined.")
    elif positives == len(y):
        report.notes.append("The holdout has only positive rows: ROC-AUC is undefined.")

    if out_dir is not None:
        report.paths = _write_report(report, y, p, baselines, feature_importance, Path(out_dir))
    return report


def _check_rows(
    rows: Mapping[str, int | None] | None, n_holdout: int, caller: str
) -> dict[str, int | None]:
    if rows is None:
        return {"train": None, "holdout": n_holdout}
    unknown = set(rows) - {"train", "holdout"}
    if unknown or "holdout" not in rows:
        raise ValueError(
            f"{caller}: rows must have keys 'train' and 'holdout' only, got {sorted(rows)!r}; "
            "pass e.g. split.rows()."
        )
    if rows["holdout"] != n_holdout:
        raise ValueError(
            f"{caller}: rows['holdout']={rows['holdout']!r} but {n_holdout} rows were evaluated; "
            "pass the counts of the split these rows come from."
        )
    train = rows.get("train")
    return {"train": None if train is None else int(train), "holdout": n_holdout}


def _metric_block(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(metrics[key]) for key in METRIC_KEYS}


def _plain(value: Any) -> float | int | None:
    """A JSON-safe plain number: numpy scalars unwrapped, NaN/inf become None."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------------
# Writing the report
# --------------------------------------------------------------------------------------------------


def _write_report(
    report: EvaluationReport,
    y: np.ndarray,
    proba: np.ndarray,
    baselines: Mapping[str, BaselineScores],
    feature_importance: pd.Series | None,
    out_dir: Path,
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        _save(_plot_pr_curve(y, proba, report, baselines), out_dir / "pr_curve.png"),
        _save(_plot_calibration(y, proba, report), out_dir / "calibration.png"),
        _save(
            _plot_confusion(y, proba, report.model["threshold"]), out_dir / "confusion_matrix.png"
        ),
    ]
    if feature_importance is None:
        report.notes.append("No feature importance was given: feature_importance.png not written.")
    elif len(feature_importance) == 0:
        report.notes.append("Feature importance is empty: feature_importance.png not written.")
    else:
        figure = _plot_feature_importance(feature_importance)
        written.append(_save(figure, out_dir / "feature_importance.png"))

    summary_md = out_dir / "summary.md"
    summary_md.write_text(_summary_markdown(report, baselines, written), encoding="utf-8")
    summary_json = out_dir / "summary.json"
    summary_json.write_text(
        json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    return [*written, summary_md, summary_json]


def _summary_markdown(
    report: EvaluationReport, baselines: Mapping[str, BaselineScores], plots: list[Path]
) -> str:
    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    header = "| | F1 | precision | recall | PR-AUC | ROC-AUC | Brier | threshold |"
    lines = [
        f"# Holdout evaluation (horizon {report.horizon} days)",
        "",
        header,
        "|---|" + "---:|" * (header.count("|") - 2),
    ]
    named = [("model", report.model)] + [
        (f"{name} baseline", metrics) for name, metrics in report.baselines.items()
    ]
    for label, metrics in named:
        cells = " | ".join(fmt(metrics[key]) for key in METRIC_KEYS)
        lines.append(f"| {label} | {cells} |")

    train = report.rows.get("train")
    lines += [
        "",
        f"* Rows: train {'n/a' if train is None else f'{train:,}'}, "
        f"holdout {report.rows['holdout']:,} ({report.model['positives']:,} positive, "
        f"rate {report.positive_rate:.3f}).",
        f"* Model threshold {report.model['threshold']:.4g}: {report.threshold_source}; "
        "a row is flagged when its probability is at or above it.",
    ]
    for name, baseline in baselines.items():
        lines.append(
            f"* {name} baseline: `{baseline.rule}` (score = margin over SS, cut at "
            f"{baseline.threshold:g}); Brier on its 0/1 decision."
        )
    lines.append("* PR-AUC is average precision; n/a means undefined on these rows.")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"* {note}" for note in report.notes]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"


def _new_figure(width: float, height: float) -> Figure:
    """A Figure on its own Agg canvas: no pyplot global state, no backend switch.

    matplotlib is imported here rather than at module import because importing it builds its font
    cache on first use, and code that only needs metrics (monitoring, the API) should not pay that.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=_DPI, format="png")
    return path


def _no_data(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, wrap=True)


def _plot_pr_curve(
    y: np.ndarray,
    proba: np.ndarray,
    report: EvaluationReport,
    baselines: Mapping[str, BaselineScores],
) -> Figure:
    figure = _new_figure(7.0, 6.5)
    ax = figure.add_subplot()
    ax.set(
        xlabel="recall",
        ylabel="precision",
        xlim=(0.0, 1.0),
        ylim=(0.0, 1.02),
        title=f"Precision-recall on the holdout (n={len(y):,}, horizon {report.horizon} d)",
    )
    ax.grid(alpha=0.3)
    if not y.any():
        _no_data(ax, "No positive rows in the holdout:\nthe precision-recall curve is undefined.")
        return figure

    curves = [("model", proba, report.model, "C0")] + [
        (f"{name} baseline", b.score, report.baselines[name], color)
        for (name, b), color in zip(baselines.items(), ("C1", "C2"), strict=True)
    ]
    for label, score, metrics, color in curves:
        precision, recall, _ = precision_recall_curve(y, score)
        ax.step(
            recall,
            precision,
            where="post",
            color=color,
            label=f"{label} (AP {metrics['pr_auc']:.3f})",
        )
        # Operating point: where each one actually decides, with its F1.
        ax.plot(
            metrics["recall"],
            metrics["precision"],
            marker="o" if label == "model" else "s",
            markersize=9 if label == "model" else 7,
            color=color,
            markeredgecolor="black",
            linestyle="none",
            label=f"{label} decision (F1 {metrics['f1']:.3f}, t={metrics['threshold']:.3g})",
        )
    ax.axhline(report.positive_rate, color="grey", linestyle=":", label="no skill (positive rate)")
    # Below the axes: inside, it would hide the baselines' curves near the positive rate.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize="small")
    return figure


def _plot_calibration(y: np.ndarray, proba: np.ndarray, report: EvaluationReport) -> Figure:
    figure = _new_figure(6.5, 7.5)
    top, bottom = figure.subplots(2, 1, height_ratios=(3, 2), sharex=True)

    edges = np.linspace(0.0, 1.0, 11)
    # Right-closed last bin so a probability of exactly 1.0 is counted.
    bins = np.clip(np.digitize(proba, edges[1:-1]), 0, len(edges) - 2)
    counts = np.bincount(bins, minlength=len(edges) - 1)
    filled = counts > 0
    mean_proba = np.bincount(bins, weights=proba, minlength=len(counts))[filled] / counts[filled]
    observed = np.bincount(bins, weights=y, minlength=len(counts))[filled] / counts[filled]

    top.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    top.plot(mean_proba, observed, marker="o", color="C0", label="model")
    for x_pos, y_pos, count in zip(mean_proba, observed, counts[filled], strict=True):
        top.annotate(
            f"{count:,}", (x_pos, y_pos), textcoords="offset points", xytext=(5, 5), fontsize=7
        )
    top.set(
        ylabel="observed positive rate",
        xlim=(0.0, 1.0),
        ylim=(-0.02, 1.1),
        title=f"Reliability (10 bins, n per bin shown); Brier {report.model['brier']:.4f}",
    )
    top.grid(alpha=0.3)
    top.legend(loc="upper left", fontsize="small")

    for label, mask, color in (("label 0", y == 0, "C0"), ("label 1", y == 1, "C3")):
        if mask.any():
            bottom.hist(proba[mask], bins=edges, alpha=0.6, color=color, label=label)
    bottom.axvline(
        report.model["threshold"],
        color="black",
        linestyle="--",
        label=f"threshold {report.model['threshold']:.3g}",
    )
    bottom.set(xlabel="predicted probability", ylabel="rows", title="Distribution of scores")
    bottom.legend(loc="best", fontsize="small")
    return figure


def _plot_confusion(y: np.ndarray, proba: np.ndarray, threshold: float) -> Figure:
    pred = (proba >= threshold).astype(int)
    counts = np.zeros((2, 2), dtype=np.int64)
    np.add.at(counts, (y, pred), 1)
    per_actual = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, per_actual, out=np.zeros((2, 2)), where=per_actual > 0)

    figure = _new_figure(5.5, 5.0)
    ax = figure.add_subplot()
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=ax, label="share of the actual class")
    names = (("TN", "FP"), ("FN", "TP"))
    for i in range(2):
        for j in range(2):
            ax.text(
                j,
                i,
                f"{names[i][j]}\n{counts[i, j]:,}\n{rates[i, j]:.1%} of actual {i}",
                ha="center",
                va="center",
                color="white" if rates[i, j] > 0.5 else "black",
            )
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["0: fine", "1: below SS"],
        yticklabels=["0: fine", "1: below SS"],
        xlabel="predicted",
        ylabel="actual",
        title=f"Confusion matrix at threshold {threshold:.3g} (n={len(y):,})",
    )
    return figure


def _plot_feature_importance(importance: pd.Series) -> Figure:
    values = pd.to_numeric(pd.Series(importance), errors="coerce").dropna()
    top = values.sort_values(ascending=False, kind="stable").head(_TOP_FEATURES)
    figure = _new_figure(7.5, 1.2 + 0.3 * max(len(top), 1))
    ax = figure.add_subplot()
    # Reversed so the most important feature is the top bar.
    ax.barh([str(name) for name in top.index[::-1]], top.to_numpy()[::-1], color="C0")
    ax.set(
        xlabel="gain",
        title=f"Feature importance (top {len(top)} of {len(values)} by gain)",
    )
    ax.grid(axis="x", alpha=0.3)
    return figure


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


def _check_positive_int(value: Any, name: str, caller: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{caller}: {name} must be an int, got {value!r}.")
    if value < 1:
        raise ValueError(f"{caller}: {name} must be >= 1, got {value!r}.")
    return int(value)


def _check_finite(value: Any, name: str, caller: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{caller}: {name} must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"{caller}: {name} must be finite, got {value!r}.")
    return float(value)


def _float_array(values: ArrayLike, caller: str, name: str) -> np.ndarray:
    """1-D float array from a list, array or Series (nullable dtypes too); NA becomes NaN."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).reshape(-1))
    try:
        return series.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{caller}: {name} must be numeric, got dtype {series.dtype!s} ({error}); pass numbers."
        ) from error


def _as_labels(values: ArrayLike, caller: str, name: str, *, n: int | None = None) -> np.ndarray:
    array = _float_array(values, caller, name)
    if n is not None and len(array) != n:
        raise ValueError(f"{caller}: {name} has {len(array)} values, expected {n} (one per row).")
    if len(array) == 0:
        raise ValueError(f"{caller}: {name} is empty; there is nothing to evaluate.")
    bad = ~np.isin(array, (0.0, 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{caller}: {name} must hold 0/1 labels, found {float(array[first])!r} at position "
            f"{first} ({int(bad.sum())} bad value(s)); pass the binary label column."
        )
    return array.astype(np.int64)


def _as_scores(values: ArrayLike, caller: str, name: str, n: int) -> np.ndarray:
    array = _float_array(values, caller, name)
    if len(array) != n:
        raise ValueError(
            f"{caller}: {name} has {len(array)} values but there are {n} labels; pass one score "
            "per row, in the same order."
        )
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{caller}: {name} has {int(bad.sum())} missing or infinite value(s), first at "
            f"position {first}; scores must be finite."
        )
    return array


def _check_unit_interval(values: np.ndarray, caller: str, name: str, hint: str) -> None:
    if values.min() < 0.0 or values.max() > 1.0:
        raise ValueError(
            f"{caller}: {name} must lie in [0, 1], got values in [{values.min():.4g}, "
            f"{values.max():.4g}]; {hint}"
        )
