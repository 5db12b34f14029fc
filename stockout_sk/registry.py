"""MLflow tracking and the model registry: logging a training run, aliases, the promotion gate.

The lifecycle of a model version (MLflow 3 aliases, never the deprecated stages):

1. :func:`log_training` logs one training run — parameters, metrics of the model and both
   baselines, the evaluation report, the data-validation report, dataset sizes, the LightGBM
   checkpoints, the reference distributions monitoring needs — and the fitted pipeline **once**
   with ``mlflow.sklearn.log_model``, registering it as a new version of ``stockout-classifier``
   that gets the alias ``staging``.
2. :func:`decide_promotion` moves ``production`` to that version only if its holdout F1 reaches
   ``min_f1`` **and** it is not worse than the current production version re-scored on the same
   holdout rows. The decision and its reason are tags on the run and on the version; the version
   that held ``production`` before is recorded on the new one (``stockout.previous_production``).
3. :func:`rollback` moves ``production`` back to that recorded version; :func:`promote` is the
   operator's manual promotion. Both are recorded the same way.

A registered-model tag ``stockout.serving_mode`` (``model`` | ``rule-baseline``) is the fallback
switch the API honours: monitoring sets ``rule-baseline`` when there is nothing to roll back to; any
promotion or rollback sets it back to ``model``.

Nothing here runs at import: the tracking URI is set by :func:`configure_tracking` (called by the
functions that need it), from :class:`~stockout_sk.config.Settings`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stockout_sk.config import Settings, default_tracking_uri, load_settings
from stockout_sk.contract import DATE, ID_FIELDS, QUANTITY_FIELDS, RAW_FIELDS, STRING_FIELDS
from stockout_sk.reference import REFERENCE_ARTIFACT, build_reference
from stockout_sk.training import split_xy
from stockout_sk.vocabulary import Alias, Decision, RunKind, ServingMode, Tag, holdout_tag

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models import ModelSignature

    from stockout_sk.ingest import ValidationReport
    from stockout_sk.training import TrainingResult

__all__ = [
    "TRUSTED_TYPES",
    "LoggedTraining",
    "NoPreviousProductionError",
    "NoProductionModelError",
    "ProductionModel",
    "PromotionDecision",
    "PromotionResult",
    "RegistryView",
    "RollbackResult",
    "TrackingInfo",
    "VersionInfo",
    "configure_tracking",
    "decide_promotion",
    "get_serving_mode",
    "input_example",
    "load_production",
    "log_durations",
    "log_training",
    "model_pip_requirements",
    "model_signature",
    "production_version",
    "promote",
    "resolve_tracking_uri",
    "rollback",
    "run_link",
    "set_serving_mode",
    "show",
    "untrusted_types",
]

logger = logging.getLogger(__name__)

MODEL_ARTIFACT = "model"
#: The holdout rows with their label and the probability the fitted pipeline gave them: lets
#: anyone check that a loaded model reproduces training-time scores, and analyse errors later.
HOLDOUT_PREDICTIONS_ARTIFACT = "predictions/holdout.csv"

#: Types skops may load besides its built-in safe set. Reviewed from
#: ``skops.io.get_untrusted_types(data=skops.io.dumps(fitted_pipeline))``; a test asserts a fitted
#: pipeline needs nothing else. Restricted to our package and the libraries the pipeline is built
#: from, with one standard-library exception noted below. Add a type only after reading why it is
#: in the fitted model.
TRUSTED_TYPES: tuple[str, ...] = (
    # LightGBM's sklearn wrapper keeps ``best_score_`` as ``defaultdict(OrderedDict)``: skops
    # stores the default factory as a type reference. A plain container, no code on load.
    "collections.OrderedDict",
    "imblearn.pipeline.Pipeline",
    "lightgbm.basic.Booster",
    "stockout_sk.features.calendar.CalendarFeatures",
    "stockout_sk.features.hashing.HashedIDs",
    "stockout_sk.features.history.HistoryFeatures",
    "stockout_sk.model.StockoutClassifier",
    "stockout_sk.sampling.ConditionalSampler",
)
#: Module prefixes a trusted type may come from (a test holds TRUSTED_TYPES to this).
TRUSTED_TYPE_PREFIXES: tuple[str, ...] = (
    "stockout_sk.",
    "imblearn.",
    "lightgbm.",
    "sklearn.",
    "numpy.",
    "pandas.",
)

#: Distributions the shipped model needs at load time, pinned to the installed versions.
MODEL_REQUIREMENTS: tuple[str, ...] = (
    "mlflow",
    "scikit-learn",
    "imbalanced-learn",
    "lightgbm",
    "pandas",
    "numpy",
    "scipy",
    "skops",
)

#: F1 is compared with this slack so that re-scoring the same model (float noise) is "not worse".
_F1_TOLERANCE = 1e-9
_HOLDOUT_METRICS = ("f1", "precision", "recall", "pr_auc", "roc_auc", "brier")


class NoProductionModelError(LookupError):
    """The registered model has no version with the requested alias (or is not registered)."""


class NoPreviousProductionError(LookupError):
    """The production version records no previous production version to roll back to."""


# --------------------------------------------------------------------------------------------------
# Tracking set-up
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackingInfo:
    """Where runs and models go.

    Attributes
    ----------
    tracking_uri : str
        Tracking and registry store.
    experiment : str
        Experiment name.
    experiment_id : str
    artifact_location : str
        Where the experiment's artifacts are stored.
    """

    tracking_uri: str
    experiment: str
    experiment_id: str
    artifact_location: str


def resolve_tracking_uri(settings: Settings | None = None) -> str:
    """The tracking URI of ``settings``, or the embedded SQLite store in the working directory."""
    settings = settings or load_settings()
    return settings.tracking_uri or default_tracking_uri()


def configure_tracking(settings: Settings | None = None) -> TrackingInfo:
    """Point MLflow at the configured store and make sure the experiment exists.

    With a SQLite store (the default, ``sqlite:///<cwd>/mlflow.db``), a new experiment keeps its
    artifacts in ``mlartifacts/<experiment>`` next to the database file, so one folder holds the
    whole embedded store. With a server URI the server decides where artifacts go.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :func:`~stockout_sk.config.load_settings` (``MLFLOW_TRACKING_URI``,
        ``STOCKOUT_EXPERIMENT``).

    Returns
    -------
    TrackingInfo

    Raises
    ------
    ValueError
        The experiment exists but was deleted.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    settings = settings or load_settings()
    uri = _use_tracking(settings)
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(settings.experiment)
    if experiment is None:
        location = _local_artifact_location(uri, settings.experiment)
        try:
            experiment_id = client.create_experiment(
                settings.experiment, artifact_location=location
            )
        except MlflowException:
            # Another process created it between our lookup and create: use theirs.
            experiment = client.get_experiment_by_name(settings.experiment)
            if experiment is None:
                raise
            experiment_id = experiment.experiment_id
        experiment = client.get_experiment(experiment_id)
    if experiment.lifecycle_stage != "active":
        raise ValueError(
            f"MLflow experiment {settings.experiment!r} (id {experiment.experiment_id}) in "
            f"{uri} is deleted; restore it (`mlflow experiments restore --experiment-id "
            f"{experiment.experiment_id}`) or set STOCKOUT_EXPERIMENT to another name"
        )
    return TrackingInfo(
        tracking_uri=uri,
        experiment=settings.experiment,
        experiment_id=str(experiment.experiment_id),
        artifact_location=str(experiment.artifact_location),
    )


def run_link(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """A link to the run in the MLflow UI, or the command that shows it for a local store."""
    if tracking_uri.startswith(("http://", "https://")):
        return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return (
        f"run {run_id} in {tracking_uri} (browse with `mlflow ui --backend-store-uri "
        f"{tracking_uri}` → experiment {experiment_id})"
    )


def _use_tracking(settings: Settings) -> str:
    import mlflow

    uri = resolve_tracking_uri(settings)
    # Process-wide by MLflow's design: models:/ URIs and log_model resolve through these.
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def _client(settings: Settings | None) -> tuple[MlflowClient, Settings]:
    import mlflow

    settings = settings or load_settings()
    uri = _use_tracking(settings)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri), settings


def _local_artifact_location(tracking_uri: str, experiment: str) -> str | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///")).expanduser().resolve()
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in experiment)
    return (database.parent / "mlartifacts" / slug).as_uri()


