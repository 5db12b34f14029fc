"""What shapes the pipeline and its training: :class:`ModelConfig` and its environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from stockout_sk.config import _env

#: Environment variables of the training windows (``None`` when unset: sized from the history).
WINDOW_ENV: Mapping[str, str] = {
    "holdout_days": "STOCKOUT_HOLDOUT_DAYS",
    "validation_days": "STOCKOUT_VALIDATION_DAYS",
}


@dataclass(frozen=True)
class ModelConfig:
    """Everything that shapes the pipeline and its training.

    Parameters
    ----------
    horizon : int
        N, days ahead the label looks (default 7).
    windows : tuple of int
        Trailing windows (days) of the history aggregates.
    history_days : int
        How many as-of days the fitted model can answer with exact history (the carried history
        holds ``history_days + max(windows)`` days per branch×item).
    hash_features : int
        Columns per hashed group (IDs and crosses).
    minority_threshold, sampling_strategy, sampling_ratio
        Resample only when the minority class is below ``minority_threshold`` of the training
        rows; ``"under"`` or ``"over"``; the minority/majority ratio after resampling.
    holdout_days, validation_days : int or None
        Latest as-of days kept for the holdout, and as-of days of each threshold fold. ``None``
        (the default) sizes them from the history there is: 21 and 14 on a long history, shrunk
        in proportion on a short one (never below 7); see
        :func:`stockout_sk.evaluate.plan_windows`. Each is separated from the rows fitted before
        it by a purge gap of ``horizon`` days. Environment: ``STOCKOUT_HOLDOUT_DAYS``,
        ``STOCKOUT_VALIDATION_DAYS`` (:func:`load_model_config`).
    threshold_folds : int
        Most rolling-origin folds the decision threshold is chosen on (fewer when the history is
        short).
    threshold_method : {"pooled", "median", "last"}
        How the folds choose it: the F1-best cut of their rows pooled, the median of their own
        cuts, or the latest fold alone (one window, as before the folds); see
        :mod:`stockout_sk.evaluate.thresholds`.
    refit : bool
        Once the holdout has judged the model, fit the same settings (and threshold) on every
        matured row, holdout and purge weeks included, and register that: the freshest weeks
        are the ones the evaluated model never saw (:func:`stockout_sk.training.refit_on_all`).
    censored_demand : bool
        History features that know the sales of out-of-stock days understate demand: the share
        of recent days out of stock, the velocity over in-stock days, the lost sales and the
        demand they add up to (:class:`~stockout_sk.features.history.HistoryFeatures`).
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree
        LightGBM settings.
    n_jobs : int
        LightGBM threads for training. One by default: on a shared 2-core machine two spinning
        OpenMP threads were measured 5–10× slower than one; raise it on a dedicated host with a
        large chain.
    checkpoint_dir, checkpoint_every
        Where and how often (iterations) LightGBM checkpoints are written.
    checkpoint_keep, checkpoint_retain, checkpoint_max_age_days
        How checkpoints are pruned: the ``checkpoint_keep`` latest of a running fit stay; a fit
        that finishes deletes its own unless ``checkpoint_retain`` (``--log-checkpoints`` logs
        them with the run); files other fits left more than ``checkpoint_max_age_days`` ago are
        deleted when a fit starts.
    random_state : int
        Seed for sampling and LightGBM.
    monotone_stock : bool
        Constrain LightGBM so that the predicted risk never rises with more stock on hand and
        never falls with more reserved stock or a higher safety stock, all else equal (every
        feature derived from the stock position gets a monotone constraint; see
        :meth:`~stockout_sk.features.history.HistoryFeatures.risk_directions`). On by default:
        a planner asking "what if we had 20 more units" must never see the risk go up. Measured
        on the sample and three simulated chains: PR-AUC 0.004–0.02 lower, F1 within ±0.012,
        and no holdout row whose risk rises with stock (23 % of rows rose by > 0.05 somewhere
        along a 0–5× safety-stock sweep without it).
    """

    horizon: int = 7
    windows: tuple[int, ...] = (7, 14, 28)
    history_days: int = 35
    hash_features: int = 8
    minority_threshold: float = 0.2
    sampling_strategy: str = "under"
    sampling_ratio: float = 0.5
    holdout_days: int | None = None
    validation_days: int | None = None
    threshold_folds: int = 3
    threshold_method: str = "pooled"
    refit: bool = True
    censored_demand: bool = True
    n_estimators: int = 150
    learning_rate: float = 0.08
    num_leaves: int = 15
    min_child_samples: int = 40
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    n_jobs: int = 1
    checkpoint_dir: str = "artifacts/checkpoints"
    checkpoint_every: int = 50
    checkpoint_keep: int = 2
    checkpoint_retain: bool = False
    checkpoint_max_age_days: float = 7.0
    random_state: int = 0
    monotone_stock: bool = True

    def with_overrides(self, **overrides: Any) -> ModelConfig:
        """Return a copy with the given fields replaced (``None`` values are ignored)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown model setting(s) {unknown}; known: {sorted(known)}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), for logging as parameters."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def load_model_config(environ: Mapping[str, str] | None = None, **overrides: Any) -> ModelConfig:
    """:class:`ModelConfig` with the training windows from the environment, then ``overrides``.

    Parameters
    ----------
    environ : mapping, optional
        Defaults to ``os.environ``: ``STOCKOUT_HOLDOUT_DAYS`` and ``STOCKOUT_VALIDATION_DAYS``
        (whole numbers ≥ 1; unset or blank: sized from the history).
    **overrides
        Fields to set on top (``None`` keeps the environment's value), e.g. the command line's.

    Raises
    ------
    ValueError
        A variable is not a whole number ≥ 1 (the message names it and its value), or an
        override names no field.
    """
    env = os.environ if environ is None else environ
    from_env = {
        name: _env.integer(env, variable, 0, minimum=1) if _env.text(env, variable) else None
        for name, variable in WINDOW_ENV.items()
    }
    return ModelConfig().with_overrides(**from_env).with_overrides(**overrides)
