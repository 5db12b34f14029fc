"""Logging one training run and registering its model as a new version with alias ``staging``.

The run holds parameters, metrics of the model and both baselines, the evaluation report, the
data-validation report, dataset sizes, the LightGBM checkpoints, the reference distributions
monitoring needs and the holdout predictions; the fitted pipeline is logged **once** with
``mlflow.sklearn.log_model`` (see :mod:`stockout_sk.registry.packaging`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from stockout_sk.clock import utc_now
from stockout_sk.config import Settings, load_settings
from stockout_sk.contract import LABEL, RAW_FIELDS
from stockout_sk.evaluate import METRIC_KEYS, EvaluationReport
from stockout_sk.ingest import ValidationReport
from stockout_sk.reference import REFERENCE_ARTIFACT, build_reference
from stockout_sk.registry.locking import process_started
from stockout_sk.registry.packaging import (
    MODEL_ARTIFACT,
    TRUSTED_TYPES,
    input_example,
    model_pip_requirements,
    model_signature,
    package_dir,
    untrusted_types,
)
from stockout_sk.registry.state import HOLDOUT_METRICS, tag_number, tag_version
from stockout_sk.registry.tracking import configure_tracking, connect, run_link
from stockout_sk.training import FittedModel, TrainingResult, split_xy
from stockout_sk.vocabulary import Alias, Decision, RunKind, Tag, holdout_tag

__all__ = ["HOLDOUT_PREDICTIONS_ARTIFACT", "LoggedTraining", "log_durations", "log_training"]

logger = logging.getLogger(__name__)

#: The holdout rows with their label and the probability the fitted pipeline gave them: lets
#: anyone check that a loaded model reproduces training-time scores, and analyse errors later.
HOLDOUT_PREDICTIONS_ARTIFACT = "predictions/holdout.csv"


@dataclass(frozen=True)
class LoggedTraining:
    """What :func:`log_training` created.

    Attributes
    ----------
    run_id, experiment_id : str
    model_name : str
    version : str
        The new registered version (alias ``staging``).
    model_uri : str
        ``models:/<name>/<version>``.
    tracking_uri : str
    run_link : str
        UI link (server) or how to browse the run (local store).
    """

    run_id: str
    experiment_id: str
    model_name: str
    version: str
    model_uri: str
    tracking_uri: str
    run_link: str


def log_training(
    result: TrainingResult,
    chain_report: ValidationReport | Mapping[str, Any] | None,
    settings: Settings | None = None,
    *,
    data_dir: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    timings: Mapping[str, float] | None = None,
    run_name: str | None = None,
    awaiting_gate: bool = False,
) -> LoggedTraining:
    """Log one training run and register its model as a new version with alias ``staging``.

    Parameters
    ----------
    result : TrainingResult
        Output of the training steps: fitted model, holdout evaluation, prepared split.
    chain_report : ValidationReport or dict or None
        Ingestion's validation report (``chain.report``), logged as
        ``validation/validation_report.json``.
    settings : Settings, optional
        Tracking URI, experiment and model name; defaults to the environment.
    data_dir : str or Path, optional
        Where the CSVs came from (parameter ``data_dir``).
    checkpoint_dir : str or Path, optional
        The LightGBM checkpoint folder; checkpoints of this fit (same fingerprint) are logged
        under ``checkpoints/``.
    timings : dict, optional
        Step durations in seconds, logged as ``duration_<step>_s`` metrics.
    run_name : str, optional
    awaiting_gate : bool, default=False
        The caller runs the promotion gate next: the version is tagged
        ``stockout.decision=pending-gate`` until it decides, so that a run killed in between
        leaves a version a later start marks ``unevaluated``.

    Returns
    -------
    LoggedTraining

    Notes
    -----
    Logged: parameters (``ModelConfig.to_dict()``, ``data_dir``, the chosen threshold); metrics
    ``model_<m>``, ``baseline_rule_<m>``, ``baseline_velocity_<m>`` for F1, precision, recall,
    PR-AUC, ROC-AUC, Brier, plus dataset sizes and label rates; artifacts ``evaluation/`` (plots,
    ``summary.md``, ``summary.json``), ``validation/validation_report.json``,
    ``dataset/dataset_report.json``, ``checkpoints/``, ``reference/reference.json``,
    ``predictions/holdout.csv`` (holdout rows, label, training-time probability); the model
    under ``model`` (skops with :data:`~stockout_sk.registry.TRUSTED_TYPES`, our package in
    ``code_paths``, ``pyfunc_predict_fn="predict_proba"``, signature and an input example of raw
    rows).
    """
    settings = settings or load_settings()
    tracking = configure_tracking(settings)
    client = MlflowClient(tracking_uri=tracking.tracking_uri)
    fitted, report, prepared = result.fitted, result.report, result.prepared
    pipeline = fitted.pipeline
    X_train, y_train = split_xy(prepared.train)
    trained_at = utc_now()
    data_dir_text = str(data_dir) if data_dir is not None else ""

    # What the run is and who logs it, given with the run's creation (a process killed a moment
    # later still left them): a later start can tell a training run whose process died from one
    # in progress (see stockout_sk.registry.recovery).
    owner = {
        Tag.KIND: RunKind.TRAINING,
        Tag.PID: str(os.getpid()),
        Tag.HOST: socket.gethostname(),
        Tag.PROCESS_STARTED: process_started(),
    }
    with mlflow.start_run(
        experiment_id=tracking.experiment_id, run_name=run_name, tags=owner
    ) as run:
        run_id = run.info.run_id
        mlflow.set_tags(
            {
                Tag.DATA_DIR: data_dir_text,
                Tag.HORIZON: str(fitted.config.horizon),
                Tag.TRAINED_AT: trained_at,
                **_window_tags(result),
            }
        )
        params = {
            k: json.dumps(v) if isinstance(v, list) else v
            for k, v in fitted.config.to_dict().items()
        }
        params.update(
            data_dir=data_dir_text,
            threshold=f"{fitted.threshold:.6g}",
            threshold_validation=json.dumps(fitted.validation),
            **(prepared.windows.params() if prepared.windows else {}),
        )
        mlflow.log_params(params)
        mlflow.log_metrics(_training_metrics(result, y_train, timings))

        _log_evaluation(report)
        if chain_report is not None:
            as_dict = chain_report if isinstance(chain_report, Mapping) else chain_report.to_dict()
            mlflow.log_dict(dict(as_dict), "validation/validation_report.json")
        mlflow.log_dict(_dataset_report(result), "dataset/dataset_report.json")
        logged_checkpoints = _log_checkpoints(pipeline, checkpoint_dir)

        mlflow.log_text(_holdout_predictions(result), HOLDOUT_PREDICTIONS_ARTIFACT)
        # The reference is what the model sees at serving time: the holdout rows lie inside the
        # history the fitted pipeline carries, so their model features and scores are computed
        # exactly as for a request (most training rows are older than that bounded history).
        X_reference, _ = split_xy(result.prepared.holdout)
        proba_reference = pipeline.predict_proba(X_reference)[:, 1]
        reference = build_reference(pipeline, X_reference, proba_reference)
        mlflow.log_dict(reference, REFERENCE_ARTIFACT)

        version = _log_model(fitted, settings.model_name, input_example(X_train), trained_at)
        mlflow.set_tag(Tag.MODEL_VERSION, version)

    tag_version(
        client,
        settings.model_name,
        version,
        {
            Tag.TRAINED_AT: trained_at,
            Tag.HORIZON: str(fitted.config.horizon),
            Tag.THRESHOLD: tag_number(fitted.threshold),
            Tag.DATA_DIR: data_dir_text,
            **_fit_tags(fitted),
            **{holdout_tag(k): tag_number(report.model[k]) for k in HOLDOUT_METRICS},
            **({Tag.DECISION: Decision.PENDING} if awaiting_gate else {}),
        },
    )
    client.set_registered_model_alias(settings.model_name, Alias.STAGING, version)
    logger.info(
        "logged run %s (%d checkpoint file(s)); registered %s version %s with alias '%s'",
        run_id,
        logged_checkpoints,
        settings.model_name,
        version,
        Alias.STAGING,
    )
    return LoggedTraining(
        run_id=run_id,
        experiment_id=tracking.experiment_id,
        model_name=settings.model_name,
        version=version,
        model_uri=f"models:/{settings.model_name}/{version}",
        tracking_uri=tracking.tracking_uri,
        run_link=run_link(tracking.tracking_uri, tracking.experiment_id, run_id),
    )


def log_durations(
    run_id: str, timings: Mapping[str, float], settings: Settings | None = None
) -> None:
    """Add ``duration_<step>_s`` metrics to a finished run (steps that ran after logging it).

    Parameters
    ----------
    run_id : str
    timings : dict
        Step name → seconds.
    settings : Settings, optional
    """
    client, _ = connect(settings)
    for step, seconds in timings.items():
        client.log_metric(run_id, f"duration_{step}_s", float(seconds))


def _log_model(
    fitted: FittedModel,
    model_name: str,
    example: pd.DataFrame,
    trained_at: str,
    *,
    name: str = MODEL_ARTIFACT,
) -> str:
    """Log and register the fitted pipeline in the active run; the new version number."""
    pipeline = fitted.pipeline
    # MLflow checks the input example by loading the model it has just saved, which prepends
    # that copy's code/ folder to sys.path (one entry per call); our package is already
    # imported, so the path is put back as it was.
    saved_path = list(sys.path)
    try:
        info = mlflow.sklearn.log_model(
            pipeline,
            name=name,
            registered_model_name=model_name,
            signature=model_signature(),
            input_example=example,
            pyfunc_predict_fn="predict_proba",
            pip_requirements=model_pip_requirements(),
            code_paths=[str(package_dir())],
            serialization_format="skops",
            skops_trusted_types=list(TRUSTED_TYPES),
            metadata={
                "horizon": fitted.config.horizon,
                "threshold": fitted.threshold,
                "trained_at": trained_at,
                "raw_fields": list(RAW_FIELDS),
                "predict": "predict_proba → [P(no stock-out), P(stock-out)] per row",
            },
        )
    except MlflowException as error:
        extra = untrusted_types(pipeline)
        if extra:
            raise ValueError(
                f"the fitted pipeline holds type(s) {extra} that are not in "
                "stockout_sk.registry.TRUSTED_TYPES, so skops would refuse to load the "
                "model; review why the pipeline holds them and add them to TRUSTED_TYPES "
                "if they are safe"
            ) from error
        raise
    finally:
        sys.path[:] = saved_path
    return str(info.registered_model_version)


def _training_metrics(
    result: TrainingResult, y_train: np.ndarray, timings: Mapping[str, float] | None
) -> dict[str, float]:
    report = result.report
    metrics: dict[str, float] = {}
    blocks = {"model": report.model} | {
        f"baseline_{name}": block for name, block in report.baselines.items()
    }
    for prefix, block in blocks.items():
        for key in METRIC_KEYS:
            value = block.get(key)
            if value is not None and math.isfinite(float(value)):
                metrics[f"{prefix}_{key}"] = float(value)
    dataset = result.prepared.dataset
    metrics.update(
        dataset_rows=float(len(dataset.frame)),
        dataset_label_rate=float(dataset.report.get("positive_rate", float("nan"))),
        train_rows=float(len(y_train)),
        train_label_rate=float(np.mean(y_train)) if len(y_train) else 0.0,
        holdout_rows=float(report.rows["holdout"]),
        holdout_label_rate=float(report.positive_rate),
    )
    for step, seconds in (timings or {}).items():
        metrics[f"duration_{step}_s"] = float(seconds)
    return {k: v for k, v in metrics.items() if math.isfinite(v)}


def _holdout_predictions(result: TrainingResult) -> str:
    X, y = split_xy(result.prepared.holdout)
    frame = input_example(X, rows=len(X))
    frame[LABEL] = y
    frame["proba"] = result.fitted.pipeline.predict_proba(X)[:, 1]
    # 17 significant digits: a float64 survives the CSV round trip exactly.
    return frame.to_csv(index=False, float_format="%.17g")


def _dataset_report(result: TrainingResult) -> dict[str, Any]:
    split = result.prepared.split
    return {
        "labels": result.prepared.dataset.report,
        "split": {
            "train_rows": int(np.asarray(split.train).sum()),
            "holdout_rows": int(np.asarray(split.holdout).sum()),
            "train_start": str(split.train_start.date()),
            "train_end": str(split.train_end.date()),
            "holdout_start": str(split.holdout_start.date()),
            "holdout_end": str(split.holdout_end.date()),
            "purge_gap_days": int(split.gap_days),
        },
        "threshold_validation": result.fitted.validation,
        "windows": result.prepared.windows.to_dict() if result.prepared.windows else None,
    }


def _window_tags(result: TrainingResult) -> dict[str, str]:
    """The windows chosen and why, and how far apart the folds' thresholds were."""
    validation = result.fitted.validation
    spread = (validation.get("spread") or {}).get("range")
    tags = {
        Tag.THRESHOLD_METHOD: str(validation.get("method", "")),
        Tag.THRESHOLD_SPREAD: "" if spread is None else tag_number(spread),
    }
    if result.prepared.windows is not None:
        tags[Tag.WINDOWS] = result.prepared.windows.reason
    return tags


