"""The daily flows: inflow, outflow and sold per branch × item × day, from transfers and sales.

Every path gives the same table to the bit: rows in branch, item and day order (as the strings
sort), zero days dropped, a side's values added per key in row order — whole numbers exactly,
any others with pandas' compensation (:func:`~stockout_sk.ingest.sums._compensated_sums`), as
grouping the three sides stacked by their key columns adds them (:func:`_build_flows_by_columns`,
the reference).

* **dense** (:func:`_dense_flows`), where the branches × items × days the tables name number
  at most about twice the rows: each side is summed by ``np.bincount`` straight into a cell of
  that grid, and the cells with a flow, read in grid order, are the rows in order. No sort,
  and no array longer than the grid or the rows;
* **sorted** (:func:`_sorted_flows`), a sparser grid: the packed keys sorted once, summed per
  run;
* **by columns**, keys too wide to pack into 63 bits.

:func:`_key_positions` finds the row of a table of keys each flow row belongs to, looked up
once per run of rows of one key (the flows come grouped by key).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockout_sk.contract import BRANCH_ID, DATE, ITEM_CODE
from stockout_sk.ingest.aggregate import (
    _DT,
    _FLOW_DTYPES,
    _FLOW_KEYS,
    _FLOW_VALUES,
    _FROM_BRANCH_ID,
    _INFLOW,
    _OUTFLOW,
    _QUANTITY_MOVED,
    _SOLD,
    _TO_BRANCH_ID,
    _empty_frame,
    _KeyCodes,
    _sort_ranks,
)
from stockout_sk.ingest.sums import _compensated_sums, _exact_sums, _stable_order

#: The grid of branches × items × days is summed densely when its cells number at most this
#: many times the rows, plus :data:`_DENSE_SLACK` (below that, three float cells per grid cell
#: take less memory than the sort's arrays per row).
_DENSE_RATIO = 2
_DENSE_SLACK = 1 << 20
#: A side with fewer rows than the grid's cells over this is summed per distinct cell it holds
#: (the transfers: a few cells of the grid), not into a whole grid of its own.
_SPARSE_SIDE = 8


def _build_flows(
    transfers: pd.DataFrame, sold: pd.DataFrame, *, dense: bool | None = None
) -> pd.DataFrame:
    """inflow (To = b), outflow (From = b) and sold per branch × item × day; zero days dropped.

    ``dense``: force the dense (True) or the sorted (False) path; ``None`` chooses by the
    size of the grid (module docstring). The keys are numbered by each column's rank among
    its sorted values, so that the grid's order and the packed keys' order are the rows'.
    """
    sides = [
        (transfers, _TO_BRANCH_ID, _QUANTITY_MOVED),
        (transfers, _FROM_BRANCH_ID, _QUANTITY_MOVED),
        (sold, BRANCH_ID, _SOLD),
    ]
    codes = _KeyCodes(_FLOW_KEYS)
    numbered = [codes.number([f[b], f[ITEM_CODE], f[DATE]]) for f, b, _ in sides]
    amounts = [f[value].to_numpy(dtype=np.float64) for f, _, value in sides]
    sizes = [len(v) for v in codes._values]
    cells = int(np.prod(sizes, dtype=np.float64))
    if dense is None:
        rows = sum(len(a) for a in amounts)
        dense = cells <= _DENSE_RATIO * rows + _DENSE_SLACK
    if dense:
        return _dense_flows(codes, numbered, amounts, sizes)
    if codes.widen() is False:
        return _build_flows_by_columns(transfers, sold)
    return _sorted_flows(codes, numbered, amounts)


def _dense_flows(
    codes: _KeyCodes,
    numbered: list[tuple[list[np.ndarray], np.ndarray]],
    amounts: list[np.ndarray],
    sizes: list[int],
) -> pd.DataFrame:
    """The flows summed into the cells of the grid of the keys' ranks (:func:`_build_flows`)."""
    cells = int(np.prod(sizes))
    if not cells:
        return _empty_frame(_FLOW_DTYPES)
    ranks = codes.ranks()
    some_flow = np.zeros(cells, dtype=bool)
    sums: list[tuple[np.ndarray | None, np.ndarray]] = []  # per side: its cells (None: all)
    for (numbers, complete), amount in zip(numbered, amounts, strict=True):
        cell = ranks[0][numbers[0]].astype(np.int64)
        for rank, n, size in zip(ranks[1:], numbers[1:], sizes[1:], strict=True):
            cell *= size
            cell += rank[n]
        if not complete.all():
            cell, amount = cell[complete], amount[complete]
        if len(cell) * _SPARSE_SIDE < cells:  # few rows (the transfers): their cells alone
            at, group = _distinct_cells(cell, cells)
            side = _side_sums(group, amount, len(at))
            some_flow[at[side != 0]] = True
            sums.append((at, side))
        else:
            side = _side_sums(cell, amount, cells)
            np.logical_or(some_flow, side != 0, out=some_flow)
            sums.append((None, side))
        del cell, amount
    del numbered
    n_branches, n_items, n_days = sizes
    n = int(np.count_nonzero(some_flow))
    # The three sums written straight into the frame's float block (a dict of columns would be
    # copied into one block once more), then the key columns decoded from the grid's shape.
    block = np.zeros((len(_FLOW_VALUES), n), dtype=np.float64)
    rows_before: np.ndarray | None = None  # per cell: the flow rows up to it
    for row, (at, side) in enumerate(sums):
        if at is None:
            np.compress(some_flow, side, out=block[row])
            continue
        if rows_before is None:
            rows_before = np.cumsum(some_flow, dtype=np.int64 if n >= 2**31 else np.int32)
        kept = some_flow[at]
        block[row, rows_before[at[kept]] - 1] = side[kept]
    del sums, rows_before
    frame = pd.DataFrame(block.T, columns=list(_FLOW_VALUES), copy=False)
    per_key = np.count_nonzero(some_flow.reshape(n_branches * n_items, n_days), axis=1)
    branch = np.repeat(np.arange(n_branches, dtype=np.int32), per_key.reshape(-1, n_items).sum(1))
    item = np.repeat(np.tile(np.arange(n_items, dtype=np.int32), n_branches), per_key)
    day_ranks = np.arange(n_days, dtype=np.int32)
    day = np.broadcast_to(day_ranks, (n_branches * n_items, n_days))[some_flow.reshape(-1, n_days)]
    del some_flow
    for at, (column, values, rank) in enumerate(
        zip(_FLOW_KEYS, codes._values, (branch, item, day), strict=True)
    ):
        column_values = _sorted_values(values, _FLOW_DTYPES[column], rank)
        frame.insert(at, column, pd.Series(column_values, copy=False))
    return frame


