"""MLflow tracking and the model registry: a training run, the promotion gate, operator moves.

The lifecycle of a model version (MLflow 3 aliases, never the deprecated stages; see
``docs/DESIGN.md``, "The registry and the gate"):

1. :func:`log_training` logs one training run and the fitted pipeline **once**, registered as a
   new version of ``stockout-classifier`` with the alias ``staging``
   (:mod:`~stockout_sk.registry.training_run`, :mod:`~stockout_sk.registry.packaging`).
2. :func:`decide_promotion` moves ``production`` to that version only if its threshold is not
   degenerate, its holdout F1 reaches ``min_f1`` and beats both baselines, and it is not worse
   than the current production version re-scored on the same holdout rows
   (:mod:`~stockout_sk.registry.promotion`); :func:`register_refit` then deploys the same
   settings refitted on every matured row as the next version (:mod:`~stockout_sk.registry.refit`).
3. :func:`rollback` moves ``production`` back to the last version that held it and was not
   rolled back from; :func:`promote` is the operator's manual promotion (of a version the gate
   never evaluated only with ``force``) (:mod:`~stockout_sk.registry.lifecycle`). Every move is
   made under :func:`moves_lock` and recorded in the alias history
   (:mod:`~stockout_sk.registry.history`); :func:`show` lists the registered model, its versions
   and that history (:mod:`~stockout_sk.registry.view`).

The registered-model tag ``stockout.serving_mode`` is the API's fallback switch
(:mod:`~stockout_sk.registry.state`); :func:`load_production` gives the API and monitoring the
production pipeline (:mod:`~stockout_sk.registry.production`), loaded only through
:func:`load_pipeline` (skops with our trusted types; never a pickle, never the artifact's own
code — :mod:`~stockout_sk.registry.loading`). Nothing runs at import: the tracking URI is set by
the calls that need it (:mod:`~stockout_sk.registry.tracking`).
"""

from stockout_sk.registry.history import (
    AliasMove,
    RollbackPlan,
    actor,
    read_history,
    record_move,
    rollback_target,
)
from stockout_sk.registry.lifecycle import (
    NoPreviousProductionError,
    PromotionResult,
    RollbackResult,
    UnevaluatedVersionError,
    promote,
    rollback,
)
from stockout_sk.registry.loading import (
    MODEL_FORMAT,
    UnsafeModelError,
    check_trusted,
    load_pipeline,
    model_file,
)
from stockout_sk.registry.locking import RegistryBusyError
from stockout_sk.registry.packaging import (
    MODEL_ARTIFACT,
    MODEL_REQUIREMENTS,
    TRUSTED_TYPE_PREFIXES,
    TRUSTED_TYPES,
    input_example,
    model_pip_requirements,
    model_signature,
    untrusted_types,
)
from stockout_sk.registry.production import ProductionModel, load_production
from stockout_sk.registry.promotion import (
    MOST_FLAGGED,
    PromotionDecision,
    decide_promotion,
    degenerate_threshold,
)
from stockout_sk.registry.recovery import recover_interrupted
from stockout_sk.registry.refit import (
    REFIT_ARTIFACT,
    RefitRegistration,
    evaluated_version,
    register_refit,
)
from stockout_sk.registry.state import (
    NoProductionModelError,
    get_serving_mode,
    production_version,
    set_serving_mode,
)
from stockout_sk.registry.tracking import (
    NoStoreError,
    TrackingInfo,
    configure_tracking,
    connect,
    local_store_path,
    moves_lock,
    redact_text,
    redact_uri,
    resolve_tracking_uri,
    run_link,
    store_kind,
)
from stockout_sk.registry.training_run import (
    HOLDOUT_PREDICTIONS_ARTIFACT,
    LoggedTraining,
    log_durations,
    log_training,
)
from stockout_sk.registry.view import RegistryView, VersionInfo, is_evaluated, show

__all__ = [
    "HOLDOUT_PREDICTIONS_ARTIFACT",
    "MODEL_ARTIFACT",
    "MODEL_FORMAT",
    "MODEL_REQUIREMENTS",
    "MOST_FLAGGED",
    "REFIT_ARTIFACT",
    "TRUSTED_TYPES",
    "TRUSTED_TYPE_PREFIXES",
    "AliasMove",
    "LoggedTraining",
    "NoPreviousProductionError",
    "NoProductionModelError",
    "NoStoreError",
    "ProductionModel",
    "PromotionDecision",
    "PromotionResult",
    "RefitRegistration",
    "RegistryBusyError",
    "RegistryView",
    "RollbackPlan",
    "RollbackResult",
    "TrackingInfo",
    "UnevaluatedVersionError",
    "UnsafeModelError",
    "VersionInfo",
    "actor",
    "check_trusted",
    "configure_tracking",
    "connect",
    "decide_promotion",
    "degenerate_threshold",
    "evaluated_version",
    "get_serving_mode",
    "input_example",
    "is_evaluated",
    "load_pipeline",
    "load_production",
    "local_store_path",
    "log_durations",
    "log_training",
    "model_file",
    "model_pip_requirements",
    "model_signature",
    "moves_lock",
    "production_version",
    "promote",
    "read_history",
    "record_move",
    "recover_interrupted",
    "redact_text",
    "redact_uri",
    "register_refit",
    "resolve_tracking_uri",
    "rollback",
    "rollback_target",
    "run_link",
    "set_serving_mode",
    "show",
    "store_kind",
    "untrusted_types",
]
