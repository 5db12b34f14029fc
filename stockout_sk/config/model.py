"""What shapes the pipeline and its training: :class:`ModelConfig`."""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from stockout_sk.params import check_finite, check_int


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
    holdout_days, validation_days
        Latest as-of days kept for the holdout; latest training-side days used to choose the
        decision threshold. Both are separated from what precedes them by a purge gap of
        ``horizon`` days.
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree
        LightGBM settings.
    n_jobs : int
        LightGBM threads for training. One by default: on a shared 2-core machine two spinning
        OpenMP threads were measured 5–10× slower than one; raise it on a dedicated host with a
        large chain.
    checkpoint_dir, checkpoint_every
        Where and how often (iterations) LightGBM checkpoints are written.
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
    holdout_days: int = 21
    validation_days: int = 14
    n_estimators: int = 150
    learning_rate: float = 0.08
    num_leaves: int = 15
    min_child_samples: int = 40
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    n_jobs: int = 1
    checkpoint_dir: str = "artifacts/checkpoints"
    checkpoint_every: int = 50
    random_state: int = 0
    monotone_stock: bool = True

    def __post_init__(self) -> None:
        # Checked here, when the settings are made: a bad value must fail before any data is
        # read or any model trained, naming the field.
        _check(self)

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


#: Whole-number fields and their smallest allowed value.
_INT_MINIMUM = {
    "horizon": 1,
    "history_days": 1,
    "hash_features": 1,
    "holdout_days": 1,
    "validation_days": 1,
    "n_estimators": 1,
    "num_leaves": 2,
    "min_child_samples": 1,
    "checkpoint_every": 1,
    "random_state": 0,
}
#: Fractions and their upper bound (lower bound: above 0); a minority share is at most a half.
_FRACTIONS = {
    "sampling_ratio": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "minority_threshold": 0.5,
}


def _check(config: ModelConfig) -> None:
    caller = "ModelConfig"
    for name, minimum in _INT_MINIMUM.items():
        check_int(getattr(config, name), name, minimum=minimum, caller=caller)
    for name, upper in _FRACTIONS.items():
        value = check_finite(getattr(config, name), name, caller=caller)
        if not 0 < value <= upper:
            raise ValueError(f"{caller}: {name} must be in (0, {upper:g}], got {value!r}.")
    if check_finite(config.learning_rate, "learning_rate", caller=caller) <= 0:
        raise ValueError(f"{caller}: learning_rate must be > 0, got {config.learning_rate!r}.")
    if check_int(config.n_jobs, "n_jobs", minimum=-1, caller=caller) == 0:
        raise ValueError(f"{caller}: n_jobs must be ≥ 1 (threads) or -1 (all cores), got 0.")
    windows = config.windows
    if (
        isinstance(windows, str | bytes)
        or not len(windows)
        or not all(isinstance(w, numbers.Integral) and not isinstance(w, bool) for w in windows)
        or min(windows) < 1
    ):
        raise ValueError(f"{caller}: windows must be whole numbers of days ≥ 1, got {windows!r}.")
    if config.sampling_strategy not in ("under", "over"):
        raise ValueError(
            f"{caller}: sampling_strategy must be 'under' or 'over', got "
            f"{config.sampling_strategy!r}."
        )
    if not isinstance(config.monotone_stock, bool):
        raise TypeError(
            f"{caller}: monotone_stock must be True or False, got {config.monotone_stock!r}."
        )
