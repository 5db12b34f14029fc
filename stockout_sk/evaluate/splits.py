"""The purged time split: holdout (or validation window) by latest as-of days, never random.

Training as-of days end at least ``horizon`` days before the first held-out day, so that no
training label window ``[t+1, t+N]`` reaches a held-out as-of day (the *purge gap*; see
``docs/DESIGN.md``, "Training and evaluation"). Pure functions of a date column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stockout_sk.params import check_int

__all__ = ["TimeSplit", "rolling_folds", "time_split", "validation_split"]


@dataclass(frozen=True, eq=False)
class TimeSplit:
    """Row masks and boundaries of a purged time split.

    Rows whose as-of day falls in the purge gap (strictly between ``cutoff`` and ``holdout_start``)
    are in neither mask: their label windows would overlap the held-out days.

    Attributes
    ----------
    train, holdout : numpy.ndarray of bool
        Positional row masks, aligned with the ``dates`` given to the split. For
        :func:`validation_split`, ``holdout`` is the validation window.
    train_start, train_end : pandas.Timestamp
        First and last training as-of day present in the data.
    holdout_start, holdout_end : pandas.Timestamp
        First and last held-out as-of day.
    cutoff : pandas.Timestamp
        Latest day a training as-of day may have: ``holdout_start − horizon − 1 day``.
    horizon : int
        Label horizon N in days that the purge gap protects.
    n_train_days, n_holdout_days : int
        Distinct as-of days on each side.
    """

    train: np.ndarray
    holdout: np.ndarray
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    holdout_start: pd.Timestamp
    holdout_end: pd.Timestamp
    cutoff: pd.Timestamp
    horizon: int
    n_train_days: int
    n_holdout_days: int

    @property
    def purged(self) -> np.ndarray:
        """Mask of rows dropped because their as-of day lies in the purge gap."""
        return ~(self.train | self.holdout)

    @property
    def gap_days(self) -> int:
        """Calendar days strictly between the last training and the first held-out as-of day."""
        return int((self.holdout_start - self.train_end).days) - 1

    def rows(self) -> dict[str, int]:
        """Row counts in the shape :func:`evaluate_holdout` takes as ``rows``."""
        return {"train": int(self.train.sum()), "holdout": int(self.holdout.sum())}


def time_split(
    dates: pd.Series | ArrayLike,
    *,
    horizon: int,
    holdout_days: int = 21,
    min_train_days: int = 28,
) -> TimeSplit:
    """Split rows by as-of day into training and a later holdout, with a purge gap of ``horizon``.

    The holdout is the latest ``holdout_days`` *distinct* as-of days present. Training as-of days
    ``t`` satisfy ``t <= first_holdout_day − horizon − 1``, so every training label window
    ``[t+1, t+horizon]`` ends before the first held-out as-of day. Never random.

    Parameters
    ----------
    dates : pandas.Series of datetime64
        The ``Date`` column of the training table (one entry per row). A time of day is ignored:
        a timestamp belongs to its date.
    horizon : int
        Label horizon N in days (>= 1); also the minimum purge gap.
    holdout_days : int, default 21
        Number of distinct latest as-of days held out.
    min_train_days : int, default 28
        Minimum number of distinct training as-of days; fewer is an error.

    Returns
    -------
    TimeSplit
        Boolean row masks ``train`` and ``holdout`` (positional) and the boundary dates.

    Raises
    ------
    TypeError
        If ``dates`` is not datetime-like.
    ValueError
        If a date is missing, or there are not enough distinct days for the holdout, the purge gap
        and ``min_train_days`` training days (the message says how many are needed and found).

    Examples
    --------
    >>> d = pd.Series(pd.date_range("2024-01-01", periods=40, freq="D"))
    >>> s = time_split(d, horizon=7, holdout_days=5, min_train_days=10)
    >>> str(s.train_end.date()), str(s.holdout_start.date()), s.gap_days
    ('2024-01-28', '2024-02-05', 7)
    """
    return _purged_split(
        dates,
        horizon=horizon,
        window_days=holdout_days,
        min_train_days=min_train_days,
        caller="time_split",
        window_name="holdout",
    )


def validation_split(
    dates: pd.Series | ArrayLike,
    *,
    horizon: int,
    validation_days: int,
    min_train_days: int = 28,
) -> TimeSplit:
    """Carve a validation window off the end of the *training* rows, with the same purge rule.

    Call it on the training side only (``dates[split.train]``), fit on ``.train`` and choose the
    threshold on ``.holdout`` (the validation window) with :func:`choose_threshold`; the masks are
    positional in the dates you pass.

    Parameters
    ----------
    dates : pandas.Series of datetime64
        As-of days of the training rows.
    horizon : int
        Label horizon N in days; the purge gap between fit and validation as-of days.
    validation_days : int
        Number of distinct latest as-of days used for validation.
    min_train_days : int, default 28
        Minimum number of distinct as-of days left to fit on.

    Returns
    -------
    TimeSplit
        ``train`` is the fitting part, ``holdout`` the validation window.

    Raises
    ------
    TypeError, ValueError
        As :func:`time_split`.
    """
    return _purged_split(
        dates,
        horizon=horizon,
        window_days=validation_days,
        min_train_days=min_train_days,
        caller="validation_split",
        window_name="validation",
    )


def rolling_folds(
    dates: pd.Series | ArrayLike,
    *,
    horizon: int,
    validation_days: int,
    folds: int,
    min_train_days: int = 28,
) -> list[TimeSplit]:
    """Rolling-origin folds on the training side: ``folds`` purged validation windows in a row.

    The latest ``folds × validation_days`` distinct as-of days are cut into consecutive
    validation windows; fold *k* fits on the as-of days at least ``horizon + 1`` days before its
    own window (so a later fold fits on the earlier folds' windows) and is scored on its window.
    The earliest fold must keep ``min_train_days`` days to fit on. With ``folds=1`` this is
    :func:`validation_split`.

    Parameters
    ----------
    dates : pandas.Series of datetime64
        As-of days of the training rows (never the holdout).
    horizon : int
        Label horizon N: the purge gap before each window.
    validation_days : int
        Distinct as-of days per window.
    folds : int
        Number of windows.
    min_train_days : int, default 28
        Least distinct as-of days the earliest fold fits on.

    Returns
    -------
    list of TimeSplit
        Oldest fold first; positional masks in ``dates`` (``holdout`` is the fold's window).

    Raises
    ------
    TypeError, ValueError
        As :func:`time_split`; the message names the fold that does not fit.

    Examples
    --------
    >>> d = pd.Series(pd.date_range("2024-01-01", periods=60, freq="D"))
    >>> [(str(f.train_end.date()), str(f.holdout_start.date())) for f in rolling_folds(
    ...     d, horizon=7, validation_days=7, folds=3, min_train_days=14)]
    [('2024-02-01', '2024-02-09'), ('2024-02-08', '2024-02-16'), ('2024-02-15', '2024-02-23')]
    """
    folds = check_int(folds, "folds", caller="rolling_folds")
    validation_days = check_int(validation_days, "validation_days", caller="rolling_folds")
    return [
        _purged_split(
            dates,
            horizon=horizon,
            window_days=validation_days,
            min_train_days=min_train_days,
            caller="rolling_folds",
            window_name=f"validation fold {index + 1} of {folds}",
            skip_days=(folds - 1 - index) * validation_days,
        )
        for index in range(folds)
    ]


def _purged_split(
    dates: pd.Series | ArrayLike,
    *,
    horizon: int,
    window_days: int,
    min_train_days: int,
    caller: str,
    window_name: str,
    skip_days: int = 0,
) -> TimeSplit:
    horizon = check_int(horizon, "horizon", caller=caller)
    option = window_name.split(" ")[0]
    window_days = check_int(window_days, f"{option}_days", caller=caller)
    min_train_days = check_int(min_train_days, "min_train_days", caller=caller)

    days = _as_days(dates, caller)
    distinct = pd.DatetimeIndex(days.drop_duplicates()).sort_values()
    n_days = len(distinct) - skip_days
    # Consecutive days consumed by the window, the purge gap and the minimum training span.
    needed = window_days + horizon + min_train_days + skip_days
    span = (
        f"{n_days} distinct as-of day(s) ({distinct[0].date()} .. {distinct[-1].date()})"
        if n_days
        else "no as-of days"
    )
    fix = (
        f"Use a longer history, or lower {option}_days={window_days}, "
        f"min_train_days={min_train_days} or horizon={horizon}."
    )
    later = f" + {skip_days} later validation" if skip_days else ""
    if n_days < window_days:
        raise ValueError(
            f"{caller}: not enough days: the {window_name} needs {window_days} distinct as-of days "
            f"and at least {needed} consecutive days overall ({window_days} {window_name}{later} "
            f"+ {horizon} purge + {min_train_days} training); the Date column has {span}. {fix}"
        )

    window_start = distinct[n_days - window_days]
    window_end = distinct[n_days - 1]
    cutoff = window_start - pd.Timedelta(days=horizon + 1)
    train_distinct = distinct[distinct <= cutoff]
    if len(train_distinct) < min_train_days:
        raise ValueError(
            f"{caller}: not enough days: training needs {min_train_days} distinct as-of days on "
            f"or before {cutoff.date()} (first {window_name} day {window_start.date()} − horizon "
            f"{horizon} − 1), i.e. at least {needed} consecutive days overall ({window_days} "
            f"{window_name}{later} + {horizon} purge + {min_train_days} training); the Date "
            f"column has {span}, of which {len(train_distinct)} are usable for training. {fix}"
        )

    return TimeSplit(
        train=(days <= cutoff).to_numpy(dtype=bool),
        holdout=((days >= window_start) & (days <= window_end)).to_numpy(dtype=bool),
        train_start=train_distinct[0],
        train_end=train_distinct[-1],
        holdout_start=window_start,
        holdout_end=window_end,
        cutoff=cutoff,
        horizon=horizon,
        n_train_days=len(train_distinct),
        n_holdout_days=window_days,
    )


def _as_days(dates: pd.Series | ArrayLike, caller: str) -> pd.Series:
    """Dates as a positional Series of midnights; reject non-datetimes and missing values."""
    series = dates if isinstance(dates, pd.Series) else pd.Series(dates)
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        raise TypeError(
            f"{caller}: dates must be datetime64 (the training table's Date column), got dtype "
            f"{series.dtype!s}; convert it first, e.g. with pd.to_datetime(...)."
        )
    missing = int(series.isna().sum())
    if missing:
        first = int(np.flatnonzero(series.isna().to_numpy())[0])
        raise ValueError(
            f"{caller}: {missing} missing date(s) (NaT), first at position {first}; every "
            "training row needs its as-of Date. Drop or repair those rows before splitting."
        )
    # Positional index so masks line up with the caller's rows whatever their index was.
    return series.dt.normalize().reset_index(drop=True)