# --------------------------------------------------------------------------------------------------
# Logging a training run
# --------------------------------------------------------------------------------------------------


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


def model_pip_requirements() -> list[str]:
    """Pinned requirements of the logged model (explicit: inferring them costs ~20 s)."""
    return [f"{name}=={importlib_metadata.version(name)}" for name in MODEL_REQUIREMENTS]


def untrusted_types(pipeline: Any) -> list[str]:
    """Types skops would refuse to load from ``pipeline`` that are not in :data:`TRUSTED_TYPES`."""
    import skops.io

    found = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    return sorted(set(found) - set(TRUSTED_TYPES))


def input_example(X: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """Raw request rows as a client sends them: IDs as strings, ``Date`` as an ISO string."""
    example = X.loc[:, list(RAW_FIELDS)].head(rows).reset_index(drop=True).copy()
    for column in ID_FIELDS:
        example[column] = example[column].astype(str)
    example[DATE] = pd.to_datetime(example[DATE]).dt.strftime("%Y-%m-%d")
    for column in QUANTITY_FIELDS:
        example[column] = example[column].astype(np.float64)
    return example


def model_signature() -> ModelSignature:
    """Input: the six raw request fields; output: ``predict_proba``'s two columns.

    IDs and ``Date`` are strings. The quantities are declared ``Any``: MLflow refuses to convert
    int64 to double ("not safe"), and JSON clients send ``120`` as an integer; the pipeline
    converts them to float itself and names the field when a value is not numeric.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

    inputs = Schema(
        [ColSpec("string", name) for name in STRING_FIELDS]
        + [ColSpec(AnyType(), name) for name in QUANTITY_FIELDS]
    )
    outputs = Schema([TensorSpec(np.dtype("float64"), (-1, 2), name="proba")])
    return ModelSignature(inputs=inputs, outputs=outputs)


def log_training(
    result: TrainingResult,
    chain_report: ValidationReport | Mapping[str, Any] | None,
    settings: Settings | None = None,
    *,
    data_dir: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    timings: Mapping[str, float] | None = None,
    run_name: str | None = None,
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
    under ``model`` (skops with :data:`TRUSTED_TYPES`, our package in ``code_paths``,
    ``pyfunc_predict_fn="predict_proba"``, signature and an input example of raw rows).
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    settings = settings or load_settings()
    tracking = configure_tracking(settings)
    client = mlflow.MlflowClient(tracking_uri=tracking.tracking_uri)
    fitted, report, prepared = result.fitted, result.report, result.prepared
    pipeline = fitted.pipeline
    X_train, y_train = split_xy(prepared.train)
    trained_at = datetime.now(UTC).isoformat(timespec="seconds")

    with mlflow.start_run(experiment_id=tracking.experiment_id, run_name=run_name) as run:
        run_id = run.info.run_id
        mlflow.set_tags(
            {
                Tag.KIND: RunKind.TRAINING,
                Tag.DATA_DIR: str(data_dir) if data_dir is not None else "",
                Tag.HORIZON: str(fitted.config.horizon),
                Tag.TRAINED_AT: trained_at,
            }
        )
        params = {
            k: json.dumps(v) if isinstance(v, list) else v
            for k, v in fitted.config.to_dict().items()
        }
        params.update(
            data_dir=str(data_dir) if data_dir is not None else "",
            threshold=f"{fitted.threshold:.6g}",
            threshold_validation=json.dumps(fitted.validation),
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

        example = input_example(X_train)
        try:
            info = mlflow.sklearn.log_model(
                pipeline,
                name=MODEL_ARTIFACT,
                registered_model_name=settings.model_name,
                signature=model_signature(),
                input_example=example,
                pyfunc_predict_fn="predict_proba",
                pip_requirements=model_pip_requirements(),
                code_paths=[str(_package_dir())],
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
        version = str(info.registered_model_version)
        mlflow.set_tag(Tag.MODEL_VERSION, version)

    _tag_version(
        client,
        settings.model_name,
        version,
        {
            Tag.TRAINED_AT: trained_at,
            Tag.HORIZON: str(fitted.config.horizon),
            Tag.THRESHOLD: f"{fitted.threshold:.6g}",
            Tag.DATA_DIR: str(data_dir) if data_dir is not None else "",
            **{
                holdout_tag(k): "" if report.model[k] is None else f"{report.model[k]:.6g}"
                for k in _HOLDOUT_METRICS
            },
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
    """Add ``duration_<step>_s`` metrics to a finished run (steps that ran after logging it)."""
    client, _ = _client(settings)
    for step, seconds in timings.items():
        client.log_metric(run_id, f"duration_{step}_s", float(seconds))


def _training_metrics(
    result: TrainingResult, y_train: np.ndarray, timings: Mapping[str, float] | None
) -> dict[str, float]:
    report = result.report
    metrics: dict[str, float] = {}
    blocks = {"model": report.model} | {
        f"baseline_{name}": block for name, block in report.baselines.items()
    }
    for prefix, block in blocks.items():
        for key in (*_HOLDOUT_METRICS, "threshold"):
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
    frame["label"] = y
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
    }


def _log_evaluation(report: Any) -> None:
    import mlflow

    paths = [Path(p) for p in report.paths if Path(p).is_file()]
    for path in paths:
        mlflow.log_artifact(str(path), artifact_path="evaluation")
    if not any(p.name == "summary.json" for p in paths):
        # evaluate wrote no files (no out_dir): the numbers still belong on the run.
        mlflow.log_dict(report.to_dict(), "evaluation/summary.json")


def _log_checkpoints(pipeline: Any, checkpoint_dir: str | Path | None) -> int:
    import mlflow

    if checkpoint_dir is None or not Path(checkpoint_dir).is_dir():
        return 0
    fingerprint = getattr(pipeline[-1], "fingerprint_", None)
    pattern = f"ckpt-{fingerprint}-*.txt" if fingerprint else "ckpt-*.txt"
    files = sorted(Path(checkpoint_dir).glob(pattern))
    for path in files:
        mlflow.log_artifact(str(path), artifact_path="checkpoints")
    return len(files)


def _package_dir() -> Path:
    import stockout_sk

    return Path(stockout_sk.__file__).resolve().parent


# --------------------------------------------------------------------------------------------------
# Promotion gate
# --------------------------------------------------------------------------------------------------


@dataclass
class PromotionDecision:
    """The promotion gate's verdict on one version.

    Attributes
    ----------
    decision : {"promoted", "kept-staging"}
    reason : str
    version : str
    candidate_f1 : float
    min_f1 : float
    compared_with : str or None
        The production version it was compared with (``None`` when there was none).
    production_f1 : float or None
        That version's F1 re-scored on the same holdout rows, at its own threshold.
    previous_production : str or None
        The version that held ``production`` before this one (promoted only).
    aliases : dict
        ``{"production": version or None, "staging": version or None}`` after the decision.
    """

    decision: str
    reason: str
    version: str
    candidate_f1: float
    min_f1: float
    compared_with: str | None = None
    production_f1: float | None = None
    previous_production: str | None = None
    aliases: dict[str, str | None] = field(default_factory=dict)

    @property
    def promoted(self) -> bool:
        return self.decision == Decision.PROMOTED

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def decide_promotion(
    version: str | int,
    candidate_f1: float,
    X_holdout: pd.DataFrame,
    y_holdout: ArrayLike,
    settings: Settings | None = None,
    *,
    min_f1: float | None = None,
) -> PromotionDecision:
    """Promote ``version`` to ``production`` if it is good enough, and record why either way.

    The gate: ``candidate_f1 >= min_f1`` **and**, when a production version exists, the
    candidate's F1 is not below the production model's F1 re-scored now on the same holdout rows
    (``predict_proba`` of the loaded production pipeline, at its own threshold).

    Parameters
    ----------
    version : str or int
        The candidate version (just registered by :func:`log_training`).
    candidate_f1 : float
        Its holdout F1 (``result.report.model["f1"]``).
    X_holdout, y_holdout
        The holdout raw rows and labels the candidate was scored on.
    settings : Settings, optional
    min_f1 : float, optional
        Defaults to ``settings.min_f1`` (``STOCKOUT_MIN_F1``, 0.7).

    Returns
    -------
    PromotionDecision
        Also written as tags (``stockout.decision``, ``stockout.reason``, ``stockout.min_f1``,
        ``stockout.candidate_f1``, ``stockout.compared_with``, ``stockout.production_f1``,
        ``stockout.previous_production``, ``stockout.decided_at``) on the version and its run.
    """
    from stockout_sk.evaluate import classification_metrics

    client, settings = _client(settings)
    name, version = settings.model_name, str(version)
    threshold = settings.min_f1 if min_f1 is None else float(min_f1)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(
            f"min_f1 must be in [0, 1], got {threshold!r} (from "
            f"{'the min_f1 argument' if min_f1 is not None else 'STOCKOUT_MIN_F1'}); pass a "
            "value such as 0.7"
        )
    candidate_f1 = float(candidate_f1)
    candidate = client.get_model_version(name, version)  # fails early on an unknown version
    current = production_version(settings)
    y = np.asarray(y_holdout, dtype=np.int64)

    compared_with: str | None = None
    production_f1: float | None = None
    if candidate_f1 < threshold:
        decision = Decision.KEPT_STAGING
        reason = f"holdout F1 {candidate_f1:.4f} < min_f1 {threshold:.4f}: below the promotion gate"
    elif current is None:
        decision = Decision.PROMOTED
        reason = (
            f"holdout F1 {candidate_f1:.4f} ≥ min_f1 {threshold:.4f}; no production version yet"
        )
    elif current == version:
        decision = Decision.PROMOTED
        reason = f"version {version} already holds '{Alias.PRODUCTION}'"
    else:
        compared_with = current
        try:
            production_f1 = _rescore(name, current, X_holdout, y, classification_metrics)
        except Exception as error:  # any failure closes the gate; the cause is in the reason
            logger.warning(
                "could not re-score production %s version %s on the holdout: %r; keeping "
                "version %s in staging",
                name,
                current,
                error,
                version,
            )
            decision = Decision.KEPT_STAGING
            reason = (
                f"holdout F1 {candidate_f1:.4f} ≥ min_f1 {threshold:.4f}, but production version "
                f"{current} could not be re-scored on the holdout ({type(error).__name__}: "
                f"{error}); promote manually (`stockout-sk registry promote {version}`) if intended"
            )
        else:
            if candidate_f1 + _F1_TOLERANCE >= production_f1:
                decision = Decision.PROMOTED
                reason = (
                    f"holdout F1 {candidate_f1:.4f} ≥ min_f1 {threshold:.4f} and ≥ production "
                    f"version {current} re-scored on the same {len(y):,} holdout rows "
                    f"(F1 {production_f1:.4f})"
                )
            else:
                decision = Decision.KEPT_STAGING
                reason = (
                    f"holdout F1 {candidate_f1:.4f} is worse than production version {current} "
                    f"re-scored on the same {len(y):,} holdout rows (F1 {production_f1:.4f})"
                )

    previous = current if decision == Decision.PROMOTED and current != version else None
    tags = {
        Tag.DECISION: decision,
        Tag.REASON: reason,
        Tag.MIN_F1: f"{threshold:.6g}",
        Tag.CANDIDATE_F1: f"{candidate_f1:.6g}",
        Tag.COMPARED_WITH: compared_with or "",
        Tag.PRODUCTION_F1: "" if production_f1 is None else f"{production_f1:.6g}",
        Tag.DECIDED_AT: _now(),
    }
    if decision == Decision.PROMOTED and current != version:
        tags[Tag.PREVIOUS_PRODUCTION] = previous or ""
        client.set_registered_model_alias(name, Alias.PRODUCTION, version)
        _set_serving_mode(client, name, ServingMode.MODEL, f"version {version} promoted")
    _record(client, candidate, tags)
    logger.info("%s version %s: %s — %s", name, version, decision, reason)
    return PromotionDecision(
        decision=decision,
        reason=reason,
        version=version,
        candidate_f1=candidate_f1,
        min_f1=threshold,
        compared_with=compared_with,
        production_f1=production_f1,
        previous_production=previous,
        aliases=_aliases(client, name),
    )


def _rescore(name: str, version: str, X: pd.DataFrame, y: np.ndarray, metrics_fn) -> float:
    import mlflow

    pipeline = mlflow.sklearn.load_model(f"models:/{name}/{version}")
    proba = pipeline.predict_proba(X)[:, 1]
    own_threshold = float(getattr(pipeline[-1], "threshold", 0.5))
    return float(metrics_fn(y, proba, threshold=own_threshold)["f1"])


# --------------------------------------------------------------------------------------------------
# Operator actions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromotionResult:
    """What :func:`promote` did.

    Attributes
    ----------
    model_name, version : str
    previous_production : str or None
        The version that held ``production`` before (what a rollback returns to).
    decision : str
        ``promoted``.
    reason : str
    aliases : dict
        ``{"production": version or None, "staging": version or None}`` afterwards.
    """

    model_name: str
    version: str
    previous_production: str | None
    decision: str
    reason: str
    aliases: dict[str, str | None]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the ``registry promote --json`` line)."""
        return asdict(self)


@dataclass(frozen=True)
class RollbackResult:
    """What :func:`rollback` did: ``production`` moved from one version to another."""

    model_name: str
    from_version: str
    to_version: str
    reason: str
    aliases: dict[str, str | None]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the ``registry rollback --json`` line)."""
        return asdict(self)


@dataclass(frozen=True)
class VersionInfo:
    """One registered version as :func:`show` lists it (its tags read back)."""

    version: str
    aliases: list[str]
    run_id: str | None
    created_at: str | None
    status: str
    decision: str | None
    reason: str | None
    holdout_f1: float | None
    threshold: float | None
    previous_production: str | None
    trained_at: str | None


@dataclass(frozen=True)
class RegistryView:
    """The registered model at a glance (:func:`show`).

    Attributes
    ----------
    model_name, tracking_uri : str
    registered : bool
        ``False`` when the model has never been registered (then everything else is empty).
    serving_mode : str
        ``model`` or ``rule-baseline``.
    aliases : dict
        ``{alias: version}``.
    versions : list of VersionInfo
        Newest first.
    """

    model_name: str
    tracking_uri: str
    registered: bool
    serving_mode: str
    aliases: dict[str, str]
    versions: list[VersionInfo]

    def version(self, number: str) -> VersionInfo | None:
        """The listed version ``number``, or ``None``."""
        return next((v for v in self.versions if v.version == str(number)), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the ``registry show --json`` line)."""
        return asdict(self)


