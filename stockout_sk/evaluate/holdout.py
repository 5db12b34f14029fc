"""The holdout evaluation: the model and both baselines on the same held-out rows.

:func:`evaluate_holdout` is pure unless given ``out_dir``; then :mod:`.report_files` writes the
plots and the summary a person looks at after a training run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from numpy.typing import ArrayLike

from stockout_sk.evaluate._inputs import as_labels, as_scores
from stockout_sk.evaluate.baselines import rule_baseline, velocity_baseline
from stockout_sk.evaluate.metrics import METRIC_KEYS, classification_metrics
from stockout_sk.evaluate.report_files import write_report
from stockout_sk.jsonable import plain
from stockout_sk.params import check_int

__all__ = ["DEFAULT_THRESHOLD_SOURCE", "EvaluationReport", "evaluate_holdout"]

#: Default text for where the model's threshold came from (shown in ``summary.md``).
DEFAULT_THRESHOLD_SOURCE = "maximum F1 on the training-side validation window (choose_threshold)"


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
                "train": plain(self.rows.get("train")),
                "holdout": plain(self.rows["holdout"]),
            },
            "positive_rate": plain(self.positive_rate),
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
    horizon = check_int(horizon, "horizon", caller=caller)
    y = as_labels(y_true, caller, "y_true")
    p = as_scores(proba, caller, "proba", len(y))
    if len(X) != len(y):
        raise ValueError(
            f"{caller}: X has {len(X)} rows but y_true has {len(y)}; pass the holdout rows' raw "
            "fields in the same order as the labels."
        )
    checked_rows = _check_rows(rows, len(y), caller)

    baselines = {
        b.name: b for b in (rule_baseline(X), velocity_baseline(X, velocity, horizon=horizon))
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
        report.paths = write_report(report, y, p, baselines, feature_importance, Path(out_dir))
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
    return {key: plain(metrics[key]) for key in METRIC_KEYS}
