"""The model's named features, written once: names, planner labels, reasons and risk directions.

Every named column of the model matrix is one :class:`Feature` here — the raw quantities, the
calendar columns and the history aggregates (whose names follow the trailing ``windows``: the
shortest window ``{short}``, the longest ``{long}``, each window ``{w}``). From this table come:

* :func:`history_feature_names` — the columns ``HistoryFeatures`` appends, in order;
* :func:`risk_directions` — the monotone constraints (``-1``: more of it can only lower the risk,
  ``+1``: can only raise it), which ``build_pipeline`` lines up with the matrix;
* :func:`feature_label` — the short name a person reads for a column;
* each feature's :class:`~stockout_sk.features.phrases.Phrase` — a template per direction of its
  push on a row's risk, which :func:`stockout_sk.features.reasons.reason_text` fills with the
  row's value ("only 0 units above safety stock") for the morning list (page and CSV) and
  ``POST /predict?explain=true``.

The hashed ID columns (``hash_0`` …) are summed into one entry, :data:`ID_HASHES`, whenever they
are shown to a person: one hashed column mixes several IDs and crosses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from stockout_sk.contract import CURRENT_QUANTITY, RESERVED_QUANTITY, SAFETY_STOCK_LEVEL
from stockout_sk.features.phrases import (
    Phrase,
    above_safety_phrase,
    below_phrase,
    fewer_phrase,
    lowest_phrase,
    more_phrase,
    ratio_phrase,
    season_phrase,
)

__all__ = [
    "CALENDAR_FEATURES",
    "ID_HASHES",
    "MONITORED_FEATURES",
    "Feature",
    "Phrase",
    "feature_label",
    "find_feature",
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
    phrase : Phrase or None
        How a planner reads its push on the risk; without one the reason reads
        ``"<label>: <value> (raises the risk)"``.
    """

    name: str
    label: str
    risk: int = 0
    phrase: Phrase | None = None


RAW_QUANTITIES: tuple[Feature, ...] = (
    Feature(CURRENT_QUANTITY, "current quantity", -1, fewer_phrase("{only}{v} on hand")),
    Feature(
        RESERVED_QUANTITY, "reserved quantity", 1, more_phrase("{only}{v} reserved for customers")
    ),
    Feature(
        SAFETY_STOCK_LEVEL,
        "safety stock level",
        1,
        Phrase("a safety stock of {v} to keep", "a safety stock of only {v}"),
    ),
)

CALENDAR: tuple[Feature, ...] = (
    Feature("day_of_week", "day of week", 0, season_phrase("on {v}s", "weekday")),
    Feature(
        "day_of_month", "day of month", 0, season_phrase("around day {v} of the month", "count")
    ),
    Feature("month", "month", 0, season_phrase("in {v}", "month")),
    Feature("day_of_year", "day of year", 0, season_phrase("at this time of year", "count")),
    Feature("is_weekend", "weekend", 0, season_phrase("on {v}", "weekend")),
    Feature(
        "days_to_month_end", "days to month end", 0, season_phrase("{v} before month end", "days")
    ),
)
#: The columns ``CalendarFeatures`` appends, in order.
CALENDAR_FEATURES: tuple[str, ...] = tuple(f.name for f in CALENDAR)

#: Per trailing window, in this order for each window.
WINDOWED: tuple[Feature, ...] = (
    Feature(
        "inflow_{w}d",
        "inflow, last {w} days",
        0,
        fewer_phrase("{only}{v} delivered in the last {w} days"),
    ),
    Feature(
        "outflow_{w}d",
        "outflow, last {w} days",
        0,
        more_phrase("{only}{v} sent to other branches in the last {w} days"),
    ),
    Feature(
        "net_inflow_{w}d",
        "net inflow, last {w} days",
        0,
        Phrase(
            "only {v} more arrived than left in the last {w} days",
            "{v} more arrived than left in the last {w} days",
            under="{v} more left (sold or sent) than arrived in the last {w} days",
        ),
    ),
    Feature(
        "sold_{w}d",
        "units sold, last {w} days",
        0,
        more_phrase("{only}{v} sold in the last {w} days"),
    ),
)

