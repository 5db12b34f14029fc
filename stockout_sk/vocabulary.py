"""The words the system records and answers with: sources, modes, aliases, decisions, MLflow tags.

Each is a :class:`enum.StrEnum`, so a member *is* its string (``Source.RULE_BASELINE ==
"rule-baseline"``): it is what MLflow stores, what the API returns and what a test compares
against, written once here.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BASELINE_TAG_PREFIX",
    "HOLDOUT_TAG_PREFIX",
    "Alias",
    "Decision",
    "DriftStatus",
    "HistoryAction",
    "MonitoringAction",
    "MonitoringDecision",
    "RunKind",
    "ServingMode",
    "Source",
    "Tag",
    "baseline_tag",
    "holdout_tag",
]

_RULE_BASELINE = "rule-baseline"


class _Word(StrEnum):
    """A recorded word: compares, hashes, formats *and reprs* as its string.

    ``repr`` too, so that a message written ``f"alias {alias!r}"`` reads ``alias 'production'``
    whether it was handed the member or the plain string read back from MLflow.
    """

    def __repr__(self) -> str:
        return repr(self.value)


class Source(_Word):
    """What answered a prediction: the registered model, or the rule baseline."""

    REGISTRY = "registry"
    RULE_BASELINE = _RULE_BASELINE


class ServingMode(_Word):
    """The registered-model switch (tag :attr:`Tag.SERVING_MODE`) the API and the list honour."""

    MODEL = "model"
    RULE_BASELINE = _RULE_BASELINE


class Alias(_Word):
    """Registry aliases (MLflow 3; never the deprecated stages)."""

    PRODUCTION = "production"
    STAGING = "staging"


class Decision(_Word):
    """What happened to a model version (tag :attr:`Tag.DECISION`)."""

    PROMOTED = "promoted"
    KEPT_STAGING = "kept-staging"
    ROLLED_BACK = "rolled-back"
    # Registered by the flow, the gate has not decided yet.
    PENDING = "pending-gate"
    # The training run ended (killed) before the gate decided; marked on the next start.
    UNEVALUATED = "unevaluated"


class HistoryAction(_Word):
    """What one recorded move of ``production`` or of the serving mode was (the alias history)."""

    PROMOTED = "promoted"  # by the gate
    MANUAL_PROMOTION = "manual-promotion"
    ROLLED_BACK = "rolled-back"
    FALLBACK = "fallback"  # serving switched to the rule baseline
    MODEL_SERVING = "model-serving"  # serving switched back to the model, production unchanged


class DriftStatus(_Word):
    """A monitored variable's drift, and the level of a monitoring verdict (no ``not-judged``)."""

    OK = "ok"
    WARN = "warn"
    ACT = "act"
    NOT_JUDGED = "not-judged"


class MonitoringDecision(_Word):
    """What a monitoring run decided."""

    OK = "ok"
    WARN = "warn"
    ROLLBACK = "rollback"
    FALLBACK = "fallback"


class MonitoringAction(_Word):
    """What a monitoring run changed in the registry (``none`` for a dry run too)."""

    NONE = "none"
    ROLLBACK = "rollback"
    FALLBACK = "fallback"


class RunKind(_Word):
    """Tag :attr:`Tag.KIND` of an MLflow run."""

    TRAINING = "training"
    MONITORING = "monitoring"


class Tag(_Word):
    """Every ``stockout.*`` tag: on runs, model versions, or the registered model (noted)."""

    # A run's kind and, for training and monitoring runs, the version it concerns.
    KIND = "stockout.kind"
    MODEL_NAME = "stockout.model_name"
    MODEL_VERSION = "stockout.model_version"
    # Training run and its version.
    TRAINED_AT = "stockout.trained_at"
    HORIZON = "stockout.horizon"
    THRESHOLD = "stockout.threshold"
    DATA_DIR = "stockout.data_dir"
    # Training run: the time windows sized from the history, the threshold's folds.
    WINDOWS = "stockout.windows"
    THRESHOLD_METHOD = "stockout.threshold_method"
    THRESHOLD_SPREAD = "stockout.threshold_spread"
    # Version: the rows its pipeline was fitted on; a refit and the evaluated version it
    # refits (run and both versions).
    FIT_ROWS = "stockout.fit_rows"
    FIT_START = "stockout.fit_start"
    FIT_END = "stockout.fit_end"
    REFIT_OF = "stockout.refit_of"
    REFIT_VERSION = "stockout.refit_version"
    # The process that logs a training run: on a later start, a run left RUNNING by a process
    # that is gone is marked FAILED (and its version, undecided, "unevaluated").
    PID = "stockout.pid"
    HOST = "stockout.host"
    PROCESS_STARTED = "stockout.process_started"
    INTERRUPTED = "stockout.interrupted"
    # The promotion gate and operator moves (run and version).
    DECISION = "stockout.decision"
    REASON = "stockout.reason"
    DECIDED_AT = "stockout.decided_at"
    MIN_F1 = "stockout.min_f1"
    CANDIDATE_F1 = "stockout.candidate_f1"
    COMPARED_WITH = "stockout.compared_with"
    PRODUCTION_F1 = "stockout.production_f1"
    PREVIOUS_PRODUCTION = "stockout.previous_production"
    # The share of the training-side validation rows the chosen threshold flags.
    VALIDATION_FLAGGED = "stockout.validation_flagged_share"
    RESTORED_FROM = "stockout.restored_from"
    RESTORED_AT = "stockout.restored_at"
    # Registered model: the fallback switch.
    SERVING_MODE = "stockout.serving_mode"
    SERVING_MODE_REASON = "stockout.serving_mode_reason"
    SERVING_MODE_AT = "stockout.serving_mode_changed_at"
    # Monitoring run.
    MONITORING_DECISION = "stockout.monitoring.decision"
    MONITORING_ACTION = "stockout.monitoring.action"
    MONITORING_ACTION_DETAIL = "stockout.monitoring.action_detail"
    MONITORING_REASONS = "stockout.monitoring.reasons"
    MONITORING_FINGERPRINT = "stockout.monitoring.fingerprint"
    MONITORING_DRY_RUN = "stockout.monitoring.dry_run"
    MONITORING_DATA = "stockout.monitoring.data"


#: Prefix of the holdout metrics written on a version (``stockout.holdout.f1``, …).
HOLDOUT_TAG_PREFIX = "stockout.holdout."


def holdout_tag(metric: str) -> str:
    """The version tag holding one holdout metric, e.g. ``holdout_tag("f1")``."""
    return f"{HOLDOUT_TAG_PREFIX}{metric}"


#: Prefix of a baseline's holdout F1 recorded by the gate (``stockout.baseline.rule.f1``, …).
BASELINE_TAG_PREFIX = "stockout.baseline."


def baseline_tag(baseline: str) -> str:
    """The tag holding one baseline's holdout F1, e.g. ``baseline_tag("rule")``."""
    return f"{BASELINE_TAG_PREFIX}{baseline}.f1"