def _fit_tags(fitted: FittedModel) -> dict[str, str]:
    """Which rows the registered pipeline was fitted on."""
    rows = fitted.fit_rows
    if not rows:
        return {}
    return {
        Tag.FIT_ROWS: str(rows["rows"]),
        Tag.FIT_START: str(rows["start"]),
        Tag.FIT_END: str(rows["end"]),
    }


def _log_evaluation(report: EvaluationReport) -> None:
    paths = [Path(p) for p in report.paths if Path(p).is_file()]
    for path in paths:
        mlflow.log_artifact(str(path), artifact_path="evaluation")
    if not any(p.name == "summary.json" for p in paths):
        # evaluate wrote no files (no out_dir): the numbers still belong on the run.
        mlflow.log_dict(report.to_dict(), "evaluation/summary.json")


def _log_checkpoints(pipeline: Any, checkpoint_dir: str | Path | None) -> int:
    if checkpoint_dir is None or not Path(checkpoint_dir).is_dir():
        return 0
    fingerprint = getattr(pipeline[-1], "fingerprint_", None)
    pattern = f"ckpt-{fingerprint}-*.txt" if fingerprint else "ckpt-*.txt"
    files = sorted(Path(checkpoint_dir).glob(pattern))
    for path in files:
        mlflow.log_artifact(str(path), artifact_path="checkpoints")
    return len(files)
