"""The time windows of a training run, sized from the history there is.

A run needs, from the latest as-of day backwards: the **holdout** (scored once, never used to
choose anything), a **purge** gap of ``horizon`` days, the **validation folds** the decision
threshold is chosen on (``folds`` windows of ``validation_days`` each, the earliest of them
purged from its own fit by another ``horizon`` days) and at least ``min_train_days`` as-of days
for the earliest fold to fit on (see ``docs/DESIGN.md``, "Training and evaluation").

On a long history every window has its full size (:data:`FULL_SIZE`). A shorter export shrinks
them in proportion, never below :data:`FLOOR` and never shortening a purge below the horizon, so
that any export of eight weeks trains with the defaults; below the floor
:class:`NotEnoughHistoryError` says how many days there are, how many are needed, and which
options change that. A size the user sets (``--holdout-days``, ``--validation-days``) is kept as
given. :func:`check_activity` refuses a holdout or fold that lies in a stretch without a single
flow, where every label is trivially "nothing happened".

Pure functions of day counts and dates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.params import check_int

__all__ = [
    "FLOOR",
    "FULL_SIZE",
    "InactiveWindowError",
    "NotEnoughHistoryError",
    "WindowPlan",
    "check_activity",
    "plan_windows",
]

#: Window sizes (as-of days) on a long history, and the most threshold folds.
FULL_SIZE: Mapping[str, int] = {
    "holdout_days": 21,
    "validation_days": 14,
    "folds": 3,
    "min_train_days": 28,
}
#: The least a shrunk window may have: a week to score, a week per fold, two weeks to fit on.
FLOOR: Mapping[str, int] = {
    "holdout_days": 7,
    "validation_days": 7,
    "folds": 1,
    "min_train_days": 14,
}
#: The options a user can set, by window (named in messages).
OPTIONS: Mapping[str, str] = {
    "holdout_days": "--holdout-days / STOCKOUT_HOLDOUT_DAYS",
    "validation_days": "--validation-days / STOCKOUT_VALIDATION_DAYS",
}


class NotEnoughHistoryError(ValueError):
    """The export is too short for even the smallest windows (the message says what to change)."""


class InactiveWindowError(ValueError):
    """A holdout or validation window lies in a stretch of the history with no flow at all."""


@dataclass(frozen=True)
class WindowPlan:
    """The windows a training run uses, and why.

    Attributes
    ----------
    asof_days : int
        Distinct as-of days with a matured label (the export's days minus the horizon).
    horizon : int
        Label horizon N.
    holdout_days : int
        Latest as-of days held out (0: no holdout, e.g. a refit on every matured row).
    purge_days : int
        Gap between fit and scored as-of days, before the holdout and before each fold
        (= ``horizon``, so no label window of a fitted row reaches a scored day).
    validation_days : int
        As-of days of each threshold fold.
    folds : int
        Rolling-origin folds the threshold is chosen on (the latest ``folds × validation_days``
        training as-of days).
    min_train_days : int
        Distinct as-of days the earliest fold fits on, at least.
    scale : float
        ``1.0`` at full size; below, the share of the full-size budget the history allowed.
    chosen : dict of str to str
        How each size was decided: ``"full size"``, ``"scaled"``, ``"floor"`` or ``"set"``.
    reason : str
        One sentence for the log and the run: what was chosen and why.
    """

    asof_days: int
    horizon: int
    holdout_days: int
    purge_days: int
    validation_days: int
    folds: int
    min_train_days: int
    scale: float
    chosen: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    @property
    def training_side_days(self) -> int:
        """As-of days the training side must hold: the folds, their purge and the fit span."""
        return self.min_train_days + self.purge_days + self.folds * self.validation_days

    @property
    def needed_days(self) -> int:
        """As-of days the plan needs in all (the holdout and its purge included)."""
        purge = self.purge_days if self.holdout_days else 0
        return self.holdout_days + purge + self.training_side_days

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, as written in ``evaluate --json`` and the run's dataset report."""
        return {**asdict(self), "needed_days": self.needed_days}

    def params(self) -> dict[str, str]:
        """The plan as MLflow parameters (``window_<name>``)."""
        keys = ("holdout_days", "purge_days", "validation_days", "folds", "min_train_days")
        out = {f"window_{key}": str(getattr(self, key)) for key in keys}
        out["window_scale"] = f"{self.scale:.3f}"
        return out


def plan_windows(
    asof_days: int,
    *,
    horizon: int,
    holdout_days: int | None = None,
    validation_days: int | None = None,
    folds: int = FULL_SIZE["folds"],
    with_holdout: bool = True,
) -> WindowPlan:
    """Size the holdout, the purge gaps, the threshold folds and the training span.

    With ``B = asof_days − purges`` the as-of days left once the purge gaps (each ``horizon``
    days) are set aside, and ``F`` the full-size budget (holdout + ``folds`` × validation +
    minimum training, :data:`FULL_SIZE`): when ``B ≥ F`` every window has its full size;
    otherwise each is scaled by ``B / F`` (rounded down) and raised to its :data:`FLOOR`, and
    then as many folds are kept (up to ``folds``) as leave the minimum training span. Sizes given
    by the caller are kept as they are.

    Parameters
    ----------
    asof_days : int
        Distinct as-of days of the labelled table (matured labels only).
    horizon : int
        Label horizon N in days; every purge gap is exactly N days.
    holdout_days, validation_days : int, optional
        Fixed sizes (``--holdout-days``, ``--validation-days``); ``None`` sizes them from the
        history.
    folds : int, default 3
        Most rolling-origin folds the threshold is chosen on.
    with_holdout : bool, default True
        ``False`` plans the training side only (no holdout, no purge before it): the refit on
        every matured row, or a fit whose rows are already the training side.

    Returns
    -------
    WindowPlan

    Raises
    ------
    NotEnoughHistoryError
        Even the floor does not fit: the message gives the days there are, the days needed and
        the options that change it.

    Examples
    --------
    >>> plan_windows(203, horizon=7).holdout_days  # a long history: full size
    21
    >>> p = plan_windows(49, horizon=7)  # an export of 8 weeks: 56 days − 7 unmatured
    >>> p.holdout_days, p.purge_days, p.folds, p.validation_days, p.min_train_days
    (8, 7, 1, 7, 14)
    """
    caller = "plan_windows"
    asof_days = check_int(asof_days, "asof_days", minimum=0, caller=caller)
    horizon = check_int(horizon, "horizon", caller=caller)
    folds = check_int(folds, "folds", caller=caller)
    fixed = {"holdout_days": holdout_days, "validation_days": validation_days}
    for name, value in fixed.items():
        if value is not None:
            check_int(value, name, caller=caller)
    if not with_holdout:
        fixed["holdout_days"] = 0

    purges = horizon * (2 if with_holdout else 1)
    budget = asof_days - purges
    full = {
        name: FULL_SIZE[name] if fixed.get(name) is None else fixed[name]
        for name in ("holdout_days", "validation_days", "min_train_days")
    }
    full_budget = full["holdout_days"] + folds * full["validation_days"] + full["min_train_days"]
    scale = 1.0 if budget >= full_budget else max(budget, 0) / full_budget

    sizes: dict[str, int] = {}
    chosen: dict[str, str] = {}
    for name in ("holdout_days", "validation_days", "min_train_days"):
        if fixed.get(name) is not None:
            sizes[name], chosen[name] = fixed[name], "set"
        elif scale >= 1.0:
            sizes[name], chosen[name] = FULL_SIZE[name], "full size"
        else:
            scaled = math.floor(FULL_SIZE[name] * scale)
            sizes[name] = max(FLOOR[name], scaled)
            chosen[name] = "floor" if scaled <= FLOOR[name] else "scaled"

    def folds_that_fit() -> int:
        room = budget - sizes["holdout_days"] - sizes["min_train_days"]
        return min(folds, room // sizes["validation_days"]) if room > 0 else 0

    n_folds = folds_that_fit()
    if n_folds < 1:
        # Everything the history sizes goes to its floor before giving up.
        for name in ("holdout_days", "validation_days", "min_train_days"):
            if chosen[name] != "set":
                sizes[name], chosen[name] = FLOOR[name], "floor"
        n_folds = folds_that_fit()
    if n_folds < 1:
        raise NotEnoughHistoryError(
            _too_short(asof_days, horizon, sizes, chosen, purges, with_holdout=with_holdout)
        )
    chosen["folds"] = "full size" if n_folds == folds else "fewer"
    plan = WindowPlan(
        asof_days=asof_days,
        horizon=horizon,
        holdout_days=sizes["holdout_days"],
        purge_days=horizon,
        validation_days=sizes["validation_days"],
        folds=n_folds,
        min_train_days=sizes["min_train_days"],
        scale=round(scale, 4),
        chosen=chosen,
    )
    return _with_reason(plan, full_budget + purges)


def _with_reason(plan: WindowPlan, full_needed: int) -> WindowPlan:
    parts = []
    if plan.holdout_days:
        parts.append(f"holdout {plan.holdout_days} ({plan.chosen['holdout_days']})")
    parts.append(f"purge {plan.purge_days} (= horizon)")
    parts.append(
        f"{plan.folds} threshold fold(s) × {plan.validation_days} days "
        f"({plan.chosen['validation_days']})"
    )
    parts.append(f"≥ {plan.min_train_days} training days ({plan.chosen['min_train_days']})")
    if plan.scale >= 1.0:
        why = (
            f"{plan.asof_days} as-of days with a matured label ≥ {full_needed} needed at full size"
        )
    else:
        why = (
            f"{plan.asof_days} as-of days with a matured label < {full_needed} needed at full "
            f"size: windows shrunk to {plan.scale:.0%} (floors: holdout {FLOOR['holdout_days']}, "
            f"validation {FLOOR['validation_days']}, training {FLOOR['min_train_days']})"
        )
    reason = f"windows: {', '.join(parts)}; {why}"
    return WindowPlan(**{**asdict(plan), "reason": reason})


def _too_short(
    asof_days: int,
    horizon: int,
    sizes: Mapping[str, int],
    chosen: Mapping[str, str],
    purges: int,
    *,
    with_holdout: bool,
) -> str:
    needed = sizes["holdout_days"] + sizes["validation_days"] + sizes["min_train_days"] + purges
    pieces = []
    if with_holdout:
        pieces.append(f"holdout {sizes['holdout_days']} + purge {horizon}")
    pieces.append(
        f"validation {sizes['validation_days']} + purge {horizon} + training "
        f"{sizes['min_train_days']}"
    )
    set_options = [
        OPTIONS[name] for name, how in chosen.items() if how == "set" and name in OPTIONS
    ]
    options = (
        f"lower {' or '.join(set_options)} (set now)"
        if set_options
        else (
            f"set --holdout-days and --validation-days below their floors of "
            f"{FLOOR['holdout_days']} days (e.g. --holdout-days 5 --validation-days 5)"
        )
    )
    return (
        f"not enough history to train: the labelled table has {asof_days} as-of day(s) with a "
        f"matured label (an export of {asof_days + horizon} days minus the horizon of {horizon}), "
        f"and training needs at least {needed} ({' + '.join(pieces)}), i.e. an export of at least "
        f"{needed + horizon} days. Use a longer export, {options}, or a shorter --horizon "
        f"({horizon})."
    )


def check_activity(
    window: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    active_days: pd.DatetimeIndex | np.ndarray,
    *,
    history: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> int:
    """Refuse a window of as-of days in which no flow (sale or movement) happened at all.

    A window without a single flow is a gap in the exports — often a mistyped year stretching
    the history over empty years — and every label in it is trivially "nothing moved": scoring
    or choosing a threshold there measures nothing.

    Parameters
    ----------
    window : str
        What the window is, for the message (``"holdout"``, ``"threshold fold 2"``).
    start, end : pandas.Timestamp
        First and last as-of day of the window.
    active_days : DatetimeIndex or array of datetime64
        Every day with at least one flow (``ChainData.flows["Date"]``; duplicates are fine).
    history : (Timestamp, Timestamp), optional
        The history's first and last day, for the message.

    Returns
    -------
    int
        Days of the window with some flow (≥ 1).

    Raises
    ------
    InactiveWindowError
        No flow at all between ``start`` and ``end``.
    """
    days = pd.DatetimeIndex(pd.unique(np.asarray(active_days, dtype="datetime64[ns]")))
    days = days.normalize()
    inside = int(((days >= start) & (days <= end)).sum())
    if inside:
        return inside
    before, after = days[days < start], days[days > end]
    last = f"the last flow before it is on {before.max().date()}" if len(before) else "none before"
    nxt = f"the next on {after.min().date()}" if len(after) else "none after"
    span = f" of the history {history[0].date()}..{history[1].date()}" if history else ""
    raise InactiveWindowError(
        f"the {window} {start.date()}..{end.date()} has no flow at all (no sale, no movement): "
        f"it lies in an empty stretch{span} ({last}, {nxt}), where every label is trivially "
        "'nothing moved'. Check the dates of the exports (a mistyped year stretches the history "
        "over empty days; see the rejects and the validation report), or export a history "
        "without the gap."
    )
