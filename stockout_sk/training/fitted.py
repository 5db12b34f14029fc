"""A fitted model and the rows it was fitted on: :class:`FittedModel`, :func:`split_xy`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from imblearn.pipeline import Pipeline

from stockout_sk.config import ModelConfig
from stockout_sk.contract import LABEL, RAW_FIELDS
from stockout_sk.evaluate import WindowPlan, fold_threshold
from stockout_sk.pipeline import features_of

__all__ = ["FittedModel", "fit_rows", "split_xy"]


@dataclass
class FittedModel:
    """A fitted pipeline, how its threshold was chosen and which rows it was fitted on.

    Attributes
    ----------
    pipeline : imblearn.pipeline.Pipeline
    threshold : float
        The decision threshold the classifier carries (chosen on the folds).
    config : ModelConfig
    train_rows : int
        Rows the pipeline was fitted on.
    validation : dict
        How the threshold was chosen (:meth:`FoldThreshold.to_dict` plus the rows, positives
        and first and last day of the folds' windows); logged on the run.
    windows : WindowPlan or None
        The windows the threshold folds were cut with.
    fit_rows : dict
        ``rows``, ``start``, ``end`` (as-of days) and ``refit`` (whether this is the refit on
        every matured row, after the holdout evaluation): recorded on the registered version.
    """

    pipeline: Pipeline
    threshold: float
    config: ModelConfig
    train_rows: int
    validation: dict[str, Any] = field(default_factory=dict)
    windows: WindowPlan | None = None
    fit_rows: dict[str, Any] = field(default_factory=dict)
    fold_scores: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)

    def feature_names(self) -> list[str]:
        """Names of the model matrix columns (what LightGBM sees)."""
        return [str(n) for n in features_of(self.pipeline).get_feature_names_out()]

    def feature_importance(self) -> pd.Series:
        """Gain importance per model column, largest first."""
        booster = self.pipeline[-1].booster_
        gain = booster.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.feature_names()).sort_values(ascending=False)

    def threshold_choice(self, method: str) -> float:
        """The threshold another :data:`~stockout_sk.evaluate.FOLD_METHODS` entry picks.

        Computed from the folds' validation scores this fit kept in memory (for benchmarks
        comparing the methods on the same fits).
        """
        labels = [y for y, _ in self.fold_scores]
        scores = [p for _, p in self.fold_scores]
        return fold_threshold(labels, scores, method=method).threshold


def split_xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The raw request fields and the label of a training table."""
    missing = [c for c in (*RAW_FIELDS, LABEL) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"training table is missing column(s) {missing}; build it with "
            "stockout_sk.labels.build_dataset"
        )
    return frame[list(RAW_FIELDS)], frame[LABEL].to_numpy(dtype=np.int64)


def fit_rows(dates: pd.Series, *, refit: bool) -> dict[str, Any]:
    """``rows``, first and last as-of day of a fit, and whether it is the refit."""
    return {
        "rows": len(dates),
        "start": str(dates.min().date()),
        "end": str(dates.max().date()),
        "refit": refit,
    }
