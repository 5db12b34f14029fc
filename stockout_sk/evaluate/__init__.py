"""Honest, time-based evaluation (``docs/DESIGN.md``, "Training and evaluation").

* :mod:`.splits` — the split is by time, never random, with a purge gap of ``horizon`` days
  between the last training and the first held-out as-of day;
* :mod:`.metrics` — the threshold is chosen on a training-side validation window, never on the
  holdout, and metrics undefined on the rows are ``None``;
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
)
from stockout_sk.evaluate.splits import TimeSplit, time_split, validation_split

__all__ = [
    "DEFAULT_THRESHOLD_SOURCE",
    "FALLBACK_THRESHOLD",
    "METRIC_KEYS",
    "BaselineScores",
    "EvaluationReport",
    "EvaluationWarning",
    "TimeSplit",
    "baseline_shortfalls",
    "choose_threshold",
    "classification_metrics",
    "evaluate_holdout",
    "rule_baseline",
    "rule_decision",
    "time_split",
    "validation_split",
    "velocity_baseline",
]
