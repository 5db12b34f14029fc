"""What shapes the pipeline and its training: :class:`ModelConfig` and its environment."""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from stockout_sk.config import _env
from stockout_sk.params import check_finite, check_int

#: Environment variables of the training windows (``None`` when unset: sized from the history).
WINDOW_ENV: Mapping[str, str] = {
    "holdout_days": "STOCKOUT_HOLDOUT_DAYS",
    "validation_days": "STOCKOUT_VALIDATION_DAYS",
}
#: Environment variable of ``threshold_method`` (unset: ``"expected"``).
THRESHOLD_METHOD_ENV = "STOCKOUT_THRESHOLD_METHOD"
#: How the folds choose a decision threshold (:mod:`stockout_sk.evaluate.thresholds`).
FOLD_METHODS: tuple[str, ...] = ("pooled", "median", "last")
#: How the decision threshold is chosen: by the folds, or on the first morning list the model
#: scores (``"expected"``, :mod:`stockout_sk.training.morning`).
THRESHOLD_METHODS: tuple[str, ...] = ("expected", *FOLD_METHODS)


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
    threshold_method : {"expected", "pooled", "median", "last"}
        ``"expected"`` (the default): the cut that maximises the F1 the model's own
        probabilities expect on the first morning list it scores — no label needed, so it
        follows the share of stock-outs of the days the model serves
        (:mod:`stockout_sk.training.morning`). The others are chosen by the folds: the F1-best
        cut of their rows pooled, the median of their own cuts, or the latest fold alone (one
        window, as before the folds); see :mod:`stockout_sk.evaluate.thresholds`. The folds
        run whatever the method: their cuts and spread are recorded on every run.
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
    asof_stride : int
        Train on every ``asof_stride``-th as-of day of each branch×item (1: every day), the
        days of each key offset by a hash of the key so that every weekday stays represented.
        Bounds the training rows of a very large chain; the holdout is never thinned.
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
    threshold_method: str = "expected"
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
    asof_stride: int = 1

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


#: Whole-number fields and their smallest allowed value (``None`` allowed where marked below).
_INT_MINIMUM = {
    "horizon": 1,
    "history_days": 1,
    "hash_features": 1,
    "holdout_days": 1,
    "validation_days": 1,
    "threshold_folds": 1,
    "n_estimators": 1,
    "num_leaves": 2,
    "min_child_samples": 1,
    "checkpoint_every": 1,
    "checkpoint_keep": 1,
    "random_state": 0,
    "asof_stride": 1,
}
#: Fields whose ``None`` means "sized from the history".
_OPTIONAL = frozenset({"holdout_days", "validation_days"})
#: Fractions and their upper bound (lower bound: above 0); a minority share is at most a half.
_FRACTIONS = {
    "sampling_ratio": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "minority_threshold": 0.5,
}
_FLAGS = ("refit", "censored_demand", "checkpoint_retain", "monotone_stock")


def _check(config: ModelConfig) -> None:
    caller = "ModelConfig"
    for name, minimum in _INT_MINIMUM.items():
        if name in _OPTIONAL and getattr(config, name) is None:
            continue
        check_int(getattr(config, name), name, minimum=minimum, caller=caller)
    for name, upper in _FRACTIONS.items():
        value = check_finite(getattr(config, name), name, caller=caller)
        if not 0 < value <= upper:
            raise ValueError(f"{caller}: {name} must be in (0, {upper:g}], got {value!r}.")
    for name in ("learning_rate", "checkpoint_max_age_days"):
        if check_finite(getattr(config, name), name, caller=caller) <= 0:
            raise ValueError(f"{caller}: {name} must be > 0, got {getattr(config, name)!r}.")
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
    if config.threshold_method not in THRESHOLD_METHODS:
        raise ValueError(
            f"{caller}: threshold_method must be one of {THRESHOLD_METHODS}, got "
            f"{config.threshold_method!r}."
        )
    for name in _FLAGS:
        if not isinstance(getattr(config, name), bool):
            raise TypeError(
                f"{caller}: {name} must be True or False, got {getattr(config, name)!r}."
            )


def load_model_config(environ: Mapping[str, str] | None = None, **overrides: Any) -> ModelConfig:
    """:class:`ModelConfig` with the training windows from the environment, then ``overrides``.

    Parameters
    ----------
    environ : mapping, optional
        Defaults to ``os.environ``: ``STOCKOUT_HOLDOUT_DAYS`` and ``STOCKOUT_VALIDATION_DAYS``
        (whole numbers ≥ 1; unset or blank: sized from the history), ``STOCKOUT_THRESHOLD_METHOD``
        (one of :data:`THRESHOLD_METHODS`; unset or blank: ``"expected"``).
    **overrides
        Fields to set on top (``None`` keeps the environment's value), e.g. the command line's.

    Raises
    ------
    ValueError
        A variable is not a whole number ≥ 1 or not a known method (the message names it and
        its value), or an override names no field.
    """
    env = os.environ if environ is None else environ
    from_env: dict[str, Any] = {
        name: _env.integer(env, variable, 0, minimum=1) if _env.text(env, variable) else None
        for name, variable in WINDOW_ENV.items()
    }
    method = _env.text(env, THRESHOLD_METHOD_ENV)
    if method is not None and method not in THRESHOLD_METHODS:
        raise ValueError(
            f"{THRESHOLD_METHOD_ENV} must be one of {', '.join(THRESHOLD_METHODS)}, got {method!r}."
        )
    from_env["threshold_method"] = method
    return ModelConfig().with_overrides(**from_env).with_overrides(**overrides)
