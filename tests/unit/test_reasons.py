"""Reasons as a planner reads them: the phrase of every feature, filled with the row's value."""

from __future__ import annotations

import math

import pytest

from stockout_sk.features.names import (
    CALENDAR_FEATURES,
    ID_HASHES,
    RAW_QUANTITIES,
    feature_label,
    find_feature,
    history_feature_names,
)
from stockout_sk.features.phrases import format_value
from stockout_sk.features.reasons import reason_text

pytestmark = pytest.mark.unit

WINDOWS = (7, 14, 28)
#: Every column a person can be shown: the named model columns (the partner IDs the history step
#: adds are hashed, never shown) and the summed hashes.
EVERY_COLUMN = [
    *(f.name for f in RAW_QUANTITIES),
    *CALENDAR_FEATURES,
    *(n for n in history_feature_names(WINDOWS) if n not in ("FromBranchID", "ToBranchID")),
    ID_HASHES,
]


@pytest.mark.parametrize(
    ("name", "value", "contribution", "text"),
    [
        # The issue's own examples: the value, and the words a planner uses.
        ("headroom", 0.0, 2.02, "only 0 units above safety stock"),
        ("headroom", 25.0, -0.7, "25 units above safety stock"),
        ("headroom", -18.0, 1.1, "already 18 units below safety stock"),
        (
            "branch_inflow_ratio",
            0.42,
            0.24,
            "deliveries to this branch are slower than usual (42% of the usual rate)",
        ),
        (
            "branch_inflow_ratio",
            1.5,
            -0.1,
            "deliveries to this branch are faster than usual (150% of the usual rate)",
        ),
        ("headroom_ratio", -0.2769, 2.09, "already 28% below safety stock"),
        (
            "min_headroom_ratio_28d",
            -1.0,
            1.15,
            "stock fell to 0% of the safety stock in the last 28 days",
        ),
        ("days_below_safety_28d", 12.0, 1.07, "below safety stock on 12 of the last 28 days"),
        ("days_below_safety_7d", 1.0, -0.2, "below safety stock on only 1 of the last 7 days"),
        ("sold_14d", 40.0, 0.3, "40 units sold in the last 14 days"),
        ("inflow_7d", 0.0, 0.5, "only 0 units delivered in the last 7 days"),
        (
            "net_inflow_28d",
            -12.0,
            0.4,
            "12 units more left (sold or sent) than arrived in the last 28 days",
        ),
        ("velocity", 3.17, 0.6, "selling 3.2 units a day over the last 28 days"),
        ("velocity_short", 1.0, -0.6, "selling only 1 unit a day over the last 7 days"),
        ("days_of_cover", 2.4, 0.9, "stock covers only 2.4 days of sales"),
        ("days_since_inflow", 9.0, 0.3, "last delivery 9 days ago"),
        (
            "inflow_due_ratio",
            1.8,
            0.3,
            "the next delivery is overdue (180% of the usual time between deliveries)",
        ),
        (
            "projected_headroom",
            -34.0,
            0.8,
            "at the current sales rate, 34 units below safety stock by the end of the horizon",
        ),
        ("CurrentQuantity", 5.0, 0.4, "only 5 units on hand"),
        ("day_of_week", 4.0, 0.1, "stock-outs are more common on Fridays"),
        ("month", 3.0, -0.1, "stock-outs are less common in March"),
        (
            ID_HASHES,
            None,
            0.2,
            "what the model learned about this item at this branch points to a higher risk",
        ),
    ],
)
def test_reasons_read_as_a_planner_reads_them(name, value, contribution, text) -> None:
    assert reason_text(name, value, contribution, windows=WINDOWS) == text


def test_every_model_column_has_a_phrase_with_its_value() -> None:
    """No engineer's name reaches a planner: every column shown has words for both directions."""
    for name in EVERY_COLUMN:
        feature, _ = find_feature(name)
        assert feature.phrase is not None, name
        for value, contribution in ((3.0, 1.0), (3.0, -1.0), (-2.0, 1.0), (0.5, -1.0)):
            text = reason_text(name, value, contribution, windows=WINDOWS)
            assert name not in text, text
            assert "{" not in text, text
            assert not text.endswith("the risk)"), text  # the generic fallback


def test_unknown_values_and_unknown_features_say_so() -> None:
    assert (
        reason_text("days_since_inflow", None, 0.3)
        == "days since last inflow not known (raises the risk)"
    )
    assert reason_text("days_since_inflow", math.nan, -0.3) == (
        "days since last inflow not known (lowers the risk)"
    )
    # A column added later without a phrase still reads, with its value.
    assert reason_text("promo_depth_14d", 3.5, 0.2) == "promo_depth_14d: 3.5 (raises the risk)"


def test_window_placeholders_follow_the_model() -> None:
    assert reason_text("velocity", 2.0, 0.1, windows=(5, 21)) == (
        "selling 2 units a day over the last 21 days"
    )
    assert feature_label("sold_21d") == "units sold, last 21 days"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.0, "units", "0 units"),
        (1.0, "units", "1 unit"),
        (1234.4, "units", "1,234 units"),
        (0.25, "rate", "0.2 units a day"),
        (1.0, "days", "1 day"),
        (0.004, "percent", "0%"),
        (-0.6, "level", "40%"),
        (6, "weekday", "Sunday"),
        (12, "month", "December"),
        (1, "weekend", "weekends"),
        (12.0, "count", "12"),
    ],
)
def test_values_are_written_for_people(value, unit, text) -> None:
    assert format_value(value, unit) == text
