"""Configuration: one dataclass per concern, sensible defaults, environment overrides.

Nothing here touches the file system or global state at import; :func:`load_settings` reads the
environment when it is called.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_MODEL_NAME = "stockout-classifier"
DEFAULT_EXPERIMENT = "stockout-training"
MONITORING_EXPERIMENT = "stockout-monitoring"


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


@dataclass(frozen=True)
class Settings:
    """Where things live and how services are reached; read from the environment.

    Environment variables
    ---------------------
    MLFLOW_TRACKING_URI
        Tracking and registry store (default: SQLite ``mlflow.db`` in the working directory,
        artifacts under ``mlartifacts/``).
    STOCKOUT_MODEL_NAME
        Registered model name (default ``stockout-classifier``).
    STOCKOUT_EXPERIMENT
        Training experiment name (default ``stockout-training``).
    STOCKOUT_ARTIFACTS_DIR
        Local output folder for reports, rejects and checkpoints (default ``artifacts``).
    STOCKOUT_MIN_F1
        Promotion gate on holdout F1 (default 0.7).
    """

    tracking_uri: str = ""
    model_name: str = DEFAULT_MODEL_NAME
    experiment: str = DEFAULT_EXPERIMENT
    artifacts_dir: Path = field(default_factory=lambda: Path("artifacts"))
    min_f1: float = 0.7


def default_tracking_uri(workdir: Path | None = None) -> str:
    """The embedded default store: SQLite in the working directory."""
    base = (workdir or Path.cwd()).resolve()
    return f"sqlite:///{base / 'mlflow.db'}"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read :class:`Settings` from the environment (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    min_f1_raw = env.get("STOCKOUT_MIN_F1", "0.7")
    try:
        min_f1 = float(min_f1_raw)
    except ValueError as exc:
        raise ValueError(f"STOCKOUT_MIN_F1 must be a number, got {min_f1_raw!r}") from exc
    return Settings(
        tracking_uri=env.get("MLFLOW_TRACKING_URI") or default_tracking_uri(),
        model_name=env.get("STOCKOUT_MODEL_NAME", DEFAULT_MODEL_NAME),
        experiment=env.get("STOCKOUT_EXPERIMENT", DEFAULT_EXPERIMENT),
        artifacts_dir=Path(env.get("STOCKOUT_ARTIFACTS_DIR", "artifacts")),
        min_f1=min_f1,
    )
