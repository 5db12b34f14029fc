"""The model's named features, written once: names, planner labels and risk directions.

Every named column of the model matrix is one :class:`Feature` here — the raw quantities, the
calendar columns and the history aggregates (whose names follow the trailing ``windows``: the
shortest window ``{short}``, the longest ``{long}``, each window ``{w}``). From this table come:

* :func:`history_feature_names` — the columns ``HistoryFeatures`` appends, in order;
* :func:`risk_directions` — the monotone constraints (``-1``: more of it can only lower the risk,
  ``+1``: can only raise it), which ``build_pipeline`` lines up with the matrix;
* :func:`feature_label` — the words a planner reads in the morning list and ``?explain=true``.

The hashed ID columns (``hash_0`` …) are summed into one entry, :data:`ID_HASHES`, whenever they
are shown to a person: one hashed column mixes several IDs and crosses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from stockout_sk.contract import CURRENT_QUANTITY, RESERVED_QUANTITY, SAFETY_STOCK_LEVEL

__all__ = [
    "CALENDAR_FEATURES",
    "ID_HASHES",
    "MONITORED_FEATURES",
    "Feature",
    "feature_label",
    "history_feature_names",
    "risk_directions",
]

#: Label of the summed contribution of every hashed ID column (``hash_*``).
ID_HASHES = "ID hashes"
#: Prefix of the hashed columns in the model matrix.
HASH_PREFIX = "hash_"


@dataclass(frozen=True)
class Feature:
    """One named model column.

    Attributes
    ----------
    name : str
        The column name, or a template with ``{w}`` (one column per window), ``{short}`` or
        ``{long}`` (the shortest / longest window).
    label : str
        What a planner reads; the same placeholders.
    risk : {-1, 0, 1}
        ``-1``: all else equal, more of it can only lower the stock-out risk; ``+1``: can only
        raise it; ``0``: no constraint.
    """

    name: str
    label: str
    risk: int = 0


RAW_QUANTITIES: tuple[Feature, ...] = (
    Feature(CURRENT_QUANTITY, "current quantity", -1),
    Feature(RESERVED_QUANTITY, "reserved quantity", 1),
    Feature(SAFETY_STOCK_LEVEL, "safety stock level", 1),
)

CALENDAR: tuple[Feature, ...] = (
    Feature("day_of_week", "day of week"),
    Feature("day_of_month", "day of month"),
    Feature("month", "month"),
    Feature("day_of_year", "day of year"),
    Feature("is_weekend", "weekend"),
    Feature("days_to_month_end", "days to month end"),
)
#: The columns ``CalendarFeatures`` appends, in order.
CALENDAR_FEATURES: tuple[str, ...] = tuple(f.name for f in CALENDAR)

#: Per trailing window, in this order for each window.
WINDOWED: tuple[Feature, ...] = (
    Feature("inflow_{w}d", "inflow, last {w} days"),
    Feature("outflow_{w}d", "outflow, last {w} days"),
    Feature("net_inflow_{w}d", "net inflow, last {w} days"),
    Feature("sold_{w}d", "units sold, last {w} days"),
)

#: After the windowed columns, in this order. Every column that depends on the stock on hand has
#: a direction, so constraining them all makes the model monotone in ``CurrentQuantity``.
HISTORY: tuple[Feature, ...] = (
    Feature("velocity", "daily sales (long window)"),
    Feature("velocity_short", "daily sales (short window)"),
    Feature("available", "available (current − reserved)", -1),
    Feature("headroom", "headroom over safety stock", -1),
    Feature("headroom_ratio", "headroom / safety stock", -1),
    Feature("days_of_cover", "days of cover", -1),
    Feature("projected_headroom", "projected headroom at the horizon", -1),
    Feature("projected_headroom_ratio", "projected headroom / safety stock", -1),
    Feature("days_since_inflow", "days since last inflow"),
    Feature("inflow_days_{long}d", "days with inflow, last {long} days"),
    Feature("inflow_gap", "usual days between inflows"),
    Feature("inflow_due_ratio", "days since inflow / usual gap"),
    Feature("min_headroom_ratio_{short}d", "lowest headroom / safety stock, last {short} days", -1),
    Feature("min_headroom_ratio_{long}d", "lowest headroom / safety stock, last {long} days", -1),
    Feature("days_below_safety_{short}d", "days below safety stock, last {short} days", 1),
    Feature("days_below_safety_{long}d", "days below safety stock, last {long} days", 1),
    Feature("branch_inflow_ratio", "branch_inflow_ratio"),
    Feature("chain_inflow_ratio", "chain_inflow_ratio"),
    Feature("item_sales_ratio", "item_sales_ratio"),
    Feature("FromBranchID", "FromBranchID"),
    Feature("ToBranchID", "ToBranchID"),
)

#: After the history columns when ``HistoryFeatures(censored_demand=True)``, in this order: what
#: the stock-outs of the last weeks hid from the sales (``features._history_demand``). Each is
#: monotone in the stock on hand, so each has a direction.
CENSORED: tuple[Feature, ...] = (
    Feature("out_of_stock_share_{short}d", "share of the last {short} days out of stock", 1),
    Feature("out_of_stock_share_{long}d", "share of the last {long} days out of stock", 1),
    Feature("instock_velocity", "daily sales on days with stock (long window)", 1),
    Feature("lost_sales_{long}d", "sales lost to stock-outs, last {long} days (estimate)", 1),
    Feature("demand_velocity", "daily demand, lost sales included (long window)", 1),
    Feature(
        "demand_projected_headroom_ratio",
        "projected headroom at the horizon at that demand / safety stock",
        -1,
    ),
)

#: Model features monitoring compares with the training reference: the ones a shift in sales or
#: replenishment behaviour moves first.
MONITORED_FEATURES: tuple[str, ...] = (
    "velocity",
    "days_of_cover",
    "headroom_ratio",
    "projected_headroom_ratio",
    "days_since_inflow",
)


def _windows(windows: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(w) for w in windows)


def _expand(feature: Feature, windows: tuple[int, ...]) -> list[tuple[str, str, int]]:
    """``(name, label, risk)`` of the column(s) one feature stands for."""
    short, long = min(windows), max(windows)
    if "{w}" in feature.name:
        return [
            (feature.name.format(w=w), feature.label.format(w=w), feature.risk) for w in windows
        ]
    return [
        (
            feature.name.format(short=short, long=long),
            feature.label.format(short=short, long=long),
            feature.risk,
        )
    ]


def history_feature_names(windows: Sequence[int], *, censored_demand: bool = False) -> list[str]:
    """The columns ``HistoryFeatures`` appends to its input, in order."""
    windows = _windows(windows)
    names = [feature.name.format(w=w) for w in windows for feature in WINDOWED]
    history = (*HISTORY, *CENSORED) if censored_demand else HISTORY
    names += [name for feature in history for name, _, _ in _expand(feature, windows)]
    return names


def risk_directions(windows: Sequence[int], *, censored_demand: bool = False) -> dict[str, int]:
    """``{column: ±1}`` for every constrained column (raw quantities and history features)."""
    windows = _windows(windows)
    history = (*HISTORY, *CENSORED) if censored_demand else HISTORY
    return {
        name: risk
        for feature in (*RAW_QUANTITIES, *WINDOWED, *history)
        for name, _, risk in _expand(feature, windows)
        if risk
    }


@lru_cache(maxsize=1)
def _label_patterns() -> tuple[dict[str, str], list[tuple[re.Pattern[str], str]]]:
    """Fixed names → label, and window-templated names → (pattern, label template)."""
    fixed = {f.name: f.label for f in (*RAW_QUANTITIES, *CALENDAR)}
    fixed[ID_HASHES] = "branch / item identity"
    patterns = []
    for feature in (*WINDOWED, *HISTORY, *CENSORED):
        placeholder = next((p for p in ("{w}", "{short}", "{long}") if p in feature.name), None)
        if placeholder is None:
            fixed[feature.name] = feature.label
            continue
        head, tail = feature.name.split(placeholder)
        pattern = re.compile(f"^{re.escape(head)}(\\d+){re.escape(tail)}$")
        patterns.append((pattern, feature.label.replace(placeholder, "{}")))
    return fixed, patterns


def feature_label(name: str) -> str:
    """A planner's words for a model column (the name itself when there are none)."""
    fixed, patterns = _label_patterns()
    if name in fixed:
        return fixed[name]
    for pattern, text in patterns:
        match = pattern.match(name)
        if match:
            return text.format(match.group(1))
    return name
