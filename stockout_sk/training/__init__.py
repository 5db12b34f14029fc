"""Train and evaluate: the steps the CLI, the Prefect flow and the backtest compose.

Each function is one step with plain inputs and outputs so a flow can run it as a task:
:func:`prepare` (labelled table, windows sized from the history, time split) →
:func:`fit_model` (threshold chosen on purged rolling-origin folds) → :func:`evaluate_fitted`
(the holdout) → :func:`refit_on_all` (what is deployed: the same settings on every matured row).
:func:`train_and_evaluate` chains them for the CLI. Nothing here touches a registry.

* :mod:`.prepare` — :class:`Prepared`, :func:`prepare`;
* :mod:`.fitted` — :class:`FittedModel` and the rows it was fitted on, :func:`split_xy`;
* :mod:`.fit` — :func:`fit_model`, :func:`refit_on_all`, :func:`sampling_pinned`;
* :mod:`.morning` — :func:`morning_threshold`: the default cut, chosen on the first morning list
  a model scores;
* :mod:`.evaluation` — :class:`TrainingResult`, :func:`evaluate_fitted`,
  :func:`train_and_evaluate`.
"""

from stockout_sk.training.evaluation import (
    TrainingResult,
    evaluate_fitted,
    model_velocity,
    train_and_evaluate,
)
from stockout_sk.training.fit import (
    fit_model,
    fold_method,
    refit_on_all,
    sampling_pinned,
    threshold_from_folds,
)
from stockout_sk.training.fitted import FittedModel, fit_rows, split_xy
from stockout_sk.training.morning import EXPECTED, morning_rows, morning_threshold
from stockout_sk.training.prepare import Prepared, prepare, split_dataset, thin_asof_days

__all__ = [
    "EXPECTED",
    "FittedModel",
    "Prepared",
    "TrainingResult",
    "evaluate_fitted",
    "fit_model",
    "fit_rows",
    "fold_method",
    "model_velocity",
    "morning_rows",
    "morning_threshold",
    "prepare",
    "refit_on_all",
    "sampling_pinned",
    "split_dataset",
    "split_xy",
    "thin_asof_days",
    "threshold_from_folds",
    "train_and_evaluate",
]