def promote(
    version: str | int, settings: Settings | None = None, *, reason: str = "manual"
) -> PromotionResult:
    """Move ``production`` to ``version`` (operator action), recording the previous holder.

    Parameters
    ----------
    version : str or int
        An existing version of the registered model.
    settings : Settings, optional
    reason : str, default="manual"
        Recorded as ``stockout.reason`` on the version and its run.

    Returns
    -------
    PromotionResult
    """
    client, settings = _client(settings)
    name, version = settings.model_name, str(version)
    target = _get_version(client, name, version)
    current = production_version(settings)
    if current == version:
        # Still an operator saying "serve this model": leave a rule-baseline fallback.
        _set_serving_mode(client, name, ServingMode.MODEL, f"version {version} promoted ({reason})")
        logger.info("%s version %s already holds '%s'", name, version, Alias.PRODUCTION)
        return PromotionResult(
            model_name=name,
            version=version,
            previous_production=target.tags.get(Tag.PREVIOUS_PRODUCTION) or None,
            decision=Decision.PROMOTED,
            reason=f"already {Alias.PRODUCTION}",
            aliases=_aliases(client, name),
        )
    client.set_registered_model_alias(name, Alias.PRODUCTION, version)
    _set_serving_mode(client, name, ServingMode.MODEL, f"version {version} promoted ({reason})")
    _record(
        client,
        target,
        {
            Tag.DECISION: Decision.PROMOTED,
            Tag.REASON: reason,
            Tag.PREVIOUS_PRODUCTION: current or "",
            Tag.DECIDED_AT: _now(),
        },
    )
    logger.info("%s version %s promoted to '%s' (%s)", name, version, Alias.PRODUCTION, reason)
    return PromotionResult(
        model_name=name,
        version=version,
        previous_production=current,
        decision=Decision.PROMOTED,
        reason=reason,
        aliases=_aliases(client, name),
    )


