"""MLflow tracking and the model registry: a training run, the promotion gate, operator moves.

The lifecycle of a model version (MLflow 3 aliases, never the deprecated stages; see
``docs/DESIGN.md``, "The registry and the gate"):

1. :func:`log_training` logs one training run and the fitted pipeline **once**, registered as a
   new version of ``stockout-classifier`` with the alias ``staging``
   (:mod:`~stockout_sk.registry.training_run`, :mod:`~stockout_sk.registry.packaging`).
2. :func:`decide_promotion` moves ``production`` to that version only if its threshold is not
   degenerate, its holdout F1 reaches ``min_f1`` and beats both baselines, and it is not worse
   than the current production version re-scored on the same holdout rows
   (:mod:`~stockout_sk.registry.promotion`).
3. :func:`rollback` moves ``production`` back to the version recorded on the current one;
   :func:`promote` is the operator's manual promotion; :func:`show` lists the registered model
   (:mod:`~stockout_sk.registry.lifecycle`).

The registered-model tag ``stockout.serving_mode`` is the API's fallback switch
(:mod:`~stockout_sk.registry.state`); :func:`load_production` gives the API and monitoring the
production pipeline (:mod:`~stockout_sk.registry.production`), loaded only through
:func:`load_pipeline` (skops with our trusted types; never a pickle, never the artifact's own
code — :mod:`~stockout_sk.registry.loading`). Nothing runs at import: the tracking URI is set by
the calls that need it (:mod:`~stockout_sk.registry.tracking`).
"""

from stockout_sk.registry.lifecycle import (
    NoPreviousProductionError,
    PromotionResult,
    RegistryView,
    RollbackResult,
    VersionInfo,
    promote,
    rollback,
    show,
)
from stockout_sk.registry.loading import (
    MODEL_FORMAT,
    UnsafeModelError,
    check_trusted,
    load_pipeline,
    model_file,
)
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
from stockout_sk.registry.state import (
    NoProductionModelError,
    get_serving_mode,
    production_version,
    set_serving_mode,
)
from stockout_sk.registry.tracking import (
    TrackingInfo,
    configure_tracking,
    resolve_tracking_uri,
    run_link,
)
from stockout_sk.registry.training_run import (
    HOLDOUT_PREDICTIONS_ARTIFACT,
    LoggedTraining,
    log_durations,
    log_training,
)

__all__ = [
    "HOLDOUT_PREDICTIONS_ARTIFACT",
    "MODEL_ARTIFACT",
    "MODEL_FORMAT",
    "MODEL_REQUIREMENTS",
    "MOST_FLAGGED",
    "TRUSTED_TYPES",
    "TRUSTED_TYPE_PREFIXES",
    "LoggedTraining",
    "NoPreviousProductionError",
    "NoProductionModelError",
    "ProductionModel",
    "PromotionDecision",
    "PromotionResult",
    "RegistryView",
    "RollbackResult",
    "TrackingInfo",
    "UnsafeModelError",
    "VersionInfo",
    "check_trusted",
    "configure_tracking",
    "decide_promotion",
    "degenerate_threshold",
    "get_serving_mode",
    "input_example",
    "load_pipeline",
    "load_production",
    "log_durations",
    "log_training",
    "model_file",
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
