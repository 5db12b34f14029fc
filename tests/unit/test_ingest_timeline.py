"""Unit tests of the history's time line (:mod:`stockout_sk.ingest.timeline`, issue #16.1).

The inputs are what ingestion has counted by then: accepted sales and movement rows per day, and
the accepted snapshot rows. A typo in a year must never stretch the history.
"""

from __future__ import annotations

import pandas as pd
import pytest

from stockout_sk.ingest import DataContractError, max_gap_days
from stockout_sk.ingest.timeline import _decide_timeline

pytestmark = pytest.mark.unit

SALES, MOVES = "sales_transactions.csv", "stock_movement.csv"


def days(start: str, end: str, rows: int = 10) -> pd.Series:
    index = pd.date_range(start, end, freq="D", unit="ns")
    return pd.Series(rows, index=index, dtype="int64")


def snapshot(*stamps: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "BranchID": [f"B{i}" for i in range(len(stamps))],
            "ItemCode": "I1",
            "LastUpdatedAt": pd.to_datetime(list(stamps)).as_unit("ns"),
        }
    )


def decide(sales: pd.Series, moves: pd.Series | None = None, snap=None, gap: int = 28):
    moves = days("2024-01-01", "2024-01-01", 0)[:0] if moves is None else moves
    snap = snapshot("2024-06-30 22:00") if snap is None else snap
    return _decide_timeline({MOVES: moves, SALES: sales}, snap, max_gap_days=gap)


def test_a_clean_history_is_left_alone():
    timeline = decide(days("2024-01-01", "2024-06-30"), days("2024-01-03", "2024-06-29"))
    assert (timeline.start, timeline.end) == (
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-06-30"),
    )
    assert timeline.drop == {}
    assert timeline.findings == []


def test_an_isolated_handful_of_days_years_away_is_cut_off_and_quarantined():
    # 50 sales rows typed 2021 instead of 2024: before, the history ran 2021..2024.
    typo = pd.concat([days("2021-03-01", "2021-03-05", 10), days("2024-01-01", "2024-06-30")])
    timeline = decide(typo)
    assert (timeline.start, timeline.end) == (
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-06-30"),
    )
    dropped = timeline.drop[SALES]
    assert list(dropped.index) == list(pd.date_range("2021-03-01", "2021-03-05"))
    assert dropped.iloc[0] == (
        "dated 2021-03-01..2021-03-05, cut off from the history 2024-01-01..2024-06-30 by a "
        "stretch with no activity: a typo in the date?"
    )
    (finding,) = timeline.findings
    assert finding.code == "history_trimmed"
    assert finding.blocking
    assert finding.count == 50
    assert "2021-03-01..2021-03-05 (5 active day(s), 50 sales/movement row(s)" in finding.message


def test_a_gap_of_exactly_the_limit_does_not_cut():
    # 28 empty days between 2024-02-01 and 2024-03-01 (max_gap_days for horizon 7): one history.
    sales = pd.concat([days("2024-01-01", "2024-02-01"), days("2024-03-01", "2024-06-30")])
    assert decide(sales).drop == {}
    sales = pd.concat([days("2024-01-01", "2024-01-31"), days("2024-03-01", "2024-06-30")])
    assert list(decide(sales).drop) == [SALES]  # 29 empty days: cut


def test_when_the_snapshot_side_holds_fewer_rows_the_dates_are_too_broken_to_choose():
    # Every LastUpdatedAt typed 2021: the snapshot's stretch holds no sale at all.
    with pytest.raises(DataContractError) as err:
        decide(days("2024-01-01", "2024-06-30"), snap=snapshot("2021-06-30", "2021-06-30"))
    message = str(err.value)
    assert (
        "2021-06-30..2021-06-30 (1 active day(s), 0 sales/movement row(s), 2 snapshot row(s))"
        in message
    )
    assert "2024-01-01..2024-06-30 (182 active day(s), 1,820 sales/movement row(s)" in message
    assert "Fix them in the export" in message


def test_rows_after_the_snapshot_day_are_quarantined_with_a_day_of_grace():
    timeline = decide(days("2024-01-01", "2024-07-10"), days("2024-01-01", "2024-07-02"))
    assert timeline.end == pd.Timestamp("2024-07-01")
    assert list(timeline.drop[SALES].index) == list(pd.date_range("2024-07-02", "2024-07-10"))
    assert list(timeline.drop[MOVES].index) == [pd.Timestamp("2024-07-02")]
    assert timeline.drop[SALES].iloc[0] == (
        "dated after the stock snapshot (2024-06-30, latest LastUpdatedAt day)"
    )
    codes = [(f.code, f.file, f.count, f.blocking) for f in timeline.findings]
    assert codes == [
        ("after_snapshot", MOVES, 10, True),
        ("after_snapshot", SALES, 90, True),
    ]


def test_a_snapshot_row_far_from_the_rest_is_reported_and_does_not_stretch_the_history():
    snap = snapshot("2024-06-30 22:00", "2025-06-30 08:00", "2023-02-01 00:00")
    timeline = decide(days("2024-01-01", "2024-06-30"), snap=snap)
    assert (timeline.start, timeline.end) == (
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-06-30"),
    )
    assert timeline.drop == {}
    (finding,) = timeline.findings
    assert finding.code == "snapshot_outside_history"
    assert finding.count == 2
    assert not finding.blocking
    assert "B1×I1 2025-06-30" in finding.message
    assert "B2×I1 2023-02-01" in finding.message


def test_max_gap_days_grows_with_a_long_horizon():
    assert max_gap_days(7) == 28
    assert max_gap_days(10) == 30
    with pytest.raises(ValueError, match="horizon"):
        max_gap_days(0)
