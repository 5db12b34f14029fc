"""Monitoring (CME): is the production model still fit to serve on a later period?

One run takes the six CSV exports of a later period (or an ingested
:class:`~stockout_sk.ingest.ChainData`) and the production model, and:

1. builds the labelled rows whose label has matured and scores them as served, refitting nothing
   (:func:`assess`, module ``assessment``);
2. evaluates the model and the rule baseline on rolling windows of as-of days
   (:func:`rolling_evaluation`, ``rolling``);
3. measures PSI/KL drift of each monitored input and of the score against the model's reference
   (:func:`load_reference`, ``model_reference``; :func:`drift_table`, ``compare``;
   :func:`psi`, :func:`kl_divergence`, :func:`variable_drift`, ``drift``);
4. judges ``ok`` / ``warn`` / ``act`` with reasons (:func:`judge`, ``verdict``);
5. turns ``act`` into a rollback or the rule-baseline fallback, idempotently and never in a dry
   run, writes the HTML report and logs the run to MLflow (:func:`respond`, ``response``;
   ``html_report``, ``plots``, ``run_log``).

:func:`run_cme` (``cme``) does all of it; the steps are public so the Prefect flow
(``flows/monitor.py``) runs each as a task. The design is in ``docs/DESIGN.md`` ("Monitoring").
"""

from stockout_sk.config import MonitoringConfig
from stockout_sk.monitoring.assessment import assess
from stockout_sk.monitoring.cme import run_cme
from stockout_sk.monitoring.compare import drift_table
from stockout_sk.monitoring.drift import DriftResult, kl_divergence, psi, variable_drift
from stockout_sk.monitoring.html_report import (
    PLOTS,
    REPORT_FILES,
    REPORT_HTML,
    REPORT_JSON,
    render_html,
    write_report,
)
from stockout_sk.monitoring.model_reference import (
    HOLDOUT_PREDICTIONS_ARTIFACT,
    MissingReferenceError,
    ModelReference,
    load_reference,
)
from stockout_sk.monitoring.report import MonitoringReport
from stockout_sk.monitoring.response import respond
from stockout_sk.monitoring.rolling import WindowMetrics, rolling_evaluation
from stockout_sk.monitoring.run_log import REPORT_ARTIFACT_DIR
from stockout_sk.monitoring.verdict import Verdict, judge

__all__ = [
    "HOLDOUT_PREDICTIONS_ARTIFACT",
    "PLOTS",
    "REPORT_ARTIFACT_DIR",
    "REPORT_FILES",
    "REPORT_HTML",
    "REPORT_JSON",
    "DriftResult",
    "MissingReferenceError",
    "ModelReference",
    "MonitoringConfig",
    "MonitoringReport",
    "Verdict",
    "WindowMetrics",
    "assess",
    "drift_table",
    "judge",
    "kl_divergence",
    "load_reference",
    "psi",
    "render_html",
    "respond",
    "rolling_evaluation",
    "run_cme",
    "variable_drift",
    "write_report",
]
