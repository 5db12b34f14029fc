"""Unit tests of the daily sums (:mod:`stockout_sk.ingest.aggregate`, issue #14.4).

The sums are taken over packed integer keys; grouping by the key columns themselves is the
reference they must match bit for bit: the same keys in the same order (first appearance), the
same float sums (fractional quantities added in the same order), the same dtypes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockout_sk.ingest.aggregate import (
    _HEADROOM,
    _SOLD_DTYPES,
    _TRANSFER_DTYPES,
    _Aggregator,
    _KeyCodes,
)
from stockout_sk.ingest.flows import (
    _build_flows,
    _build_flows_by_columns,
    _side_sums,
)

pytestmark = pytest.mark.unit

SOLD_KEYS = list(_SOLD_DTYPES)[:3]
TRANSFER_KEYS = list(_TRANSFER_DTYPES)[:4]


def sales_rows(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Rows of few keys, fractional quantities, a missing branch here and there."""
    branch = rng.choice(["001", "002", "WH01", "١٢", "Ä"], n).astype(object)
    branch[rng.random(n) < 0.02] = None
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 40, n), unit="D")
    return pd.DataFrame(
        {
            "BranchID": pd.array(branch, dtype="str"),
            "ItemCode": pd.array(rng.choice([f"ITM{i:03d}" for i in range(60)], n), dtype="str"),
            "Date": days.as_unit("ns"),
            "sold": rng.integers(-3, 50, n) / rng.choice([1, 3, 7, 10], n),
        }
    )


def by_columns(
    chunks: list[pd.DataFrame], keys: list[str], value: str, min_rows: int, *, rows: bool = True
) -> pd.DataFrame:
    """The reference: the same schedule of re-aggregations, grouped by the key columns."""
    parts: list[pd.DataFrame] = []
    total = compacted = 0

    def compact() -> None:
        nonlocal parts, total, compacted
        merged = pd.concat(parts, ignore_index=True)
        parts = [merged.groupby(keys, sort=False, as_index=False)[value].sum()]
        total = compacted = len(parts[0])

    for chunk in chunks:
        if len(chunk):
            part = chunk.groupby(keys, sort=False, as_index=False)[value].sum() if rows else chunk
            parts.append(part)
            total += len(part)
            if total > max(min_rows, 2 * compacted):
                compact()
    compact()
    return parts[0]


@pytest.mark.parametrize(
    "dtypes", [_SOLD_DTYPES, {**_SOLD_DTYPES, "Date": "datetime64[ns]"}], ids=["days", "stamps"]
)
@pytest.mark.parametrize(("key_bits", "by_day"), [(63, False), (63, True), (12, False)])
def test_sums_match_grouping_by_the_key_columns(key_bits: int, by_day: bool, dtypes) -> None:
    """Packed or (keys too wide for ``key_bits`` 12) unpacked part way, rows in day order or
    not, the sums are identical; the days as categories (the sales') or as timestamps."""
    rng = np.random.default_rng(7)
    chunks = [sales_rows(rng, n) for n in (1, 2, 0, 500, 800, 700, 300)]
    if by_day:
        rows = pd.concat(chunks, ignore_index=True).sort_values("Date", kind="stable")
        chunks = [rows[a : a + 400] for a in range(0, len(rows), 400)]
    acc = _Aggregator(SOLD_KEYS, ["sold"], dtypes, min_rows=600, key_bits=key_bits)
    for chunk in chunks:
        acc.add(chunk, rows=True)
    expected = by_columns(chunks, SOLD_KEYS, "sold", 600).astype(dtypes)
    pd.testing.assert_frame_equal(acc.result(), expected, check_exact=True)


@pytest.mark.parametrize("kind", ["whole", "fractional"])
@pytest.mark.parametrize("days", [3, 400])
def test_sums_in_any_order_are_the_same_keys_and_sums(kind: str, days: int) -> None:
    """``result(ordered=False)``, a span's: the same rows in another order where the grid of
    the keys is small and the sums exact (``days`` 3), else the ordered result itself."""
    rng = np.random.default_rng(days)
    chunks = [sales_rows(rng, 500) for _ in range(4)]
    for chunk in chunks:
        chunk["Date"] = chunk["Date"].min() + pd.to_timedelta(rng.integers(0, days, 500), "D")
        if kind == "whole":
            chunk["sold"] = np.round(chunk["sold"].to_numpy())
    results = []
    for ordered in (True, False):
        acc = _Aggregator(SOLD_KEYS, ["sold"], _SOLD_DTYPES, min_rows=10**6)
        for chunk in chunks:
            acc.add(chunk, rows=True)
        results.append(acc.result(ordered=ordered))
    ordered, unordered = results
    by_grid = kind == "whole" and days == 3
    assert not ordered.equals(unordered) if by_grid else ordered.equals(unordered)
    pd.testing.assert_frame_equal(
        unordered.sort_values(SOLD_KEYS, ignore_index=True),
        ordered.sort_values(SOLD_KEYS, ignore_index=True),
        check_exact=True,
    )


def test_sums_of_partial_sums_match() -> None:
    """Frames already summed (a cluster's spans) are added as they are."""
    rng = np.random.default_rng(8)
    chunks = [sales_rows(rng, 400) for _ in range(4)]
    partial = [c.groupby(SOLD_KEYS, sort=False, as_index=False)["sold"].sum() for c in chunks]
    acc = _Aggregator(SOLD_KEYS, ["sold"], _SOLD_DTYPES, min_rows=10)
    for p in partial:
        acc.add(p)
    expected = by_columns(partial, SOLD_KEYS, "sold", 10, rows=False).astype(_SOLD_DTYPES)
    pd.testing.assert_frame_equal(acc.result(), expected, check_exact=True)


