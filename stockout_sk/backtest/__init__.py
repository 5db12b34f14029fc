"""Rolling-origin backtest: how the product would have done in the days after each export.

:func:`run_backtest` takes a chain and, for each of several origins (an export ending that
day), trains exactly as ``stockout-sk train`` would have on that export, then scores the
following days with the deployed model, a plain LightGBM on a dozen point-in-time features
(:mod:`.plain`) and both baselines, all on the same rows. No Prefect, no registry.

* :mod:`.plain` — the plain LightGBM and its features;
* :mod:`.fold` — origins, one fold (:func:`run_fold`);
* :mod:`.report` — :class:`BacktestReport`: the table, the JSON summary, the plot;
* :mod:`.run` — :func:`run_backtest`.
"""

from __future__ import annotations

from stockout_sk.backtest.fold import (
    MODEL_LABELS,
    MODELS,
    FoldResult,
    chain_until,
    plan_origins,
    run_fold,
)
from stockout_sk.backtest.plain import PLAIN_FEATURES, PlainModel, fit_plain
from stockout_sk.backtest.report import BACKTEST_FILES, BacktestReport, mean_interval
from stockout_sk.backtest.run import DEFAULT_TOP_SHARE, run_backtest

__all__ = [
    "BACKTEST_FILES",
    "DEFAULT_TOP_SHARE",
    "MODELS",
    "MODEL_LABELS",
    "PLAIN_FEATURES",
    "BacktestReport",
    "FoldResult",
    "PlainModel",
    "chain_until",
    "fit_plain",
    "mean_interval",
    "plan_origins",
    "run_backtest",
    "run_fold",
]
