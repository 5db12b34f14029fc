"""Thresholds and windows of a monitoring run: :class:`MonitoringConfig`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from stockout_sk.config.settings import MONITORING_EXPERIMENT

__all__ = ["MonitoringConfig"]


@dataclass(frozen=True)
class MonitoringConfig:
    """Thresholds and windows of a monitoring run.

    Parameters
    ----------
    window_days : int, default=7
        As-of days per rolling evaluation window.
    psi_warn, psi_act : float, default=0.1, 0.25
        PSI at or above which a variable warns / triggers the action (the usual rule of thumb:
        below 0.1 stable, 0.1–0.25 moderate shift, above 0.25 significant shift).
    kl_warn, kl_act : float, default=0.05, 0.125
        The same for KL(current ‖ reference). PSI is the symmetrised KL divergence
        (``KL(a‖e) + KL(e‖a)``), and for small shifts the two directions are about equal, so half
        the PSI thresholds keep both measures in step.
    f1_margin : float, default=0.1
        Act when the latest window's F1 is below the model's own holdout F1 by more than this.
        (An absolute gate such as the promotion's 0.7 judges promotion, not decay.)
    f1_warn_margin : float, default=0.05
        Warn when it is below by more than this.
    rule_margin : float, default=0.0
        Act when the latest window's F1 is below the rule baseline's F1 on the same window minus
        this margin (0: any window where the rule does better).
    min_window_positives : int, default=20
        A window with fewer positive labels is reported but not judged: its F1 is noise.
    min_drift_rows : int, default=100
        Drift of a variable is judged only with at least this many rows on each side.
    epsilon : float, default=1e-4
        Floor of a bin's share before PSI / KL (then renormalised), so an empty bin is finite.
    max_reference_missing : float, default=0.5
        Median share of missing model-feature values above which ``reference.json`` is taken to
        describe rows outside the model's carried history; the holdout rows are then the
        reference of the model features and the score (see the module docstring).
    experiment : str, default="stockout-monitoring"
        MLflow experiment of the monitoring runs.
    """

    window_days: int = 7
    psi_warn: float = 0.1
    psi_act: float = 0.25
    kl_warn: float = 0.05
    kl_act: float = 0.125
    f1_margin: float = 0.1
    f1_warn_margin: float = 0.05
    rule_margin: float = 0.0
    min_window_positives: int = 20
    min_drift_rows: int = 100
    epsilon: float = 1e-4
    max_reference_missing: float = 0.5
    experiment: str = MONITORING_EXPERIMENT

    def __post_init__(self) -> None:
        for name in ("window_days", "min_window_positives", "min_drift_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"MonitoringConfig.{name} must be an integer ≥ 1, got {value!r}")
        for name in (
            "psi_warn",
            "psi_act",
            "kl_warn",
            "kl_act",
            "f1_margin",
            "f1_warn_margin",
            "rule_margin",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(
                    f"MonitoringConfig.{name} must be a number ≥ 0, got {value!r}; see the "
                    "class docstring for the defaults"
                )
        for warn, act in (("psi_warn", "psi_act"), ("kl_warn", "kl_act")):
            if getattr(self, warn) > getattr(self, act):
                raise ValueError(
                    f"MonitoringConfig.{warn}={getattr(self, warn)!r} exceeds "
                    f"{act}={getattr(self, act)!r}; the warn threshold must not be above the act "
                    "threshold"
                )
        if self.f1_warn_margin > self.f1_margin:
            raise ValueError(
                f"MonitoringConfig.f1_warn_margin={self.f1_warn_margin!r} exceeds "
                f"f1_margin={self.f1_margin!r}; warn must come before act"
            )
        if not 0 < self.epsilon < 0.01:
            raise ValueError(
                f"MonitoringConfig.epsilon must be in (0, 0.01), got {self.epsilon!r}; it only "
                "keeps empty bins finite"
            )
        if not 0 <= self.max_reference_missing <= 1:
            raise ValueError(
                "MonitoringConfig.max_reference_missing must be a share in [0, 1], got "
                f"{self.max_reference_missing!r}"
            )
        if not self.experiment:
            raise ValueError("MonitoringConfig.experiment must name an MLflow experiment")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (logged as parameters)."""
        return asdict(self)
