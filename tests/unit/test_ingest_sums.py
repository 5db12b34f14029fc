"""Unit tests of the numpy fast paths for packed keys (:mod:`stockout_sk.ingest.sums`, #14.4).

Each is held to what pandas or numpy's stable sort gives, to the bit: the sums (signed zeros
included) and the orders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockout_sk.ingest.aggregate import _SEQ
from stockout_sk.ingest.sums import (
    _KEY,
    _compensated_sums,
    _stable_order,
    _sum_by_cell,
    _sum_by_key,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("in_order", [False, True])
@pytest.mark.parametrize(
    "kind", ["whole", "negative zero", "fractional", "missing", "infinite", "beyond 2**53"]
)
def test_sums_by_key_are_pandas_grouped_sums_to_the_bit(kind: str, in_order: bool) -> None:
    """Whole numbers go through ``np.bincount``, anything else through pandas; both give
    ``groupby(sort=False)``'s keys, sums (bit for bit, the sign of a zero too) and firsts."""
    rng = np.random.default_rng(7)
    n = 3000
    value = rng.integers(-40, 60, n).astype(np.float64)
    if kind == "negative zero":
        value[rng.random(n) < 0.3] = -0.0
    elif kind == "fractional":
        value = value / rng.choice([1, 3, 7, 10], n)
    elif kind == "missing":
        value[rng.random(n) < 0.1] = np.nan
    elif kind == "infinite":
        value[[5, 900]] = [np.inf, -np.inf]
    elif kind == "beyond 2**53":
        value[::97] = 2.0**53 + 2
    key = rng.integers(0, 400, n) * 7919
    # Keys in order: pandas adds each group's values without compensation (-0.0 stays).
    frame = pd.DataFrame({_KEY: np.sort(key) if in_order else key, "v": value, _SEQ: np.arange(n)})
    got = _sum_by_key(frame, ["v"], first=_SEQ)
    want = frame.groupby(_KEY, sort=False, as_index=False).agg(
        v=("v", "sum"), **{_SEQ: (_SEQ, "first")}
    )
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert np.array_equal(got["v"].to_numpy().view(np.int64), want["v"].to_numpy().view(np.int64))


@pytest.mark.parametrize("sizes", [[1], [3, 1, 5], [50, 1000, 4], [7, 2]])
def test_sums_by_cell_are_the_grouped_sums_in_the_keys_order(sizes: list[int]) -> None:
    """Each distinct key once, its whole-number sum exact, keys sorted column by column."""
    rng = np.random.default_rng(sum(sizes))
    n = 4000
    numbers = [rng.integers(0, size, n) for size in sizes]
    value = rng.integers(-40, 60, n).astype(np.float64)
    keys, sums = _sum_by_cell(numbers, sizes, value)
    frame = pd.DataFrame({f"k{j}": n for j, n in enumerate(numbers)} | {"v": value})
    want = frame.groupby(list(frame.columns[:-1]), sort=True)["v"].sum()
    want_keys = want.index.to_frame(index=False)
    assert [k.tolist() for k in keys] == [want_keys[c].tolist() for c in want_keys]
    assert np.array_equal(sums, want.to_numpy())
    assert not np.signbit(sums[sums == 0]).any()


@pytest.mark.parametrize("bits", [1, 9, 16, 17, 30, 45, 62])
@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_stable_order_is_the_stable_argsort(bits: int, n: int) -> None:
    """Radix (16 bits), position-tagged sort, or (no room for the tags) the merge sort: the
    order of ``np.argsort(kind="stable")``, ties kept in row order."""
    rng = np.random.default_rng(bits * 100 + n)
    key = rng.integers(0, min(2**bits, 40), n) * (2**bits // 40 or 1)  # many ties, wide values
    assert key.max(initial=0) < 2**bits
    got = _stable_order(key, bits)
    assert np.array_equal(got, np.argsort(key, kind="stable"))


def compensated_reference(group: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """pandas' Cython grouped sum written out, row by row: skip a missing value, add the next
    one with the group's compensation, drop a compensation that is not a number."""
    sums, compensation = [0.0] * n, [0.0] * n
    for g, v in zip(group.tolist(), value.tolist(), strict=True):
        if v != v:
            continue
        y = v - compensation[g]
        t = sums[g] + y
        compensation[g] = t - sums[g] - y
        if compensation[g] != compensation[g]:
            compensation[g] = 0.0
        sums[g] = t
    return np.array(sums)


@pytest.mark.parametrize(
    "kind", ["fractional", "negative zero", "missing", "infinite", "one large group", "empty"]
)
def test_compensated_sums_add_each_group_as_pandas_does_whatever_the_layout(kind: str) -> None:
    """Rows in any order, groups of one value to hundreds: the sums, bit for bit, of pandas'
    compensated grouped sum written out row by row, and of pandas itself where it compensates
    (interleaved groups). Its sorted layout (``np.add.reduceat``, no compensation) differs."""
    rng = np.random.default_rng(21)
    n, groups = 4000, 1500
    value = rng.integers(-40, 60, n) / rng.choice([1, 3, 7, 10], n)
    group = rng.integers(0, groups, n)
    if kind == "negative zero":
        value[rng.random(n) < 0.5] = -0.0
    elif kind == "missing":
        value[rng.random(n) < 0.2] = np.nan
    elif kind == "infinite":
        value[[5, 900, 901]] = [np.inf, -np.inf, np.inf]
    elif kind == "one large group":
        group[rng.random(n) < 0.3] = 7
    elif kind == "empty":
        group, value = group[:0], value[:0]
    got = _compensated_sums(group, value, groups)
    want = compensated_reference(group, value, groups)
    assert np.array_equal(got.view(np.int64), want.view(np.int64), equal_nan=False)
    by_pandas = pd.Series(value).groupby(group).sum().reindex(range(groups), fill_value=0.0)
    assert np.array_equal(got.view(np.int64), by_pandas.to_numpy().view(np.int64))
    if kind == "fractional":
        order = np.argsort(group, kind="stable")
        sorted_layout = pd.Series(value[order]).groupby(group[order]).sum()
        assert not np.array_equal(sorted_layout.to_numpy(), got[sorted_layout.index])
