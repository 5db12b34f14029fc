"""The monitoring run in MLflow: its tags, params, metrics and the report's files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param, RunTag

from stockout_sk.jsonable import plain
from stockout_sk.monitoring.html_report import REPORT_FILES
from stockout_sk.monitoring.report import MonitoringReport
from stockout_sk.vocabulary import RunKind, Tag

__all__ = ["REPORT_ARTIFACT_DIR", "TAG_LIMIT", "log_run", "run_tags"]

#: Artifact folder of the monitoring run that holds the report and its plots.
REPORT_ARTIFACT_DIR = "report"
#: MLflow refuses tag values longer than 8000 characters; reasons are cut well below.
TAG_LIMIT = 4000


def run_tags(report: MonitoringReport) -> dict[str, str]:
    """The tags a monitoring run is created with (what it concerns, and its fingerprint)."""
    return {
        Tag.KIND: RunKind.MONITORING,
        Tag.MODEL_NAME: report.model_name,
        Tag.MODEL_VERSION: report.model_version,
        Tag.MONITORING_FINGERPRINT: report.fingerprint,
        Tag.MONITORING_DRY_RUN: str(report.dry_run).lower(),
        Tag.MONITORING_DATA: str(report.data.get("source", ""))[:TAG_LIMIT],
    }


def log_run(client: mlflow.MlflowClient, run_id: str, report: MonitoringReport) -> None:
    """Log the decision, metrics (drift, overall, rolling) and report files to the run."""
    now = int(datetime.now(UTC).timestamp() * 1000)
    params = {
        "model_name": report.model_name,
        "model_version": report.model_version,
        "model_run_id": report.model_run_id or "",
        "data": report.data.get("source", ""),
        "first_asof": report.data["first_asof"],
        "last_asof": report.data["last_asof"],
        "history_end": report.data.get("history_end") or "",
        "horizon": report.horizon,
        "threshold": f"{report.threshold:.6g}",
        "dry_run": report.dry_run,
        **{f"config.{k}": v for k, v in report.config.to_dict().items()},
    }
    metrics: list[Metric] = []

    def metric(key: str, value: Any, step: int = 0, timestamp: int = now) -> None:
        number = plain(value)
        if number is not None:
            metrics.append(Metric(key, float(number), timestamp, step))

    for d in report.drift:
        metric(f"psi.{d.name}", d.psi)
        metric(f"kl.{d.name}", d.kl)
    metric("rows", report.data["rows"])
    metric("positives", report.data["positives"])
    metric("holdout_f1", report.holdout_f1)
    for key in ("f1", "precision", "recall", "pr_auc"):
        metric(f"overall.{key}", report.overall["model"][key])
        metric(f"overall.rule_{key}", report.overall["rule"][key])
    if report.rolling:
        latest = report.rolling[-1]
        metric("latest.f1", latest.f1)
        metric("latest.pr_auc", latest.pr_auc)
        metric("latest.rule_f1", latest.rule_f1)
    for step, w in enumerate(report.rolling):
        at = int(pd.Timestamp(w.window_end, tz="UTC").timestamp() * 1000)
        for key in ("f1", "precision", "recall", "pr_auc", "rule_f1", "rule_pr_auc"):
            metric(f"rolling.{key}", getattr(w, key), step, at)
    tags = {
        Tag.MONITORING_DECISION: report.decision,
        Tag.MONITORING_ACTION: report.action,
        Tag.MONITORING_ACTION_DETAIL: report.action_detail[:TAG_LIMIT],
        Tag.MONITORING_REASONS: json.dumps(report.reasons)[:TAG_LIMIT],
    }
    client.log_batch(
        run_id,
        metrics=metrics,
        params=[Param(k, str(v)[:6000]) for k, v in params.items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    if report.report_path is not None:
        folder = report.report_path.parent
        for name in REPORT_FILES:
            if (folder / name).is_file():
                client.log_artifact(run_id, str(folder / name), artifact_path=REPORT_ARTIFACT_DIR)