def rollback(
    settings: Settings | None = None, *, reason: str = "manual rollback"
) -> RollbackResult:
    """Move ``production`` back to the version that held it before the current one.

    Parameters
    ----------
    settings : Settings, optional
    reason : str, default="manual rollback"
        Recorded on the demoted version (and its run) with ``stockout.decision=rolled-back``.

    Returns
    -------
    RollbackResult

    Raises
    ------
    NoProductionModelError
        Nothing holds ``production``.
    NoPreviousProductionError
        The production version records no previous one (or it no longer exists); monitoring
        falls back to the rule baseline in that case.
    """
    from mlflow.exceptions import MlflowException

    client, settings = _client(settings)
    name = settings.model_name
    current = production_version(settings)
    if current is None:
        raise NoProductionModelError(
            f"registered model {name!r} has no '{Alias.PRODUCTION}' alias: there is nothing "
            f"to roll back; promote a version with `stockout-sk registry promote VERSION`"
        )
    demoted = client.get_model_version(name, current)
    previous = demoted.tags.get(Tag.PREVIOUS_PRODUCTION) or None
    if previous is None:
        raise NoPreviousProductionError(
            f"{name} version {current} holds '{Alias.PRODUCTION}' but records no previous "
            f"production version (tag '{Tag.PREVIOUS_PRODUCTION}'); promote a version "
            "explicitly with `stockout-sk registry promote VERSION`"
        )
    try:
        restored = client.get_model_version(name, previous)
    except MlflowException as error:
        raise NoPreviousProductionError(
            f"{name} version {current} records version {previous} as the previous production "
            f"version, but it cannot be read ({error}); promote a version explicitly"
        ) from error
    client.set_registered_model_alias(name, Alias.PRODUCTION, previous)
    _set_serving_mode(client, name, ServingMode.MODEL, f"rolled back to version {previous}")
    now = _now()
    _record(
        client,
        demoted,
        {Tag.DECISION: Decision.ROLLED_BACK, Tag.REASON: reason, Tag.DECIDED_AT: now},
    )
    _record(
        client,
        restored,
        {Tag.RESTORED_FROM: current, Tag.RESTORED_AT: now},
    )
    logger.info(
        "%s: '%s' moved back from version %s to %s (%s)",
        name,
        Alias.PRODUCTION,
        current,
        previous,
        reason,
    )
    return RollbackResult(
        model_name=name,
        from_version=current,
        to_version=previous,
        reason=reason,
        aliases=_aliases(client, name),
    )


