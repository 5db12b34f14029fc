"""The single imblearn Pipeline: raw request rows in, stock-out probabilities out.

:func:`build_pipeline` returns it unfitted::

    sampler (ConditionalSampler, fit only) → calendar (CalendarFeatures)
        → history (HistoryFeatures) → hashing (HashedIDs) → classifier (StockoutClassifier)

``predict_proba`` on raw rows (the six fields of :data:`stockout_sk.contract.RAW_FIELDS`) is all
a caller needs; :func:`features_of` gives the fitted feature steps (for explanations, reference
distributions and the planner's columns), :func:`input_fields` the columns it was fitted with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.base import clone

from stockout_sk.config import ModelConfig
from stockout_sk.features.calendar import CalendarFeatures
from stockout_sk.features.columns import Columns
from stockout_sk.features.hashing import HashedIDs
from stockout_sk.features.history import HistoryFeatures
from stockout_sk.model import StockoutClassifier
from stockout_sk.sampling import ConditionalSampler

__all__ = ["build_pipeline", "features_of", "input_fields", "matrix_feature_names"]


def build_pipeline(
    config: ModelConfig | None = None,
    *,
    threshold: float = 0.5,
    checkpoint_dir: str | None = "config",
) -> Pipeline:
    """The single imblearn Pipeline, unfitted.

    Parameters
    ----------
    config : ModelConfig, optional
        Defaults to ``ModelConfig()``.
    threshold : float, default=0.5
        Decision threshold carried by the classifier.
    checkpoint_dir : str or None
        Overrides ``config.checkpoint_dir``; ``None`` disables checkpoints.

    Returns
    -------
    imblearn.pipeline.Pipeline
        Steps ``sampler``, ``calendar``, ``history``, ``hashing``, ``classifier``. Fit with
        ``pipeline.fit(X, y, history__flows=chain.flows, history__transfers=chain.transfers)``;
        :func:`features_of` gives the feature steps of a fitted one.
    """
    config = config or ModelConfig()
    directory = config.checkpoint_dir if checkpoint_dir == "config" else checkpoint_dir
    calendar = CalendarFeatures()
    history = HistoryFeatures(
        windows=tuple(config.windows),
        history_days=config.history_days,
        horizon=config.horizon,
        censored_demand=config.censored_demand,
    )
    hashing = HashedIDs(n_features=config.hash_features)
    monotone: dict[str, Any] = {}
    if config.monotone_stock:
        names = matrix_feature_names(calendar, history, hashing)
        directions = history.risk_directions()
        monotone = {
            "monotone_constraints": [directions.get(name, 0) for name in names],
            "monotone_constraints_method": "basic",
        }
    return Pipeline(
        [
            # First: a sampler drops (or repeats) whole raw rows, and every feature of a row
            # depends on that row and the flows alone, so the kept rows get the very features
            # they would get after the feature steps — while those steps work on half the
            # training rows. Samplers act in fit only; predictions skip this step.
            (
                "sampler",
                ConditionalSampler(
                    minority_threshold=config.minority_threshold,
                    strategy=config.sampling_strategy,
                    ratio=config.sampling_ratio,
                    random_state=config.random_state,
                ),
            ),
            ("calendar", calendar),
            ("history", history),
            ("hashing", hashing),
            (
                "classifier",
                StockoutClassifier(
                    threshold=threshold,
                    checkpoint_dir=directory,
                    checkpoint_every=config.checkpoint_every,
                    checkpoint_keep=config.checkpoint_keep,
                    checkpoint_retain=config.checkpoint_retain,
                    checkpoint_max_age_days=config.checkpoint_max_age_days,
                    n_estimators=config.n_estimators,
                    learning_rate=config.learning_rate,
                    num_leaves=config.num_leaves,
                    min_child_samples=config.min_child_samples,
                    subsample=config.subsample,
                    subsample_freq=1,
                    colsample_bytree=config.colsample_bytree,
                    random_state=config.random_state,
                    n_jobs=config.n_jobs,
                    verbose=-1,
                    **monotone,
                ),
            ),
        ]
    )


def features_of(pipeline: Pipeline, through: str = "hashing") -> Pipeline:
    """The fitted steps of ``pipeline`` up to and including the step named ``through``.

    ``features_of(p)`` turns raw rows into the model matrix, ``features_of(p, "history")`` into
    the named calendar and history features. Steps are found by name, not position; the sampler
    inside the slice is skipped by ``transform`` (samplers act in ``fit`` only).
    """
    names = [name for name, _ in pipeline.steps]
    if through not in names:
        raise ValueError(f"the pipeline has no step {through!r}; its steps are {names}")
    return pipeline[: names.index(through) + 1]


def input_fields(pipeline: Pipeline) -> tuple[str, ...]:
    """The raw columns the fitted pipeline takes, in the order it was fitted with."""
    # The first step saw the raw rows.
    return tuple(str(c) for c in pipeline[0].feature_names_in_)


def matrix_feature_names(*steps) -> list[str]:
    """Column names of the model matrix the feature ``steps`` produce, before any fitting.

    The names depend on the steps' parameters only, never on the data: clones of the steps are
    fitted on one synthetic raw row (no flows) and asked for ``get_feature_names_out``. This is
    how :func:`build_pipeline` lines the monotone constraints up with the matrix columns.
    """
    # Typed columns (a one-row DataFrame would be read as objects, the request fast path).
    row = Columns(
        {
            "BranchID": np.asarray(["B"], dtype=object),
            "ItemCode": np.asarray(["I"], dtype=object),
            "Date": np.asarray(["2024-01-01"], dtype="datetime64[ns]"),
            "CurrentQuantity": np.ones(1),
            "ReservedQuantity": np.zeros(1),
            "SafetyStockLevel": np.ones(1),
        }
    )
    X: Any = row
    last = None
    for step in steps:
        last = clone(step)
        X = last.fit_transform(X)
    return [str(name) for name in last.get_feature_names_out()]