def _distinct_cells(cell: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(cell, return_inverse=True)`` of cells below ``cells``, from one plain sort
    of the cells tagged with their positions (:func:`~stockout_sk.ingest.sums._stable_order`)
    instead of an argsort."""
    order = _stable_order(cell, max(1, (cells - 1).bit_length()))
    ordered = cell[order]
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    group = np.empty(len(cell), dtype=np.int64)
    group[order] = np.cumsum(first) - 1
    return ordered[first], group


def _sorted_values(values: list, dtype: str, rank: np.ndarray):
    """The column whose values, sorted, are taken at ``rank``, with ``dtype``."""
    if dtype == _DT:
        return np.sort(np.asarray(values, dtype=np.int64))[rank].view(_DT)
    known = np.asarray(values, dtype=object)
    return pd.array(known[_sort_ranks(known)[0]], dtype=dtype).take(rank)


def _sorted_flows(
    codes: _KeyCodes,
    numbered: list[tuple[list[np.ndarray], np.ndarray]],
    amounts: list[np.ndarray],
) -> pd.DataFrame:
    """The flows from one stable sort of the packed keys (:func:`_build_flows`)."""
    ranks = codes.ranks()
    keys, values, side = [], [], []
    for j, amount in enumerate(amounts):
        numbers, complete = numbered.pop(0)  # freed side by side
        key = codes.pack([r[n] for r, n in zip(ranks, numbers, strict=True)])
        if not complete.all():
            key, amount = key[complete], amount[complete]
        keys.append(key)
        values.append(amount)
        side.append(np.full(len(key), j, dtype=np.int8))
        del numbers, key, amount
    key = np.concatenate(keys)
    del keys
    order = _stable_order(key, sum(codes.bits))  # a key's rows stay in stacking order
    key = key[order]
    value, side_of = np.concatenate(values)[order], np.concatenate(side)[order]
    del values, side, order
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    distinct = key[first]
    del key
    group = np.cumsum(first, dtype=np.int64) - 1
    del first
    sums = {}
    for j, name in enumerate(_FLOW_VALUES):
        mine = side_of == j
        sums[name] = _side_sums(group[mine], value[mine], len(distinct))
    del group, value, side_of
    some_flow = (sums[_INFLOW] != 0) | (sums[_OUTFLOW] != 0) | (sums[_SOLD] != 0)
    flows = codes.values(distinct[some_flow], _FLOW_DTYPES, ranked=True)
    del distinct
    flows.update({name: sums.pop(name)[some_flow] for name in _FLOW_VALUES})
    return pd.DataFrame(flows).astype(_FLOW_DTYPES)[list(_FLOW_DTYPES)]


def _side_sums(group: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``value`` per ``group`` (0 … n-1, rows in any order), as grouping the sides
    stacked sums it: whole numbers (:func:`_exact_sums`) by ``np.bincount``, any others with
    pandas' compensation in row order (:func:`_compensated_sums`)."""
    if _exact_sums(value):
        # No rows at all give integer zeros.
        return np.bincount(group, weights=value, minlength=n).astype(np.float64, copy=False)
    return _compensated_sums(group, value, n)


def _build_flows_by_columns(transfers: pd.DataFrame, sold: pd.DataFrame) -> pd.DataFrame:
    """:func:`_build_flows` grouped by the key columns themselves (keys too wide to pack)."""
    keys = _FLOW_KEYS
    inflow = transfers.rename(columns={_TO_BRANCH_ID: BRANCH_ID, _QUANTITY_MOVED: _INFLOW})[
        [*keys, _INFLOW]
    ]
    outflow = transfers.rename(columns={_FROM_BRANCH_ID: BRANCH_ID, _QUANTITY_MOVED: _OUTFLOW})[
        [*keys, _OUTFLOW]
    ]
    sold = sold.astype({DATE: _DT})  # its days as categories would make the dates objects
    parts = [p for p in (inflow, outflow, sold) if len(p)]
    stacked = pd.concat(parts, ignore_index=True)
    for col in _FLOW_VALUES:
        if col not in stacked:
            stacked[col] = 0.0
    values = list(_FLOW_VALUES)
    flows = stacked.groupby(keys, sort=False, as_index=False, observed=True)[values].sum()
    some_flow = (flows[values] != 0).any(axis=1)
    flows = flows[some_flow].astype(_FLOW_DTYPES)
    return flows.sort_values(keys, kind="stable", ignore_index=True)[list(_FLOW_DTYPES)]


def _key_positions(keys: pd.DataFrame, flows: pd.DataFrame) -> np.ndarray:
    """Row of ``keys`` each flow row belongs to (by branch × item), −1 where none does.

    Looked up once per run of consecutive rows of one branch×item (ingestion writes the flows
    grouped by key, so there are about as many runs as keys); any order is still right.
    """
    n = len(flows)
    changed = np.zeros(n, dtype=bool)
    changed[:1] = True
    for name in (BRANCH_ID, ITEM_CODE):
        values = flows[name].array
        changed[1:] |= np.asarray(values[1:] != values[:-1], dtype=bool)
    heads = np.flatnonzero(changed)
    key_index = pd.MultiIndex.from_frame(keys[[BRANCH_ID, ITEM_CODE]])
    at_heads = key_index.get_indexer(
        pd.MultiIndex.from_frame(flows[[BRANCH_ID, ITEM_CODE]].take(heads))
    )
    return np.repeat(at_heads, np.diff(np.append(heads, n)))
