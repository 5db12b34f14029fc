"""Respond to a verdict: plan rollback or fallback, apply it (unless dry run), report, log.

``act`` becomes ``rollback`` when an earlier production version qualifies — the last one that
was not rolled back from (:meth:`~stockout_sk.registry.RegistryView.rollback_plan`, the rule
:func:`~stockout_sk.registry.rollback` follows) — else
``fallback`` (:func:`~stockout_sk.registry.set_serving_mode` to the rule baseline — the switch the
API polls, so a running server falls back without a restart). Every run is logged to the MLflow
experiment ``config.experiment`` with the HTML report, also written locally.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import mlflow
from mlflow.entities import Run

from stockout_sk.clock import utc_stamp
from stockout_sk.config import Settings, load_settings
from stockout_sk.monitoring.html_report import write_report
from stockout_sk.monitoring.report import MonitoringReport
from stockout_sk.monitoring.run_log import TAG_LIMIT, log_run, run_tags
from stockout_sk.registry import (
    NoPreviousProductionError,
    RegistryView,
    configure_tracking,
    rollback,
    set_serving_mode,
    show,
)
from stockout_sk.vocabulary import (
    Alias,
    DriftStatus,
    MonitoringAction,
    MonitoringDecision,
    ServingMode,
    Tag,
)

__all__ = ["respond"]

logger = logging.getLogger(__name__)


def respond(
    report: MonitoringReport,
    settings: Settings | None = None,
    *,
    dry_run: bool = False,
    out_dir: str | Path | None = None,
    log_to_mlflow: bool | None = None,
) -> MonitoringReport:
    """Decide rollback or fallback, act (unless ``dry_run``), write the HTML report, log the run.

    Parameters
    ----------
    report : MonitoringReport
        From :func:`~stockout_sk.monitoring.assess`.
    settings : Settings, optional
        Registry and tracking store; defaults to the environment.
    dry_run : bool, default=False
        Decide and report, change nothing in the registry or the tracking store: no MLflow run
        is logged unless ``log_to_mlflow=True`` asks for one (tagged
        ``stockout.monitoring.dry_run=true``).
    out_dir : str or Path, optional
        Where the HTML report, its plots and ``monitoring.json`` go; default
        ``<artifacts_dir>/monitoring/<UTC time>-v<version>``.
    log_to_mlflow : bool, optional
        Log the run to the experiment ``config.experiment``; default: unless ``dry_run``.

    Returns
    -------
    MonitoringReport
        The same object, with ``decision``, ``action``, ``action_detail``, ``report_path`` and
        ``mlflow_run_id`` filled in.

    Notes
    -----
    Idempotent: an action is applied only when (1) the evaluated version still holds
    ``production``, (2) serving is not already on the rule baseline, and (3) no earlier
    (non-dry) monitoring run applied an action for the same fingerprint — the same version, data
    and thresholds. A second run on the same state therefore changes nothing; an operator who
    re-promotes a version after a rollback is not overridden by the same evidence again.
    """
    settings = settings or load_settings()
    report.dry_run = bool(dry_run)
    if log_to_mlflow is None:
        log_to_mlflow = not dry_run
    state = show(settings)
    _plan(report, state)

    run_id = client = experiment_id = None
    if log_to_mlflow or not dry_run:
        # Only then is the tracking store written to (the experiment created if new).
        tracking = configure_tracking(replace(settings, experiment=report.config.experiment))
        uri, experiment_id = tracking.tracking_uri, tracking.experiment_id
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    if log_to_mlflow:
        run = client.create_run(
            experiment_id,
            run_name=f"monitor-v{report.model_version}-{report.data['last_asof']}",
            tags=run_tags(report),
        )
        run_id = run.info.run_id
        report.mlflow_run_id = run_id
    try:
        _apply(report, state, settings, client, experiment_id)
        folder = Path(out_dir) if out_dir is not None else _default_out(settings, report)
        report.report_path = write_report(report, folder)
        if run_id is not None:
            log_run(client, run_id, report)
    except BaseException:
        if run_id is not None:
            client.set_terminated(run_id, status="FAILED")
        raise
    if run_id is not None:
        client.set_terminated(run_id, status="FINISHED")
    logger.info(
        "monitoring %s version %s: decision %s, action %s (%s); report %s",
        report.model_name,
        report.model_version,
        report.decision,
        report.action,
        report.action_detail,
        report.report_path,
    )
    return report


def _plan(report: MonitoringReport, state: RegistryView) -> None:
    """Turn ``act`` into ``rollback`` or ``fallback``.

    Rollback when an earlier production version qualifies (see
    :meth:`~stockout_sk.registry.RegistryView.rollback_plan`); otherwise fallback.
    """
    if state.serving_mode == ServingMode.RULE_BASELINE:
        report.notes.append(
            f"serving is on the rule baseline (registered-model tag {Tag.SERVING_MODE}); "
            "monitoring never switches back — promote a version (`stockout-sk registry promote "
            "VERSION`) to serve a model again"
        )
    if report.verdict.level != DriftStatus.ACT:
        report.decision = report.verdict.level
        report.reasons = report.verdict.reasons
        return
    # The one rollback rule (registry.rollback_target): the last version that held production
    # and was not rolled back from — never a bounce back to a version judged bad (1 → 2 → 1).
    plan = state.rollback_plan()
    report.reasons = report.verdict.reasons
    if plan.target is None:
        report.decision = MonitoringDecision.FALLBACK
        if plan.skipped:
            report.notes.append(
                "no earlier production version to roll back to (passed over: "
                f"{'; '.join(plan.skipped)}): falling back to the rule baseline"
            )
    else:
        report.decision = MonitoringDecision.ROLLBACK
        report.target_version = plan.target
        if plan.skipped:
            report.notes.append(
                f"rolling back to version {plan.target}, passing over: {'; '.join(plan.skipped)}"
            )


def _apply(
    report: MonitoringReport,
    state: RegistryView,
    settings: Settings,
    client: mlflow.MlflowClient | None,
    experiment_id: str | None,
) -> None:
    report.action = MonitoringAction.NONE
    if report.decision not in (MonitoringDecision.ROLLBACK, MonitoringDecision.FALLBACK):
        report.action_detail = f"nothing to do ({report.decision})"
        return
    intended = (
        f"roll '{Alias.PRODUCTION}' back from version {report.model_version} to "
        f"{report.target_version}"
        if report.decision == MonitoringDecision.ROLLBACK
        else "switch serving to the rule baseline"
    )
    if report.dry_run or client is None or experiment_id is None:
        report.action_detail = f"dry run: would {intended}"
        return
    production = state.aliases.get(Alias.PRODUCTION)
    if production != report.model_version:
        report.action_detail = (
            f"not applied: version {report.model_version} was evaluated but {production!r} now "
            f"holds '{Alias.PRODUCTION}'; monitor that version instead"
        )
        logger.warning("%s", report.action_detail)
        return
    if state.serving_mode == ServingMode.RULE_BASELINE:
        report.action_detail = (
            "not applied: serving is already on the rule baseline; promote a version "
            "(`stockout-sk registry promote VERSION`) to serve a model again"
        )
        return
    earlier = _earlier_action(client, experiment_id, report)
    if earlier is not None:
        report.action_detail = (
            f"not applied: monitoring run {earlier.info.run_id} already applied "
            f"{earlier.data.tags.get(Tag.MONITORING_ACTION)!r} for the same version, data and "
            "thresholds "
            f"(fingerprint {report.fingerprint}); the registry was changed by someone since — "
            "not overriding them on the same evidence"
        )
        logger.warning("%s", report.action_detail)
        return

    why = f"monitoring run {report.mlflow_run_id or '(not logged)'}: " + "; ".join(
        report.verdict.act_reasons
    )
    why = why[:TAG_LIMIT]
    if report.decision == MonitoringDecision.ROLLBACK:
        try:
            moved = rollback(settings, reason=why, by="monitoring")
        except NoPreviousProductionError as error:
            # Raced with a registry change: the rule baseline is the safe answer, and we say so.
            logger.warning("rollback impossible (%s): falling back to the rule baseline", error)
            report.notes.append(f"rollback impossible ({error}): fell back to the rule baseline")
            report.decision = MonitoringDecision.FALLBACK
        else:
            report.action = MonitoringAction.ROLLBACK
            report.target_version = moved.to_version
            report.action_detail = (
                f"rolled '{Alias.PRODUCTION}' back from version {moved.from_version} to "
                f"{moved.to_version}"
            )
            logger.warning("%s: %s", report.action_detail, why)
            return
    set_serving_mode(ServingMode.RULE_BASELINE, settings, reason=why, by="monitoring")
    report.action = MonitoringAction.FALLBACK
    report.action_detail = (
        f"serving switched to the rule baseline (registered-model tag {Tag.SERVING_MODE}); "
        f"version {report.model_version} keeps '{Alias.PRODUCTION}'"
    )
    logger.warning("%s: %s", report.action_detail, why)


def _earlier_action(
    client: mlflow.MlflowClient, experiment_id: str, report: MonitoringReport
) -> Run | None:
    runs = client.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{Tag.MONITORING_FINGERPRINT}` = '{report.fingerprint}' and "
            f"tags.`{Tag.MONITORING_DRY_RUN}` = 'false'"
        ),
        max_results=50,
        order_by=["attributes.start_time DESC"],
    )
    for run in runs:
        if run.info.run_id != report.mlflow_run_id and run.data.tags.get(Tag.MONITORING_ACTION) in (
            MonitoringAction.ROLLBACK,
            MonitoringAction.FALLBACK,
        ):
            return run
    return None


def _default_out(settings: Settings, report: MonitoringReport) -> Path:
    return Path(settings.artifacts_dir) / "monitoring" / f"{utc_stamp()}-v{report.model_version}"