def test_no_rows_give_the_typed_empty_frame() -> None:
    result = _Aggregator(SOLD_KEYS, ["sold"], _SOLD_DTYPES, min_rows=10).result()
    assert list(result.columns) == list(_SOLD_DTYPES)
    assert result.empty
    assert list(result.dtypes.astype(str)) == ["category", "category", "category", "float64"]


@pytest.mark.parametrize("dense", [None, True, False])
@pytest.mark.parametrize("quantities", ["fractional", "whole"])
def test_flows_match_grouping_by_the_key_columns(dense, quantities) -> None:
    """Sorted by branch, item and day as strings sort (``"١٢"`` after ``"WH01"``), zero days
    dropped, inflow and outflow from both ends of a transfer: summed into the grid of keys or
    by one sort, the sales' branches and items as strings or as categories."""
    rng = np.random.default_rng(9)
    rows = sales_rows(rng, 3000).dropna()
    if quantities == "whole":
        rows["sold"] = np.round(rows["sold"])
    sold = rows.groupby(SOLD_KEYS, sort=False, as_index=False)["sold"].sum()
    sold.loc[::17, "sold"] = 0.0
    sold = pd.concat([sold, sold[::5]], ignore_index=True)  # keys given twice, summed in order
    n = 900
    transfers = pd.DataFrame(
        {
            "Date": rows["Date"].to_numpy()[:n],
            "FromBranchID": pd.array(rng.choice(["WH01", "002", "SUP9"], n), dtype="str"),
            "ToBranchID": rows["BranchID"].to_numpy()[:n],
            "ItemCode": rows["ItemCode"].to_numpy()[:n],
            "QuantityMoved": rng.integers(1, 9, n) / rng.choice([4, 3, 7], n),
        }
    ).astype(_TRANSFER_DTYPES)
    if quantities == "whole":
        transfers["QuantityMoved"] = np.round(transfers["QuantityMoved"])
    transfers = transfers.groupby(TRANSFER_KEYS, sort=True, as_index=False)["QuantityMoved"].sum()
    categories = sold.astype({"BranchID": "category", "ItemCode": "category"})
    for t, s in (
        (transfers, sold),
        (transfers, categories),
        (transfers[:0], sold),
        (transfers, sold[:0]),
        (transfers, categories[:0]),
    ):
        expected = _build_flows_by_columns(t, s)
        got = _build_flows(t, s, dense=dense)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert _build_flows(transfers[:0], sold[:0], dense=dense).empty


def see(codes: _KeyCodes, a: int, b: int) -> None:
    """Number ``a`` distinct values of the first column and ``b`` of the second."""
    n = max(a, b)
    codes.number([pd.Series(np.arange(n) % a), pd.Series(np.arange(n) % b)])


def test_a_key_column_widens_with_headroom_and_refuses_only_when_it_must() -> None:
    codes = _KeyCodes(["a", "b"])
    see(codes, 5, 2)
    assert codes.widen(limit=20) is True
    assert codes.bits == [3 + _HEADROOM, 1]  # five values need 3 bits
    see(codes, 40, 2)
    assert codes.widen(limit=20) is None  # 40 values fit in the 6 bits held
    see(codes, 40, 300)
    assert codes.widen(limit=20) is True
    assert codes.bits == [6, 9 + _HEADROOM]
    see(codes, 40, 5000)
    assert codes.widen(limit=19) is True  # 6 + 13 bits fit, the headroom does not
    assert codes.bits == [6, 13]
    see(codes, 70, 2)
    assert codes.widen(limit=19) is False  # 7 + 13 bits are needed: the packing is refused
    assert codes.bits == [6, 13]
    # Only the bits the values need count against the limit, not the headroom held.
    roomy = _KeyCodes(["a", "b"])
    see(roomy, 5, 2)
    roomy.widen(limit=20)
    see(roomy, 5, 2**13)
    assert roomy.widen(limit=16) is True
    assert roomy.bits == [3, 13]


@pytest.mark.parametrize("kind", ["whole", "negative zero", "fractional", "missing"])
def test_side_sums_of_whole_numbers_are_the_value_by_value_sums_to_the_bit(kind, monkeypatch):
    """One side of the flows summed per (sorted) group: whole numbers by ``np.bincount``, as
    the sums value by value and by pandas give them (-0.0 included); empty groups are 0.0."""
    rng = np.random.default_rng(11)
    n, groups = 2000, 700
    value = rng.integers(-20, 30, n).astype(np.float64)
    if kind == "negative zero":
        value[rng.random(n) < 0.4] = -0.0
    elif kind == "fractional":
        value = value / rng.choice([1, 3, 7], n)
    elif kind == "missing":
        value[rng.random(n) < 0.1] = np.nan
    group = np.sort(rng.integers(0, groups, n))
    got = _side_sums(group, value, groups)
    monkeypatch.setattr("stockout_sk.ingest.flows._exact_sums", lambda value: False)
    want = _side_sums(group, value, groups)
    assert np.array_equal(got.view(np.int64), want.view(np.int64))
