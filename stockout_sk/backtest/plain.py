"""The outside bar: a plain LightGBM on a dozen point-in-time features.

What a competent analyst would build in an afternoon, and what the full pipeline has to beat:
``lightgbm.LGBMClassifier`` with the pipeline's size and learning rate and LightGBM's defaults
otherwise (no row or column subsampling, no class resampling, no monotone constraints) on
:data:`PLAIN_FEATURES` — stock, reserved, safety stock, sales velocity and inflow over 7 and 28
days, days since the last inflow, days of cover and the weekday. The features come from our own
:class:`~stockout_sk.features.history.HistoryFeatures` (``windows=(7, 28)``) and
:class:`~stockout_sk.features.calendar.CalendarFeatures`, fitted with the same flows the pipeline
reads, so both models see the same history, point in time. Its threshold is chosen the way the
pipeline's is: on the same purged rolling-origin folds, by the same method, and under
``"expected"`` on the same morning list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier

from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import WindowPlan, expected_f1_threshold, fold_threshold, rolling_folds
from stockout_sk.features.calendar import CalendarFeatures
from stockout_sk.features.history import HistoryFeatures
from stockout_sk.training import EXPECTED, fold_method, split_xy

__all__ = ["PLAIN_FEATURES", "PlainModel", "fit_plain"]

#: The plain model's columns, in order.
PLAIN_FEATURES: tuple[str, ...] = (
    "CurrentQuantity",
    "ReservedQuantity",
    "SafetyStockLevel",
    "velocity_7d",
    "velocity_28d",
    "inflow_7d",
    "inflow_28d",
    "days_since_inflow",
    "days_of_cover",
    "day_of_week",
)


@dataclass
class PlainModel:
    """A fitted plain LightGBM, its feature steps and its threshold."""

    history: HistoryFeatures
    calendar: CalendarFeatures
    classifier: LGBMClassifier
    threshold: float
    validation: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """P(stock-out) of raw request rows (features from the carried history)."""
        matrix = _matrix(self.history.transform(rows), self.calendar, rows)
        return self.classifier.predict_proba(matrix)[:, 1]

    def gain_share(self) -> dict[str, float]:
        """Each feature's share of the total gain, largest first."""
        gain = pd.Series(
            self.classifier.booster_.feature_importance(importance_type="gain"),
            index=list(PLAIN_FEATURES),
        )
        share = gain / gain.sum() if gain.sum() > 0 else gain
        return {name: float(v) for name, v in share.sort_values(ascending=False).items()}


def fit_plain(
    train: pd.DataFrame,
    chain,
    config: ModelConfig,
    *,
    windows: WindowPlan,
    final_rows: pd.DataFrame | None = None,
    morning: pd.DataFrame | None = None,
) -> PlainModel:
    """Fit the plain model: threshold on the pipeline's folds, then the final fit.

    Under ``threshold_method="expected"`` the cut is then chosen as the pipeline's is: the
    expected-F1 cut of the final model's probabilities on ``morning`` (no label read; the plain
    model never resamples, its probabilities are on the rows' own scale).

    Parameters
    ----------
    train : DataFrame
        The training rows the pipeline's folds are cut from (raw fields + ``label``).
    chain : ChainData
        ``flows`` and ``transfers`` up to the export's end.
    config : ModelConfig
        Trees, learning rate, leaves, seed, threads, horizon, threshold method.
    windows : WindowPlan
        The folds' sizes (the pipeline's own plan).
    final_rows : DataFrame, optional
        The rows of the final fit (default ``train``); the deployed pipeline's rows when it was
        refitted on every matured row.
    morning : DataFrame, optional
        The morning list the deployed pipeline's cut was chosen on (``"expected"`` only;
        without it the folds' pooled cut is kept).
    """
    X, y = split_xy(train)
    dates = train["Date"].reset_index(drop=True)
    flows, transfers = chain.flows, chain.transfers
    labels, scores, spans = [], [], []
    folds = rolling_folds(
        dates,
        horizon=config.horizon,
        validation_days=windows.validation_days,
        folds=windows.folds,
        min_train_days=windows.min_train_days,
    )
    for fold in folds:
        inner, valid = fold.train, fold.holdout
        if len(np.unique(y[inner])) < 2:
            continue
        cutoff = fold.holdout_end
        model = _fit(
            X[inner],
            y[inner],
            flows[flows["Date"] <= cutoff],
            transfers[transfers["Date"] <= cutoff],
            config,
        )
        labels.append(y[valid])
        scores.append(model.predict_proba(X[valid]))
        spans.append((str(fold.holdout_start.date()), str(cutoff.date())))
    choice = fold_threshold(labels, scores, method=fold_method(config), windows=spans)
    final = train if final_rows is None else final_rows
    X_final, y_final = split_xy(final)
    model = _fit(X_final, y_final, flows, transfers, config)
    model.threshold = choice.threshold
    model.validation = choice.to_dict()
    if config.threshold_method == EXPECTED and morning is not None and len(morning):
        model.threshold, expected = expected_f1_threshold(model.predict_proba(morning))
        model.validation.update(method=EXPECTED, threshold=model.threshold, expected_f1=expected)
    return model


def _fit(X: pd.DataFrame, y: np.ndarray, flows, transfers, config: ModelConfig) -> PlainModel:
    history = HistoryFeatures(
        windows=(7, 28),
        history_days=config.history_days,
        horizon=config.horizon,
        censored_demand=False,
    )
    calendar = CalendarFeatures().fit(X)
    features = history.fit_transform(X, flows=flows, transfers=transfers)
    classifier = LGBMClassifier(
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        num_leaves=config.num_leaves,
        random_state=config.random_state,
        n_jobs=config.n_jobs,
        verbose=-1,
    )
    classifier.fit(_matrix(features, calendar, X), y)
    return PlainModel(history=history, calendar=calendar, classifier=classifier, threshold=0.5)


def _matrix(features, calendar: CalendarFeatures, rows: pd.DataFrame) -> pd.DataFrame:
    """The plain model's ten columns from the history step's output and the rows' weekday."""

    def col(name: str) -> np.ndarray:
        return np.asarray(features[name], dtype=np.float64)

    out = {
        "CurrentQuantity": col("CurrentQuantity"),
        "ReservedQuantity": col("ReservedQuantity"),
        "SafetyStockLevel": col("SafetyStockLevel"),
        "velocity_7d": col("sold_7d") / 7.0,
        "velocity_28d": col("sold_28d") / 28.0,
        "inflow_7d": col("inflow_7d"),
        "inflow_28d": col("inflow_28d"),
        "days_since_inflow": col("days_since_inflow"),
        "days_of_cover": col("days_of_cover"),
        "day_of_week": np.asarray(calendar.transform(rows)["day_of_week"], dtype=np.float64),
    }
    return pd.DataFrame(out)[list(PLAIN_FEATURES)]
