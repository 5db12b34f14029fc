"""The monitoring report: everything one run found, decided and did, and its JSON forms."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stockout_sk.clock import utc_now
from stockout_sk.config import MonitoringConfig
from stockout_sk.jsonable import jsonable, plain
from stockout_sk.monitoring.drift import DriftResult
from stockout_sk.monitoring.rolling import WindowMetrics
from stockout_sk.monitoring.verdict import Verdict
from stockout_sk.vocabulary import MonitoringAction, MonitoringDecision

__all__ = ["MonitoringReport"]


@dataclass
class MonitoringReport:
    """Everything one monitoring run found, decided and did.

    Attributes
    ----------
    model_name, model_version : str
    model_run_id : str or None
        The training run of the evaluated version.
    threshold : float
        The model's decision threshold.
    horizon : int
    holdout_f1 : float or None
        The model's own holdout F1 at registration (the decay baseline).
    data : dict
        ``source`` (directory or ``"ChainData"``), ``rows``, ``positives``, ``first_asof``,
        ``last_asof``, ``history_end`` (freshest history the model carries),
        ``staleness_days`` (``min``/``median``/``max`` days between a row's date and it),
        ``fingerprint`` (hash of the labelled rows).
    rolling : list of WindowMetrics
    overall : dict
        ``{"model": metrics, "rule": metrics}`` on all rows.
    drift : list of DriftResult
        Monitored inputs first, ``prediction`` last.
    verdict : Verdict
    decision : {"ok", "warn", "rollback", "fallback"}
    reasons : list of str
    action : {"none", "rollback", "fallback"}
        What this run changed in the registry.
    action_detail : str
    dry_run : bool
    config : MonitoringConfig
    notes : list of str
        What a reader should know (reference substitution, overlap with training, …).
    created_at : str
    fingerprint : str
        Identifies (model version, data, config): an action is applied once per fingerprint.
    report_path : Path or None
        The HTML report, once written.
    mlflow_run_id : str or None
        The monitoring run, once logged.
    target_version : str or None
        The version a rollback moves (or would move) ``production`` to.
    """

    model_name: str
    model_version: str
    model_run_id: str | None
    threshold: float
    horizon: int
    holdout_f1: float | None
    data: dict[str, Any]
    rolling: list[WindowMetrics]
    overall: dict[str, Any]
    drift: list[DriftResult]
    verdict: Verdict
    config: MonitoringConfig
    decision: str = MonitoringDecision.OK
    reasons: list[str] = field(default_factory=list)
    action: str = MonitoringAction.NONE
    action_detail: str = "not decided yet"
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=utc_now)
    fingerprint: str = ""
    report_path: Path | None = None
    mlflow_run_id: str | None = None
    target_version: str | None = None

    @property
    def psi(self) -> dict[str, float | None]:
        """PSI per monitored variable (``prediction`` included)."""
        return {d.name: d.psi for d in self.drift}

    @property
    def kl(self) -> dict[str, float | None]:
        """KL per monitored variable."""
        return {d.name: d.kl for d in self.drift}

    def summary(self) -> dict[str, Any]:
        """The ``stockout-sk monitor --json`` line.

        Returns
        -------
        dict
            ``decision``, ``action``, ``reasons``, ``psi`` and ``kl`` per variable,
            ``rolling`` (``window_end``, ``f1``, ``pr_auc``, ``rule_f1``, ``rows``,
            ``positives`` per window), ``report`` (HTML path), ``overlap`` (``rows`` of the
            period dated on or before ``training_end``, the end of the model's training data,
            ``of`` all rows), ``notes``, plus ``model_name``, ``model_version``,
            ``action_detail``, ``dry_run``, ``mlflow_run_id`` (``None`` for a dry run).
        """
        return {
            "decision": self.decision,
            "action": self.action,
            "reasons": list(self.reasons),
            "psi": {k: plain(v) for k, v in self.psi.items()},
            "kl": {k: plain(v) for k, v in self.kl.items()},
            "rolling": [
                {
                    "window_end": w.window_end,
                    "f1": plain(w.f1),
                    "pr_auc": plain(w.pr_auc),
                    "rule_f1": plain(w.rule_f1),
                    "rows": w.rows,
                    "positives": w.positives,
                }
                for w in self.rolling
            ],
            "report": None if self.report_path is None else str(self.report_path),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "action_detail": self.action_detail,
            "dry_run": self.dry_run,
            "mlflow_run_id": self.mlflow_run_id,
            "overlap": {
                "rows": int(self.data.get("rows_within_training_history") or 0),
                "of": int(self.data.get("rows") or 0),
                "training_end": self.data.get("history_end"),
            },
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (``monitoring.json``)."""
        return jsonable(
            {
                **self.summary(),
                "model_run_id": self.model_run_id,
                "threshold": self.threshold,
                "horizon": self.horizon,
                "holdout_f1": self.holdout_f1,
                "target_version": self.target_version,
                "data": self.data,
                "overall": self.overall,
                "rolling": [w.to_dict() for w in self.rolling],
                "drift": [d.to_dict() for d in self.drift],
                "verdict": asdict(self.verdict),
                "config": self.config.to_dict(),
                "notes": self.notes,
                "created_at": self.created_at,
                "fingerprint": self.fingerprint,
            }
        )