#: After the windowed columns, in this order. Every column that depends on the stock on hand has
#: a direction, so constraining them all makes the model monotone in ``CurrentQuantity``.
HISTORY: tuple[Feature, ...] = (
    Feature(
        "velocity",
        "daily sales (long window)",
        0,
        more_phrase("selling {only}{v} over the last {long} days", unit="rate"),
    ),
    Feature(
        "velocity_short",
        "daily sales (short window)",
        0,
        more_phrase("selling {only}{v} over the last {short} days", unit="rate"),
    ),
    Feature(
        "available",
        "available (current − reserved)",
        -1,
        Phrase(
            "only {v} free to sell (on hand minus reserved)",
            "{v} free to sell (on hand minus reserved)",
            under="{v} more reserved than on hand",
        ),
    ),
    Feature("headroom", "headroom over safety stock", -1, above_safety_phrase("units")),
    Feature("headroom_ratio", "headroom / safety stock", -1, above_safety_phrase("percent")),
    Feature(
        "days_of_cover",
        "days of cover",
        -1,
        fewer_phrase("stock covers {only}{v} of sales", "days"),
    ),
    Feature(
        "projected_headroom",
        "projected headroom at the horizon",
        -1,
        above_safety_phrase("units", projected=True),
    ),
    Feature(
        "projected_headroom_ratio",
        "projected headroom / safety stock",
        -1,
        above_safety_phrase("percent", projected=True),
    ),
    Feature(
        "days_since_inflow",
        "days since last inflow",
        0,
        more_phrase("last delivery {only}{v} ago", "days"),
    ),
    Feature(
        "inflow_days_{long}d",
        "days with inflow, last {long} days",
        0,
        fewer_phrase("deliveries on {only}{v} of the last {long} days", "count"),
    ),
    Feature(
        "inflow_gap",
        "usual days between inflows",
        0,
        more_phrase("deliveries usually {only}{v} apart", "days"),
    ),
    Feature(
        "inflow_due_ratio",
        "days since inflow / usual gap",
        0,
        Phrase(
            "{v} of the usual time between deliveries has passed since the last one",
            "only {v} of the usual time between deliveries has passed since the last one",
            over="the next delivery is overdue ({v} of the usual time between deliveries)",
            pivot=1.0,
            unit="percent",
        ),
    ),
    Feature(
        "min_headroom_ratio_{short}d",
        "lowest headroom / safety stock, last {short} days",
        -1,
        lowest_phrase("{short}"),
    ),
    Feature(
        "min_headroom_ratio_{long}d",
        "lowest headroom / safety stock, last {long} days",
        -1,
        lowest_phrase("{long}"),
    ),
    Feature(
        "days_below_safety_{short}d",
        "days below safety stock, last {short} days",
        1,
        below_phrase("{short}"),
    ),
    Feature(
        "days_below_safety_{long}d",
        "days below safety stock, last {long} days",
        1,
        below_phrase("{long}"),
    ),
    Feature(
        "branch_inflow_ratio",
        "deliveries to the branch, recent / usual",
        0,
        ratio_phrase("deliveries to this branch are"),
    ),
    Feature(
        "chain_inflow_ratio",
        "deliveries across the chain, recent / usual",
        0,
        ratio_phrase("deliveries across the chain are"),
    ),
    Feature(
        "item_sales_ratio",
        "sales of the item chain-wide, recent / usual",
        0,
        ratio_phrase("chain-wide sales of this item are"),
    ),
    Feature("FromBranchID", "usual source of deliveries"),
    Feature("ToBranchID", "usual destination of transfers"),
)

#: How a planner reads the summed hashed ID columns (:data:`ID_HASHES`).
ID_PHRASE = Phrase(
    "what the model learned about this item at this branch points to a higher risk",
    "what the model learned about this item at this branch points to a lower risk",
)

#: After the history columns when ``HistoryFeatures(censored_demand=True)``, in this order: what
#: the stock-outs of the last weeks hid from the sales (``features._history_demand``). Each is
#: monotone in the stock on hand, so each has a direction.
CENSORED: tuple[Feature, ...] = (
    Feature(
        "out_of_stock_share_{short}d",
        "share of the last {short} days out of stock",
        1,
        more_phrase("out of stock on {only}{v} of the last {short} days", "percent"),
    ),
    Feature(
        "out_of_stock_share_{long}d",
        "share of the last {long} days out of stock",
        1,
        more_phrase("out of stock on {only}{v} of the last {long} days", "percent"),
    ),
    Feature(
        "instock_velocity",
        "daily sales on days with stock (long window)",
        1,
        more_phrase("selling {only}{v} on the days it was in stock", "rate"),
    ),
    Feature(
        "lost_sales_{long}d",
        "sales lost to stock-outs, last {long} days (estimate)",
        1,
        more_phrase("{only}an estimated {v} of sales lost to stock-outs in the last {long} days"),
    ),
    Feature(
        "demand_velocity",
        "daily demand, lost sales included (long window)",
        1,
        more_phrase("demand of {only}{v}, counting the sales lost to stock-outs", "rate"),
    ),
    Feature(
        "demand_projected_headroom_ratio",
        "projected headroom at the horizon at that demand / safety stock",
        -1,
        Phrase(
            "at the demand seen (lost sales included), only {v} above safety stock by the end"
            " of the horizon",
            "at the demand seen (lost sales included), still {v} above safety stock by the end"
            " of the horizon",
            under="at the demand seen (lost sales included), {v} below safety stock by the end"
            " of the horizon",
            unit="percent",
        ),
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


_PLACEHOLDERS = ("{w}", "{short}", "{long}")


@lru_cache(maxsize=1)
def _lookup() -> tuple[dict[str, Feature], list[tuple[re.Pattern[str], str, Feature]]]:
    """Fixed names → feature, and window-templated names → (pattern, placeholder, feature)."""
    fixed = {f.name: f for f in (*RAW_QUANTITIES, *CALENDAR)}
    fixed[ID_HASHES] = Feature(ID_HASHES, "branch / item identity", 0, ID_PHRASE)
    patterns = []
    for feature in (*WINDOWED, *HISTORY, *CENSORED):
        placeholder = next((p for p in _PLACEHOLDERS if p in feature.name), None)
        if placeholder is None:
            fixed[feature.name] = feature
            continue
        head, tail = feature.name.split(placeholder)
        pattern = re.compile(f"^{re.escape(head)}(\\d+){re.escape(tail)}$")
        patterns.append((pattern, placeholder[1:-1], feature))
    return fixed, patterns


@lru_cache(maxsize=1024)
def find_feature(name: str) -> tuple[Feature, Mapping[str, int]] | None:
    """The feature a model column stands for, and its window placeholder's value."""
    fixed, patterns = _lookup()
    if name in fixed:
        return fixed[name], MappingProxyType({})
    for pattern, key, feature in patterns:
        match = pattern.match(name)
        if match:
            return feature, MappingProxyType({key: int(match.group(1))})
    return None


def feature_label(name: str) -> str:
    """A planner's words for a model column (the name itself when there are none)."""
    found = find_feature(name)
    if found is None:
        return name
    feature, window = found
    return feature.label.format(**window) if window else feature.label