def show(settings: Settings | None = None) -> RegistryView:
    """The registered model at a glance: aliases, serving mode and every version, newest first."""
    from mlflow.exceptions import MlflowException

    client, settings = _client(settings)
    name = settings.model_name
    uri = resolve_tracking_uri(settings)
    try:
        model = client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return RegistryView(name, uri, False, ServingMode.MODEL, {}, [])
    by_version: dict[str, list[str]] = {}
    for alias, v in model.aliases.items():
        by_version.setdefault(str(v), []).append(alias)
    versions = []
    for mv in sorted(
        client.search_model_versions(f"name='{name}'"), key=lambda m: int(m.version), reverse=True
    ):
        tags = mv.tags or {}
        versions.append(
            VersionInfo(
                version=str(mv.version),
                aliases=sorted(by_version.get(str(mv.version), [])),
                run_id=mv.run_id,
                created_at=_iso_ms(mv.creation_timestamp),
                status=mv.status,
                decision=tags.get(Tag.DECISION),
                reason=tags.get(Tag.REASON),
                holdout_f1=_float_or_none(tags.get(holdout_tag("f1"))),
                threshold=_float_or_none(tags.get(Tag.THRESHOLD)),
                previous_production=tags.get(Tag.PREVIOUS_PRODUCTION) or None,
                trained_at=tags.get(Tag.TRAINED_AT),
            )
        )
    return RegistryView(
        model_name=name,
        tracking_uri=uri,
        registered=True,
        serving_mode=model.tags.get(Tag.SERVING_MODE, ServingMode.MODEL),
        aliases={alias: str(v) for alias, v in sorted(model.aliases.items())},
        versions=versions,
    )


