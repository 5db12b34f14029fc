"""Honest, time-based evaluation (``docs/DESIGN.md``, "Training and evaluation").

* :mod:`.windows` — how long the holdout, the purge gaps, the threshold folds and the training
  span are, sized from the history there is; no window in a stretch without flows;
* :mod:`.splits` — the split is by time, never random, with a purge gap of ``horizon`` days
  between the last training and the first held-out as-of day, and the rolling-origin folds;
* :mod:`.metrics` — metrics, undefined ones ``None``, and the F1-maximising cut;
* :mod:`.thresholds` — the threshold is chosen on several purged training-side folds, never on
  the holdout;
* :mod:`.baselines` — the model is reported next to the **rule** and **velocity** baselines on
  the same rows;
* :mod:`.holdout` — the evaluation itself; :mod:`.plots` and :mod:`.report_files` draw and write
  what a person reads after a training run (the only I/O here).
"""

from stockout_sk.evaluate.baselines import (
    BaselineScores,
    baseline_shortfalls,
    rule_baseline,
    rule_decision,
    velocity_baseline,
)
from stockout_sk.evaluate.holdout import (
    DEFAULT_THRESHOLD_SOURCE,
    EvaluationReport,
    evaluate_holdout,
)
from stockout_sk.evaluate.metrics import (
    FALLBACK_THRESHOLD,
    METRIC_KEYS,
    EvaluationWarning,
    choose_threshold,
    classification_metrics,
    recall_at_top,
)
from stockout_sk.evaluate.splits import TimeSplit, rolling_folds, time_split, validation_split
from stockout_sk.evaluate.thresholds import (
    FOLD_METHODS,
    THRESHOLD_METHODS,
    FoldThreshold,
    expected_f1_threshold,
    fold_threshold,
)
from stockout_sk.evaluate.windows import (
    FLOOR,
    FULL_SIZE,
    InactiveWindowError,
    NotEnoughHistoryError,
    WindowPlan,
    check_activity,
    plan_windows,
)

__all__ = [
    "DEFAULT_THRESHOLD_SOURCE",
    "FALLBACK_THRESHOLD",
    "FLOOR",
    "FOLD_METHODS",
    "FULL_SIZE",
    "METRIC_KEYS",
    "THRESHOLD_METHODS",
    "BaselineScores",
    "EvaluationReport",
    "EvaluationWarning",
    "FoldThreshold",
    "InactiveWindowError",
    "NotEnoughHistoryError",
    "TimeSplit",
    "WindowPlan",
    "baseline_shortfalls",
    "check_activity",
    "choose_threshold",
    "classification_metrics",
    "evaluate_holdout",
    "expected_f1_threshold",
    "fold_threshold",
    "plan_windows",
    "recall_at_top",
    "rolling_folds",
    "rule_baseline",
    "rule_decision",
    "time_split",
    "validation_split",
    "velocity_baseline",
]
