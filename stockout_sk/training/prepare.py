"""The labelled table, the windows sized from its history and the purged time split."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import TimeSplit, WindowPlan, check_activity, plan_windows, time_split
from stockout_sk.labels import LabelledDataset, build_dataset

__all__ = ["Prepared", "prepare", "split_dataset"]

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """The labelled table, the windows sized from its history and its purged time split."""

    dataset: LabelledDataset
    split: TimeSplit
    windows: WindowPlan | None = None

    @property
    def train(self) -> pd.DataFrame:
        return self.dataset.frame[np.asarray(self.split.train)]

    @property
    def holdout(self) -> pd.DataFrame:
        return self.dataset.frame[np.asarray(self.split.holdout)]


def prepare(chain, config: ModelConfig) -> Prepared:
    """Build the labelled table, size the windows from its history and split it by time.

    The holdout is the latest as-of days (purge gap N before it); :func:`plan_windows` decides
    how many, and the run logs why. A holdout without a single flow is refused
    (:class:`~stockout_sk.evaluate.InactiveWindowError`).
    """
    return split_dataset(build_dataset(chain, horizon=config.horizon), chain, config)


def split_dataset(dataset: LabelledDataset, chain, config: ModelConfig) -> Prepared:
    """:func:`prepare` on a labelled table already built (a backtest cuts one table per origin).

    Parameters
    ----------
    dataset : LabelledDataset
        Matured rows only.
    chain : ChainData
        Its ``flows`` (the activity check) and history bounds, as the table's export had them.
    config : ModelConfig
    """
    dates = dataset.frame["Date"]
    plan = plan_windows(
        dates.nunique(),
        horizon=config.horizon,
        holdout_days=config.holdout_days,
        validation_days=config.validation_days,
        folds=config.threshold_folds,
    )
    logger.info("%s", plan.reason)
    split = time_split(
        dates,
        horizon=config.horizon,
        holdout_days=plan.holdout_days,
        min_train_days=plan.training_side_days,
    )
    check_activity(
        "holdout",
        split.holdout_start,
        split.holdout_end,
        chain.flows["Date"],
        history=(pd.Timestamp(chain.history_start), pd.Timestamp(chain.history_end)),
    )
    return Prepared(dataset=dataset, split=split, windows=plan)
