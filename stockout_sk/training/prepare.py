"""The labelled table, the windows sized from its history and the purged time split."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockout_sk.config import ModelConfig
from stockout_sk.contract import BRANCH_ID, DATE, ITEM_CODE
from stockout_sk.evaluate import TimeSplit, WindowPlan, check_activity, plan_windows, time_split
from stockout_sk.labels import LabelledDataset, build_dataset
from stockout_sk.params import check_int
from stockout_sk.training.morning import morning_rows

__all__ = ["Prepared", "prepare", "split_dataset", "thin_asof_days"]

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

    @property
    def morning(self) -> pd.DataFrame:
        """The evaluated model's first morning list: the holdout's first day, without labels."""
        return morning_rows(self.holdout)


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


def thin_asof_days(frame: pd.DataFrame, stride: int) -> np.ndarray:
    """Mask of the rows on every ``stride``-th as-of day of their branch×item.

    A key's kept days are those whose day number is congruent to a fixed hash of the key
    modulo ``stride``: the same rows on every run and in every process (a partition of a
    cluster keeps exactly the rows one process keeps), and keys kept on different weekdays.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``BranchID``, ``ItemCode`` and ``Date`` (datetime64).
    stride : int
        1 keeps every row.

    Returns
    -------
    numpy.ndarray of bool
    """
    stride = check_int(stride, "asof_stride", caller="thin_asof_days")
    if stride == 1 or not len(frame):
        return np.ones(len(frame), dtype=bool)
    codes, keys = pd.factorize(
        frame[BRANCH_ID].astype(str) + "\x1f" + frame[ITEM_CODE].astype(str), sort=False
    )
    # pandas' hash_array is a keyed SipHash with a fixed key: stable across processes.
    offset = (pd.util.hash_array(np.asarray(keys, dtype=object)) % np.uint64(stride)).astype(
        np.int64
    )
    day = frame[DATE].to_numpy(dtype="datetime64[D]").astype(np.int64)
    return (day + offset[codes]) % stride == 0
