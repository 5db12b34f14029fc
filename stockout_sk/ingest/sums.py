"""Packed integer keys summed and ordered by numpy where that gives pandas' results to the bit.

* :func:`_sum_by_key`: ``groupby(_KEY, sort=False)`` sums; whole numbers (:func:`_exact_sums`)
  by ``np.bincount``, whose partial sums are then exact whatever the order of the additions;
* :func:`_sum_by_cell`: the same sums in the keys' order, from the cells of a grid;
* :func:`_stable_order`: ``np.argsort(kind="stable")`` of non-negative keys of known width, by
  radix sort or by a plain sort of keys made distinct by their position.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Sums of whole numbers below this are exact in float64 whatever the order of the additions.
_EXACT = 2.0**53
#: Bits a packed key may use (an int64, its sign left alone).
_KEY_BITS = 63
_KEY = "_key"


def _sum_by_key(frame: pd.DataFrame, values: list[str], first: str | None = None) -> pd.DataFrame:
    """``frame`` grouped by ``_KEY`` in order of first appearance: ``values`` summed, ``first``
    (a column without missing values) the group's first.

    What ``groupby(_KEY, sort=False)`` gives; a column whose sums are exact whatever the order
    of the additions (:func:`_exact_sums`) is summed by ``np.bincount``.
    """
    codes, uniques = pd.factorize(frame[_KEY].to_numpy(), sort=False)
    out = {_KEY: uniques}
    for v in values:
        value = frame[v].to_numpy(dtype=np.float64)
        if _exact_sums(value):
            out[v] = np.bincount(codes, weights=value, minlength=len(uniques))
        else:
            out[v] = frame[v].groupby(codes, sort=False).sum().to_numpy()
    if first is not None:
        # The codes number the groups as they first appear: a first row raises their maximum.
        rise = np.diff(np.maximum.accumulate(codes), prepend=-1) > 0
        out[first] = frame[first].to_numpy()[rise]
    return pd.DataFrame(out)


def _sum_by_cell(
    numbers: list[np.ndarray], sizes: list[int], value: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct keys of rows numbered ``numbers`` (column ``j``'s below ``sizes[j]``) and
    the sum of ``value`` per key, the keys in the order of their numbers, column by column.

    The keys are cells of the grid of every column's numbers, counted and summed there by
    ``np.bincount``: no hashing, for values whose sums are exact in any order
    (:func:`_exact_sums`) over a grid a small multiple of the rows.
    """
    cell = numbers[0].astype(np.int64)
    for n, size in zip(numbers[1:], sizes[1:], strict=True):
        cell *= size
        cell += n
    cells = int(np.prod(sizes, dtype=np.int64))
    present = np.bincount(cell, minlength=cells) > 0
    sums = np.bincount(cell, weights=value, minlength=cells)[present]
    at = np.flatnonzero(present)
    keys = []
    for size in reversed(sizes[1:]):
        at, n = np.divmod(at, size)
        keys.append(n)
    return [at, *keys[::-1]], sums


def _stable_order(key: np.ndarray, bits: int) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of non-negative keys below ``2**bits``, sooner.

    Keys of 16 bits or fewer are sorted as ``uint16`` (numpy's radix sort). Wider ones get
    their position appended in the low bits where both fit in 63: the keys become distinct,
    ordered by key then position, and plain ``np.sort`` of them (SIMD, not merging) gives
    the stable order in those low bits.
    """
    n = len(key)
    if bits <= 16:
        return np.argsort(key.astype(np.uint16), kind="stable")
    position_bits = max(1, (n - 1).bit_length())
    if bits + position_bits > _KEY_BITS:
        return np.argsort(key, kind="stable")
    tagged = np.sort((key << position_bits) | np.arange(n, dtype=np.int64))
    return tagged & ((1 << position_bits) - 1)


def _exact_sums(value: np.ndarray) -> bool:
    """Whole numbers whose absolute values add up to less than 2**53, none of them ``-0.0``:
    every partial sum of them is exact, so any order or compensation of the additions gives
    the same sums, never ``-0.0`` (which pandas gives for some groups of ``-0.0`` and not
    others); a missing or infinite value, which pandas treats apart, is never one of them."""
    return (
        bool(np.abs(value).sum() < _EXACT)
        and bool((value == np.round(value)).all())
        and not bool(np.signbit(value[value == 0]).any())
    )


def _compensated_sums(group: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``value`` per ``group`` (0 … n-1, rows in any order), each group's values added
    in row order with the compensation of pandas' Cython grouped sum: missing values skipped,
    a group with none 0.0, a lone value ``v`` summed to ``0.0 + v`` (so ``-0.0`` gives 0.0).

    pandas itself adds a group's values so only while the groups interleave: groups that come
    sorted are summed by ``np.add.reduceat``, without compensation. Here the layout does not
    matter. A group of several values is summed one position at a time — the k-th values of
    every group still holding one, at once — so the steps are as many as the largest group's
    values.
    """
    kept = ~np.isnan(value)
    if not kept.all():
        group, value = group[kept], value[kept]
    sums = np.zeros(n)
    alone = np.bincount(group, minlength=n)[group] == 1
    sums[group[alone]] = 0.0 + value[alone]
    if alone.all():
        return sums
    group, value = group[~alone], value[~alone]
    order = np.argsort(group, kind="stable")  # each group's rows together, in row order
    group, value = group[order], value[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.append(starts, len(group)))
    largest_first = np.argsort(-sizes, kind="stable")
    starts, sizes = starts[largest_first], sizes[largest_first]
    compensation = np.zeros(n)
    with np.errstate(invalid="ignore"):  # inf - inf: pandas drops the compensation
        for k in range(int(sizes[0])):
            at = starts[: np.count_nonzero(sizes > k)] + k
            g = group[at]
            y = value[at] - compensation[g]
            t = sums[g] + y
            c = (t - sums[g]) - y
            c[np.isnan(c)] = 0.0
            compensation[g] = c
            sums[g] = t
    return sums