# --------------------------------------------------------------------------------------------------
# Serving mode and the production model (for the API and monitoring)
# --------------------------------------------------------------------------------------------------


def get_serving_mode(settings: Settings | None = None) -> str:
    """``"model"`` or ``"rule-baseline"`` (the registered-model tag; ``"model"`` when unset)."""
    from mlflow.exceptions import MlflowException

    client, settings = _client(settings)
    try:
        model = client.get_registered_model(settings.model_name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return ServingMode.MODEL
        raise
    return model.tags.get(Tag.SERVING_MODE, ServingMode.MODEL)


def set_serving_mode(mode: str, settings: Settings | None = None, *, reason: str = "manual") -> str:
    """Set the registered-model tag ``stockout.serving_mode`` (the API's fallback switch).

    Parameters
    ----------
    mode : {"model", "rule-baseline"}
    settings : Settings, optional
    reason : str, default="manual"
        Recorded as ``stockout.serving_mode_reason``.

    Returns
    -------
    str
        The mode now set.
    """
    if mode not in tuple(ServingMode):
        raise ValueError(
            f"serving mode must be one of {[str(m) for m in ServingMode]}, got {mode!r}"
        )
    client, settings = _client(settings)
    _set_serving_mode(client, settings.model_name, mode, reason)
    return mode


def production_version(
    settings: Settings | None = None, *, alias: str = Alias.PRODUCTION
) -> str | None:
    """The version holding ``alias`` (default ``production``), or ``None``. A cheap poll."""
    from mlflow.exceptions import MlflowException

    client, settings = _client(settings)
    try:
        return str(client.get_model_version_by_alias(settings.model_name, alias).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


@dataclass
class ProductionModel:
    """The production pipeline and what the API reports about it.

    Attributes
    ----------
    pipeline : imblearn.pipeline.Pipeline
        Call ``pipeline.predict_proba(raw_rows)``.
    model_name, version, run_id, model_uri : str
    trained_at : str or None
        ISO timestamp of the training run.
    horizon : int or None
    threshold : float
        The decision threshold the classifier carries.
    metrics : dict
        Holdout metrics at registration (``f1``, ``precision``, ``recall``, ``pr_auc``,
        ``roc_auc``, ``brier``; ``None`` when unknown).
    serving_mode : str
        ``"model"`` or ``"rule-baseline"``.
    """

    pipeline: Any
    model_name: str
    version: str
    run_id: str | None
    model_uri: str
    trained_at: str | None
    horizon: int | None
    threshold: float
    metrics: dict[str, float | None]
    serving_mode: str

    def metadata(self) -> dict[str, Any]:
        """Everything but the pipeline, as a plain dict."""
        out = asdict(self)
        out.pop("pipeline")
        return out


def load_production(
    settings: Settings | None = None, *, alias: str = Alias.PRODUCTION
) -> ProductionModel:
    """Load the version holding ``alias`` (by its number, so a concurrent alias move is harmless).

    Raises
    ------
    NoProductionModelError
        The model is not registered or no version holds ``alias``.
    """
    import mlflow

    client, settings = _client(settings)
    name = settings.model_name
    version = production_version(settings, alias=alias)
    if version is None:
        raise NoProductionModelError(
            f"registered model {name!r} in {resolve_tracking_uri(settings)} has no version with "
            f"alias {alias!r}; train one (`stockout-sk train --data DIR`) or promote one "
            "(`stockout-sk registry promote VERSION`)"
        )
    mv = client.get_model_version(name, version)
    model_uri = f"models:/{name}/{version}"
    pipeline = mlflow.sklearn.load_model(model_uri)
    tags = mv.tags or {}
    horizon = tags.get(Tag.HORIZON)
    model = client.get_registered_model(name)
    return ProductionModel(
        pipeline=pipeline,
        model_name=name,
        version=version,
        run_id=mv.run_id,
        model_uri=model_uri,
        trained_at=tags.get(Tag.TRAINED_AT),
        horizon=int(horizon) if horizon else None,
        threshold=float(getattr(pipeline[-1], "threshold", 0.5)),
        metrics={k: _float_or_none(tags.get(holdout_tag(k))) for k in _HOLDOUT_METRICS},
        serving_mode=model.tags.get(Tag.SERVING_MODE, ServingMode.MODEL),
    )


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _get_version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, version)
    except MlflowException as error:
        known = [str(m.version) for m in client.search_model_versions(f"name='{name}'")]
        raise ValueError(
            f"{name} has no version {version!r}; existing versions: {sorted(known, key=int)}. "
            "See `stockout-sk registry show`"
        ) from error


def _aliases(client: MlflowClient, name: str) -> dict[str, str | None]:
    aliases = {str(k): str(v) for k, v in client.get_registered_model(name).aliases.items()}
    return {
        Alias.PRODUCTION: aliases.get(Alias.PRODUCTION),
        Alias.STAGING: aliases.get(Alias.STAGING),
    }


def _tag_version(client: MlflowClient, name: str, version: str, tags: Mapping[str, str]) -> None:
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def _record(client: MlflowClient, mv: ModelVersion, tags: Mapping[str, str]) -> None:
    """Write the same tags on a model version and on the run that produced it."""
    _tag_version(client, mv.name, str(mv.version), tags)
    if mv.run_id:
        for key, value in tags.items():
            client.set_tag(mv.run_id, key, value)


def _set_serving_mode(client: MlflowClient, name: str, mode: str, reason: str) -> None:
    client.set_registered_model_tag(name, Tag.SERVING_MODE, mode)
    client.set_registered_model_tag(name, Tag.SERVING_MODE_REASON, reason)
    client.set_registered_model_tag(name, Tag.SERVING_MODE_AT, _now())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso_ms(milliseconds: int | None) -> str | None:
    if milliseconds is None:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC).isoformat(timespec="seconds")


def _tag_number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _float_or_none(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        return None
