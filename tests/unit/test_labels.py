"""Unit tests for stockout_sk.labels: stock reconstruction and point-in-time labels.

The chain below is small enough to compute by hand. Days are indexed d0 = 2024-01-01 … d9 =
2024-01-10 (history_start .. history_end). One item ``I1``; an external warehouse ``WH01`` (not a
branch) supplies both branches; B1 transfers 8 units to B2 on d4.

B1 (opened long before the history), snapshot LastUpdatedAt = 2024-01-05 14:30 (d4), CurrentQuantity
15, ReservedQuantity 2, SafetyStockLevel 5 → "below" when S − 2 < 5, i.e. S < 7.

    day  inflow        outflow    sold   net
    d0   .             .          2      −2   (before the first day: changes nothing we observe)
    d1   20 (WH01)     .          .      +20
    d3   .             .          5      −5
    d4   .             8 (→ B2)   .      −8
    d5   .             .          12     −12
    d7   10 (WH01)     .          7      +3
    d8   .             .          30     −30

    S(d4) = 15                         (anchor)
    S(d3) = S(d4) − net(d4) = 15 + 8  = 23   (walk back)
    S(d2) = S(d3) − net(d3) = 23 + 5  = 28
    S(d1) = S(d2) − net(d2) = 28 − 0  = 28
    S(d0) = S(d1) − net(d1) = 28 − 20 = 8
    S(d5) = S(d4) + net(d5) = 15 − 12 = 3    (walk forward)
    S(d6) = 3
    S(d7) = 3 + 3   = 6
    S(d8) = 6 − 30  = −24 → negative, counted, clipped to 0
    S(d9) = −24     → negative, counted, clipped to 0

    S      = [8, 28, 28, 23, 15, 3, 3, 6, 0, 0]
    below  = [F,  F,  F,  F,  F, T, T, T, T, T]   (d7: 6 − 2 = 4 < 5 only because of R)

B2 opened 2024-01-03 (d2), snapshot LastUpdatedAt = 2024-01-07 09:00 (d6), CurrentQuantity 10,
ReservedQuantity 1, SafetyStockLevel 4 → "below" when S < 5.

    day  inflow       sold   net
    d2   6 (WH01)     .      +6
    d4   8 (from B1)  .      +8
    d5   .            3      −3
    d6   .            1      −1
    d8   .            4      −4
    d9   .            3      −3

    S(d6) = 10; S(d5) = 10 + 1 = 11; S(d4) = 11 + 3 = 14; S(d3) = 14 − 8 = 6; S(d2) = 6;
    S(d1) = 6 − 6 = 0; S(d0) = 0; S(d7) = 10; S(d8) = 10 − 4 = 6; S(d9) = 6 − 3 = 3

    S      = [0, 0, 6, 6, 14, 11, 10, 10, 6, 3]
    below  = [T, T, F, F,  F,  F,  F,  F, F, T]   (rows start at the opening day d2)
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stockout_sk.contract import LABEL, RAW_FIELDS
from stockout_sk.labels import build_dataset, label_panel, reconstruct_stock

pytestmark = pytest.mark.unit

# datetime64[ns], as ChainData documents (pandas 3 would default to microseconds).
DAYS = pd.date_range("2024-01-01", "2024-01-10", freq="D", unit="ns")

# Hand-computed end-of-day stock (clipped) and "below safety" flags, from the module docstring.
STOCK = {
    "B1": [8, 28, 28, 23, 15, 3, 3, 6, 0, 0],
    "B2": [0, 0, 6, 6, 14, 11, 10, 10, 6, 3],
}
BELOW = {
    "B1": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
    "B2": [1, 1, 0, 0, 0, 0, 0, 0, 0, 1],
}
FIRST_ROW = {"B1": 0, "B2": 2}  # B2 opened on d2
RESERVED = {"B1": 2.0, "B2": 1.0}
SAFETY = {"B1": 5.0, "B2": 4.0}


def _flows_rows() -> list[tuple[str, str, int, float, float, float]]:
    """(BranchID, ItemCode, day index, inflow, outflow, sold), as ingestion aggregates them."""
    return [
        ("B1", "I1", 0, 0.0, 0.0, 2.0),
        ("B1", "I1", 1, 20.0, 0.0, 0.0),
        ("B1", "I1", 3, 0.0, 0.0, 5.0),
        ("B1", "I1", 4, 0.0, 8.0, 0.0),
        ("B1", "I1", 5, 0.0, 0.0, 12.0),
        ("B1", "I1", 7, 10.0, 0.0, 7.0),
        ("B1", "I1", 8, 0.0, 0.0, 30.0),
        ("B2", "I1", 2, 6.0, 0.0, 0.0),
        ("B2", "I1", 4, 8.0, 0.0, 0.0),
        ("B2", "I1", 5, 0.0, 0.0, 3.0),
        ("B2", "I1", 6, 0.0, 0.0, 1.0),
        ("B2", "I1", 8, 0.0, 0.0, 4.0),
        ("B2", "I1", 9, 0.0, 0.0, 3.0),
        # The warehouse is external: it has flow rows (ingestion keeps every ID) but no snapshot.
        ("WH01", "I1", 1, 0.0, 20.0, 0.0),
        ("WH01", "I1", 2, 0.0, 6.0, 0.0),
        ("WH01", "I1", 7, 0.0, 10.0, 0.0),
    ]


def _flows(rows=None) -> pd.DataFrame:
    rows = _flows_rows() if rows is None else rows
    frame = pd.DataFrame(rows, columns=["BranchID", "ItemCode", "day", "inflow", "outflow", "sold"])
    frame["Date"] = DAYS[frame.pop("day").to_numpy()]
    frame = frame[["BranchID", "ItemCode", "Date", "inflow", "outflow", "sold"]]
    return frame.sort_values(["BranchID", "ItemCode", "Date"], ignore_index=True)


def _chain(flows: pd.DataFrame | None = None):
    """A ChainData (or a stand-in with the same attributes while ingest is in flux)."""
    stock_current = pd.DataFrame(
        {
            "BranchID": ["B1", "B2"],
            "BranchName": ["Olaya", "Malaz"],
            "ItemCode": ["I1", "I1"],
            "ItemName": ["Tea", "Tea"],
            "CurrentQuantity": [15.0, 10.0],
            "ReservedQuantity": [RESERVED["B1"], RESERVED["B2"]],
            "SafetyStockLevel": [SAFETY["B1"], SAFETY["B2"]],
            "LastUpdatedAt": pd.to_datetime(["2024-01-05 14:30:00", "2024-01-07 09:00:00"]),
        }
    )
    transfers = pd.DataFrame(
        {
            "Date": DAYS[[1, 2, 4, 7]],
            "FromBranchID": ["WH01", "WH01", "B1", "WH01"],
            "ToBranchID": ["B1", "B2", "B2", "B1"],
            "ItemCode": ["I1"] * 4,
            "QuantityMoved": [20.0, 6.0, 8.0, 10.0],
        }
    )
    branches = pd.DataFrame(
        {
            "BranchID": ["B1", "B2"],
            "BranchName": ["Olaya", "Malaz"],
            "OpeningDate": pd.to_datetime(["2019-05-01", "2024-01-03"]),
        }
    )
    attrs = {
        "stock_current": stock_current,
        "flows": _flows() if flows is None else flows,
        "transfers": transfers,
        "branches": branches,
        "items": pd.DataFrame(columns=["ItemCode", "ArabicName", "EnglishName", "BrandOnBox"]),
        "employees": pd.DataFrame(columns=["EmployeeID", "FullName", "Department", "BranchID"]),
        "history_start": DAYS[0],
        "history_end": DAYS[-1],
    }
    try:
        from stockout_sk.ingest import ChainData, ValidationReport
    except ImportError:  # ingest is being written concurrently
        return SimpleNamespace(report=None, **attrs)
    names = {f.name for f in dataclasses.fields(ChainData)}
    if names != {*attrs, "report"}:
        return SimpleNamespace(report=None, **attrs)
    return ChainData(report=ValidationReport(), **attrs)


def _expected(horizon: int) -> pd.DataFrame:
    """The expected table, built from the hand-computed STOCK and BELOW above."""
    rows = []
    last_asof = len(DAYS) - 1 - horizon  # the label of t needs t+1 … t+N inside the history
    for branch in ("B1", "B2"):
        for t in range(FIRST_ROW[branch], last_asof + 1):
            label = int(any(BELOW[branch][t + k] for k in range(1, horizon + 1)))
            rows.append(
                (
                    branch,
                    "I1",
                    DAYS[t],
                    float(STOCK[branch][t]),
                    RESERVED[branch],
                    SAFETY[branch],
                    label,
                )
            )
    frame = pd.DataFrame(rows, columns=[*RAW_FIELDS, LABEL])
    return frame.sort_values(["Date", "BranchID", "ItemCode"], ignore_index=True)


def _table(chain, horizon: int) -> pd.DataFrame:
    return build_dataset(chain, horizon=horizon).frame


def test_reconstructed_stock_walks_back_and_forward_from_the_snapshot():
    panel = reconstruct_stock(_chain())
    assert list(panel.days) == list(DAYS)
    by_branch = dict(zip(panel.keys["BranchID"], panel.stock, strict=True))
    assert set(by_branch) == {"B1", "B2"}  # WH01 is external: flows, but no stock of its own
    for branch, expected in STOCK.items():
        np.testing.assert_array_equal(by_branch[branch], np.asarray(expected, dtype=float))


def test_negative_reconstructed_stock_is_counted_and_clipped(caplog):
    with caplog.at_level("WARNING", logger="stockout_sk.labels"):
        dataset = build_dataset(_chain(), horizon=1)
    # B1 reconstructs to −24 on d8 and d9: two key-days, one key.
    assert dataset.report["negative_stock_cells"] == 2
    assert dataset.report["negative_stock_keys"] == 1
    assert "negative" in caplog.text
    assert (dataset.frame["CurrentQuantity"] >= 0).all()
    # WH01's three flow rows cannot be anchored on a snapshot: counted, not used.
    assert dataset.report["flow_rows_outside_snapshot"] == 3


def test_hand_computed_labels_horizon_1():
    # N=1: y(t) = below(t+1).
    #   B1 rows d0..d8: below(d1..d9) = [0,0,0,0,1,1,1,1,1]
    #   B2 rows d2..d8: below(d3..d9) = [0,0,0,0,0,0,1]
    table = _table(_chain(), 1)
    expected = _expected(1)
    pd.testing.assert_frame_equal(table.astype({LABEL: "int64"}), expected)
    b1 = table[table["BranchID"] == "B1"]
    assert b1[LABEL].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    b2 = table[table["BranchID"] == "B2"]
    assert b2[LABEL].tolist() == [0, 0, 0, 0, 0, 0, 1]


def test_hand_computed_labels_horizon_3():
    # N=3: y(t) = any below in t+1..t+3.
    #   B1 rows d0..d6: d0 (d1-d3: F,F,F) 0; d1 (d2-d4) 0; d2 (d3-d5: …,T) 1; d3..d6 1
    #   B2 rows d2..d6: d2 (d3-d5) 0; d3 (d4-d6) 0; d4 (d5-d7) 0; d5 (d6-d8) 0; d6 (d7-d9: …,T) 1
    table = _table(_chain(), 3)
    pd.testing.assert_frame_equal(table.astype({LABEL: "int64"}), _expected(3))
    assert table[table["BranchID"] == "B1"][LABEL].tolist() == [0, 0, 1, 1, 1, 1, 1]
    assert table[table["BranchID"] == "B2"][LABEL].tolist() == [0, 0, 0, 0, 1]


def _replace(chain, **changes):
    if dataclasses.is_dataclass(chain):
        return dataclasses.replace(chain, **changes)
    return SimpleNamespace(**{**vars(chain), **changes})


def test_reserved_quantity_counts_against_safety_stock():
    # d7 of B1: S = 6, SS = 5; only with R = 2 does it fall below (6 − 2 = 4 < 5), so the label at
    # t = d6 (N = 1) is 1 with the reserve and 0 without it.
    chain = _chain()
    no_reserve = _replace(chain, stock_current=chain.stock_current.assign(ReservedQuantity=0.0))
    assert _label_at(_table(chain, 1), "B1", 6) == 1
    assert _label_at(_table(no_reserve, 1), "B1", 6) == 0


@pytest.mark.parametrize("horizon", [1, 3, 7])
def test_only_matured_rows(horizon):
    table = _table(_chain(), horizon)
    assert table["Date"].max() == DAYS[-1] - pd.Timedelta(days=horizon)


def test_rows_start_at_the_branch_opening_date():
    table = _table(_chain(), 1)
    assert table[table["BranchID"] == "B2"]["Date"].min() == pd.Timestamp("2024-01-03")
    assert table[table["BranchID"] == "B1"]["Date"].min() == DAYS[0]


def test_output_columns_are_the_six_raw_fields_and_the_label():
    table = _table(_chain(), 3)
    assert list(table.columns) == [
        "BranchID",
        "ItemCode",
        "Date",
        "CurrentQuantity",
        "ReservedQuantity",
        "SafetyStockLevel",
        "label",
    ]
    assert [*RAW_FIELDS, LABEL] == list(table.columns)
    assert table["Date"].dtype == "datetime64[ns]"
    assert (table["Date"] == table["Date"].dt.normalize()).all()
    assert set(table[LABEL].unique()) <= {0, 1}


def test_date_is_nanosecond_midnight_whatever_the_unit_of_the_history_bounds():
    # pd.Timestamp("2024-01-01") has unit "s" under pandas 3; the table contract is still ns.
    chain = _replace(
        _chain(),
        history_start=pd.Timestamp("2024-01-01"),
        history_end=pd.Timestamp("2024-01-10"),
    )
    table = _table(chain, 3)
    assert table["Date"].dtype == "datetime64[ns]"
    pd.testing.assert_frame_equal(table.astype({LABEL: "int64"}), _expected(3))


def test_horizon_longer_than_history_is_a_clear_error():
    with pytest.raises(ValueError, match="horizon"):
        build_dataset(_chain(), horizon=10)
    with pytest.raises(TypeError, match="horizon"):
        build_dataset(_chain(), horizon=1.5)


def _perturbed(day: int, branch: str = "B1", sold: float = 100.0) -> pd.DataFrame:
    """The hand flows plus an extra sale of ``sold`` units at ``branch`` on day index ``day``."""
    return _flows([*_flows_rows(), (branch, "I1", day, 0.0, 0.0, sold)])


def _label_at(table: pd.DataFrame, branch: str, day: int) -> int:
    pick = (table["BranchID"] == branch) & (table["Date"] == DAYS[day])
    return int(table.loc[pick, LABEL].item())


def _row_at(table: pd.DataFrame, branch: str, day: int) -> pd.Series:
    pick = (table["BranchID"] == branch) & (table["Date"] == DAYS[day])
    return table.loc[pick].iloc[0]


@pytest.mark.parametrize("horizon", [1, 3])
def test_no_label_uses_flows_after_t_plus_n(horizon):
    """Flows after t+N (and after the snapshot day) never move the label or the row at t.

    B2's snapshot is d6. For as-of days t with t+N ≥ d6 the stock of t+1..t+N is walked forward
    from the snapshot, so anything after t+N is irrelevant; a large sale right after t+N must not
    change the row. Before the snapshot day the stock is walked back, so a flow between t+N and
    the snapshot legitimately moves S(t+k) (checked separately below).
    """
    base = _table(_chain(), horizon)
    last_asof = len(DAYS) - 1 - horizon
    checked = 0
    for t in range(FIRST_ROW["B2"], last_asof + 1):
        if t + horizon < 6:  # before the snapshot: the walk back crosses later flows
            continue
        for later in range(t + horizon + 1, len(DAYS)):
            table = _table(_chain(_perturbed(later, "B2", sold=50.0)), horizon)
            pd.testing.assert_series_equal(_row_at(table, "B2", t), _row_at(base, "B2", t))
            checked += 1
    assert checked > 0


def test_flows_inside_the_label_window_can_change_the_label():
    # N=3, B2 at t = d4: S(d5..d7) = 11, 10, 10, all ≥ 5 → label 0. A sale of 50 on d7, after
    # the snapshot (d6), drives S(d7) to −40 → the label becomes 1; the row's own stock S(d4) is
    # unchanged because d7 is after t and after the snapshot.
    base = _table(_chain(), 3)
    assert _label_at(base, "B2", 4) == 0
    table = _table(_chain(_perturbed(7, "B2", sold=50.0)), 3)
    assert _label_at(table, "B2", 4) == 1
    assert _row_at(table, "B2", 4)["CurrentQuantity"] == _row_at(base, "B2", 4)["CurrentQuantity"]


def test_flows_between_t_plus_n_and_an_earlier_known_snapshot_are_walked_back():
    # B1's snapshot is d4. An extra sale of 100 on d3 means the stock *before* d3 was 100 higher
    # (the snapshot is the observed truth), so S(d1) rises from 28 to 128 — by design of
    # S(d) = S(L) − Σ_{d<k≤L} net(k). The label at t = d0 (N = 1, window d1) stays 0, and the
    # stock reported at t = d0 rises from 8 to 108.
    table = _table(_chain(_perturbed(3, "B1", sold=100.0)), 1)
    assert _row_at(table, "B1", 0)["CurrentQuantity"] == 108.0
    assert _label_at(table, "B1", 0) == 0


def test_label_panel_matches_the_definition_on_random_stock():
    rng = np.random.default_rng(0)
    stock = rng.integers(0, 20, size=(4, 30)).astype(float)
    keys = pd.DataFrame({"ReservedQuantity": [0.0, 2.0, 5.0, 1.0], "SafetyStockLevel": [5.0] * 4})
    panel = SimpleNamespace(stock=stock, keys=keys)
    for horizon in (1, 4, 7):
        got = label_panel(panel, horizon=horizon)
        assert got.shape == (4, 30 - horizon)
        for k in range(4):
            for t in range(30 - horizon):
                window = stock[k, t + 1 : t + horizon + 1] - keys["ReservedQuantity"][k]
                assert got[k, t] == (window.min() < 5.0)


def test_a_snapshot_outside_the_history_anchors_exactly_at_its_nearest_end():
    # Ingestion keeps snapshot rows whose LastUpdatedAt lies outside the history (and reports
    # them): nothing moved in between, so the stock there is their CurrentQuantity. B1 counted
    # 10 units before the history (S(d0) = 10 − 2 sold = 8), B2 counted 3 after it (S(d9) = 3).
    chain = _chain()
    stock = chain.stock_current.copy()
    stock["LastUpdatedAt"] = pd.to_datetime(["2023-11-01 10:00", "2024-03-01 18:00"])
    stock["CurrentQuantity"] = [10.0, 3.0]
    moved = dataclasses.replace(chain, stock_current=stock) if chain.report is not None else None
    panel = reconstruct_stock(moved if moved is not None else chain)
    assert panel.keys["anchor_day"].tolist() == [-1, len(DAYS) - 1]
    by_branch = dict(zip(panel.keys["BranchID"], panel.stock, strict=True))
    for branch, expected in STOCK.items():
        np.testing.assert_array_equal(by_branch[branch], np.asarray(expected, dtype=float))


# --- The whole table against its definition, key by key, on chains of every shape ---------------


def _reference(chain, horizon: int) -> tuple[pd.DataFrame, dict]:
    """The labelled table and its data-quality counts by the module docstring's definition: one
    key at a time, plain loops, rows sorted at the end. Slow; for small chains only."""
    bounds = (chain.history_start, chain.history_end)
    first, last = (np.datetime64(pd.Timestamp(d).date(), "D") for d in bounds)
    days = pd.DatetimeIndex(np.arange(first, last + 1).astype("datetime64[ns]"))
    n_days = len(days)
    net_by_key = {
        key: [
            ((date - days[0]).days, inflow - outflow - sold)
            for date, inflow, outflow, sold in zip(
                group["Date"], group["inflow"], group["outflow"], group["sold"], strict=True
            )
        ]
        for key, group in chain.flows.groupby(["BranchID", "ItemCode"], sort=False)
    }
    opening = {}
    if len(chain.branches) and "OpeningDate" in chain.branches:
        first_rows = chain.branches.drop_duplicates("BranchID")
        opening = dict(zip(first_rows["BranchID"], first_rows["OpeningDate"], strict=True))
    rows, counts = [], {"negative_stock_cells": 0, "negative_stock_keys": 0}
    for snap in chain.stock_current.itertuples(index=False):
        net = np.zeros(n_days)
        for day, value in net_by_key.pop((snap.BranchID, snap.ItemCode), []):
            net[day] += value
        running = np.cumsum(net)
        anchor = min(max((snap.LastUpdatedAt.normalize() - days[0]).days, -1), n_days - 1)
        stock = snap.CurrentQuantity + running - (running[anchor] if anchor >= 0 else 0.0)
        counts["negative_stock_cells"] += int((stock < 0).sum())
        counts["negative_stock_keys"] += int((stock < 0).any())
        stock = np.clip(stock, 0, None)
        opened = opening.get(snap.BranchID, pd.NaT)
        first = 0 if pd.isna(opened) else min(max((opened.normalize() - days[0]).days, 0), n_days)
        for t in range(first, n_days - horizon):
            below = stock[t + 1 : t + horizon + 1].min() - snap.ReservedQuantity
            rows.append(
                (
                    snap.BranchID,
                    snap.ItemCode,
                    days[t],
                    stock[t],
                    snap.ReservedQuantity,
                    snap.SafetyStockLevel,
                    int(below < snap.SafetyStockLevel),
                )
            )
    counts["flow_rows_outside_snapshot"] = sum(len(flows) for flows in net_by_key.values())
    frame = pd.DataFrame(rows, columns=[*RAW_FIELDS, LABEL]).astype(
        {"Date": "datetime64[ns]", LABEL: np.int8}
    )
    return frame.sort_values(["Date", "BranchID", "ItemCode"], ignore_index=True), counts


@pytest.fixture(scope="module")
def synth_chains(tmp_path_factory):
    """Two small simulated chains, loaded as ingestion loads them: clean and messy exports."""
    from stockout_sk.ingest import load_chain
    from stockout_sk.synth import generate_chain

    chains = {}
    for name, seed, messy in (("clean", 1, False), ("messy", 2, True)):
        out = tmp_path_factory.mktemp(name)
        generate_chain(out, branches=4, items=12, days=50, seed=seed, messy=messy)
        chains[name] = load_chain(out)
    return chains


def _variants(chain) -> dict:
    """The chain as ingestion writes it, and in shapes ingestion does not promise to avoid."""
    start = pd.Timestamp(chain.history_start)
    snapshot, branches = chain.stock_current, chain.branches.copy()
    branches.loc[branches.index[0], "OpeningDate"] = start + pd.Timedelta(days=9)
    branches.loc[branches.index[1], "OpeningDate"] = start + pd.Timedelta(days=400)
    moved = snapshot.copy()
    moved["CurrentQuantity"] = moved["CurrentQuantity"] - 40.0  # negative stock somewhere
    moved.loc[moved.index[:3], "LastUpdatedAt"] = start - pd.Timedelta(days=30)
    return {
        "as loaded": chain,
        # Rows in any order: flows not grouped by key, snapshot keys not sorted.
        "shuffled": _replace(
            chain,
            flows=chain.flows.sample(frac=1.0, random_state=0, ignore_index=True),
            stock_current=snapshot.sample(frac=1.0, random_state=1, ignore_index=True),
        ),
        "branches opening inside and after the history": _replace(chain, branches=branches),
        "negative stock, anchors before the history": _replace(chain, stock_current=moved),
        "no flows": _replace(chain, flows=chain.flows.iloc[:0]),
        # What a partition of external IDs only (a warehouse) holds.
        "no snapshot row": _replace(chain, stock_current=snapshot.iloc[:0]),
    }


@pytest.mark.parametrize("source", ["hand", "clean", "messy"])
@pytest.mark.parametrize("horizon", [1, 7])
def test_whole_table_and_counts_match_the_definition(source, horizon, synth_chains):
    chain = _chain() if source == "hand" else synth_chains[source]
    for variant, changed in _variants(chain).items():
        expected, counts = _reference(changed, horizon)
        dataset = build_dataset(changed, horizon=horizon)
        if len(expected):
            pd.testing.assert_frame_equal(dataset.frame, expected, check_exact=True, obj=variant)
        else:  # the empty table keeps the columns; its dtypes are not a contract
            assert dataset.frame.empty
            assert list(dataset.frame.columns) == [*RAW_FIELDS, LABEL]
        report = {key: dataset.report[key] for key in counts} | {"rows": dataset.report["rows"]}
        assert report == counts | {"rows": len(expected)}, variant
