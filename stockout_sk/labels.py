"""Point-in-time labels: reconstruct daily stock from the snapshot and the flows, then label.

For branch b, item i and calendar day d, ``net(d) = inflow − outflow − sold``. End-of-day stock is
anchored on the snapshot, ``S(L) = CurrentQuantity`` with ``L = date(LastUpdatedAt)``; every other
day follows from the flows, ``S(d) = S(L) + C(d) − C(L)`` where ``C`` is the running sum of ``net``
(that is ``S(L) − Σ_{d<k≤L} net(k)`` before the snapshot and ``S(L) + Σ_{L<k≤d} net(k)`` after).
The label at as-of day ``t`` is ``1`` iff ``min_{k=1..N} (S(t+k) − R) < SS``, and a row exists only
when ``t + N`` lies inside the observed history.

Everything is a dense ``keys × days`` numpy array: vectorised, no per-row Python.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stockout_sk.contract import (
    BRANCH_ID,
    CURRENT_QUANTITY,
    DATE,
    ITEM_CODE,
    KEY_FIELDS,
    LABEL,
    QUANTITY_FIELDS,
    RAW_FIELDS,
    RESERVED_QUANTITY,
    SAFETY_STOCK_LEVEL,
)
from stockout_sk.ingest.flows import _key_positions
from stockout_sk.ingest.memory import _reused_pages
from stockout_sk.params import check_int

if TYPE_CHECKING:
    from stockout_sk.ingest import ChainData

logger = logging.getLogger(__name__)


@dataclass
class StockPanel:
    """Reconstructed end-of-day stock for every branch×item of the snapshot.

    Attributes
    ----------
    keys : pd.DataFrame
        One row per branch×item: BranchID, ItemCode, ReservedQuantity, SafetyStockLevel,
        anchor_day (index of ``date(LastUpdatedAt)`` in ``days``; −1 before the first day, the
        last day's index after it), first_day (first usable day:
        the branch's opening date or the start of the history).
    days : pd.DatetimeIndex
        Every calendar day of the observed history.
    stock : np.ndarray
        ``len(keys) × len(days)`` end-of-day stock, clipped at 0.
    negative_cells : int
        How many key-days reconstructed below zero before clipping (a data-quality finding).
    """

    keys: pd.DataFrame
    days: pd.DatetimeIndex
    stock: np.ndarray
    negative_cells: int = 0
    negative_keys: int = 0
    flows_outside_snapshot: int = 0


@dataclass
class LabelledDataset:
    """The point-in-time training table and what building it found."""

    frame: pd.DataFrame
    horizon: int
    report: dict = field(default_factory=dict)


def reconstruct_stock(chain: ChainData) -> StockPanel:
    """Reconstruct daily end-of-day stock for every branch×item in ``stock_current``.

    Parameters
    ----------
    chain : ChainData
        Ingested data (see :func:`stockout_sk.ingest.load_chain`).

    Returns
    -------
    StockPanel
    """
    snapshot = chain.stock_current
    # The table contract is datetime64[ns] midnights, whatever unit the history bounds carry
    # (pandas 3 defaults to coarser units for parsed timestamps and date ranges).
    days = pd.date_range(
        pd.Timestamp(chain.history_start).normalize(),
        pd.Timestamp(chain.history_end).normalize(),
        freq="D",
        unit="ns",
    )
    n_days = len(days)
    keys = snapshot[[*KEY_FIELDS, *QUANTITY_FIELDS]].reset_index(drop=True)
    anchor = ((snapshot["LastUpdatedAt"].dt.normalize() - days[0]).dt.days).to_numpy()
    # A LastUpdatedAt outside the history (ingestion reports it) anchors at the nearest end: no
    # flow lies between it and the history, so the stock there is exactly CurrentQuantity.
    keys["anchor_day"] = np.clip(anchor, -1, n_days - 1).astype(np.int64)

    # Map each flow row to (key index, day index); flows of IDs not in the snapshot (a warehouse,
    # a supplier, an item never stocked) cannot be anchored and are only counted.
    flows = chain.flows
    key = _key_positions(keys, flows)
    outside = key < 0
    # Whole days since the first day (datetime64[D] floors, as ``.dt.days`` does), in place.
    day = flows[DATE].to_numpy().astype("datetime64[D]").view(np.int64)
    day -= days[0].to_datetime64().astype("datetime64[D]").view(np.int64)
    inflow, outflow, sold = (
        flows[name].to_numpy(dtype=np.float64) for name in ("inflow", "outflow", "sold")
    )
    net = np.subtract(inflow, outflow)
    net -= sold
    net = _day_sums(key, day, net, len(keys), n_days)

    # The running sum C, in place; then S = (CurrentQuantity + C) − C(L), also in place.
    stock = np.cumsum(net, axis=1, out=net)
    anchor_day = keys["anchor_day"].to_numpy()
    # C(L) with C(−1) = 0: the running sum before the first day is zero.
    at_anchor = np.where(
        anchor_day >= 0, stock[np.arange(len(keys)), np.maximum(anchor_day, 0)], 0.0
    )
    np.add(keys["CurrentQuantity"].to_numpy(dtype=np.float64)[:, None], stock, out=stock)
    np.subtract(stock, at_anchor[:, None], out=stock)

    negative = stock < 0
    negative_cells = int(np.count_nonzero(negative))
    negative_keys = int(np.count_nonzero(negative.any(axis=1)))
    del negative
    if negative_cells:
        logger.warning(
            "reconstructed stock is negative on %d key-days (%d branch×item keys); clipped at 0 — "
            "flows and the stock_current snapshot disagree for those keys",
            negative_cells,
            negative_keys,
        )
    np.clip(stock, 0, None, out=stock)

    first_day = np.zeros(len(keys), dtype=np.int64)
    if len(chain.branches) and "OpeningDate" in chain.branches:
        opening = chain.branches.drop_duplicates("BranchID").set_index("BranchID")["OpeningDate"]
        opened = keys["BranchID"].map(opening)
        offset = (opened.dt.normalize() - days[0]).dt.days.fillna(0).to_numpy()
        first_day = np.clip(offset, 0, n_days).astype(np.int64)
    keys["first_day"] = first_day

    return StockPanel(
        keys=keys.drop(columns="CurrentQuantity"),
        days=days,
        stock=stock,
        negative_cells=negative_cells,
        negative_keys=negative_keys,
        flows_outside_snapshot=int(np.count_nonzero(outside)),
    )


def label_panel(panel: StockPanel, *, horizon: int = 7) -> np.ndarray:
    """Labels for every key and every as-of day whose label has matured.

    Returns a ``keys × (days − horizon)`` boolean array: entry ``[k, t]`` is
    ``min_{j=1..N} (S[k, t+j] − R) < SS``.
    """
    _check_matured(panel, horizon)
    n_days = panel.stock.shape[1]
    # future_min[k, t] = min_{j=1..N} S[k, t+j], one elementwise minimum per j (a window view's
    # min(axis=2) reads the array N times too, but strided).
    n_asof = n_days - horizon
    future_min = panel.stock[:, 1 : n_asof + 1].copy()
    for j in range(2, horizon + 1):
        np.minimum(future_min, panel.stock[:, j : n_asof + j], out=future_min)
    future_min -= panel.keys["ReservedQuantity"].to_numpy(dtype=np.float64)[:, None]
    return future_min < panel.keys["SafetyStockLevel"].to_numpy(dtype=np.float64)[:, None]


def build_dataset(chain: ChainData, *, horizon: int = 7) -> LabelledDataset:
    """Build the labelled point-in-time training table.

    Parameters
    ----------
    chain : ChainData
        Ingested data.
    horizon : int, default=7
        N, the number of days ahead the label looks.

    Returns
    -------
    LabelledDataset
        ``frame`` has exactly the raw request fields (:data:`~stockout_sk.contract.RAW_FIELDS`)
        plus ``label``, one row per branch×item×as-of day from the branch's opening (or the
        start of the history) up to the last day whose label has matured; ``report`` counts
        rows, labels and data-quality findings.

    Examples
    --------
    >>> from stockout_sk.ingest import load_chain  # doctest: +SKIP
    >>> table = build_dataset(load_chain("sample_data"), horizon=7).frame  # doctest: +SKIP
    >>> table.columns.tolist()  # doctest: +SKIP
    ['BranchID', 'ItemCode', 'Date', 'CurrentQuantity', 'ReservedQuantity', 'SafetyStockLevel',
     'label']
    """
    # Arrays of tens of millions of cells made and dropped in turn: their pages are reused.
    with _reused_pages():
        return _build_dataset(chain, horizon)


def _build_dataset(chain: ChainData, horizon: int) -> LabelledDataset:
    panel = reconstruct_stock(chain)
    _check_matured(panel, horizon)
    keys = panel.keys
    n_keys, n_asof = len(keys), panel.stock.shape[1] - horizon
    # Rows in (Date, BranchID, ItemCode) order straight away: keys sorted once, then every
    # keys × days array is read day by day (transposed) through one mask of the usable cells,
    # instead of a string sort of the whole table.
    order = np.lexsort(
        (keys["ItemCode"].to_numpy().astype(str), keys["BranchID"].to_numpy().astype(str))
    )
    usable = np.arange(n_asof)[:, None] >= keys["first_day"].to_numpy()[order][None, :]
    per_day = np.count_nonzero(usable, axis=1)
    rows = int(per_day.sum())
    # Each row's position in the sorted keys (int32: half the memory, and Arrow takes it as is).
    position = np.broadcast_to(np.arange(n_keys, dtype=np.int32), usable.shape)[usable]

    def ids(name: str) -> pd.Series:
        # The table's string dtype is inferred once per key, then taken per row.
        per_key = pd.Series(keys[name].to_numpy()[order]).array
        return pd.Series(per_key.take(position), copy=False)

    # Arrow takes the two ID columns (tens of millions of strings) on a second thread, without
    # the GIL, while numpy builds the numbers and the labels here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        ids_taken = pool.map(ids, (BRANCH_ID, ITEM_CODE))
        label = np.empty(rows, dtype=bool)
        _day_major(label_panel(panel, horizon=horizon), order, usable, out=label)
        # The three quantities are written straight into the frame's float block: a dict of
        # columns would be copied into one block once more. Every column goes in without a copy.
        quantities = np.empty((3, rows), dtype=np.float64)
        _day_major(panel.stock, order, usable, out=quantities[0])
        for row, name in enumerate((RESERVED_QUANTITY, SAFETY_STOCK_LEVEL), start=1):
            per_key = keys[name].to_numpy(dtype=np.float64)[order]
            np.take(per_key, position, out=quantities[row], mode="clip")  # "raise" would buffer
        frame = pd.DataFrame(
            quantities.T,
            columns=[CURRENT_QUANTITY, RESERVED_QUANTITY, SAFETY_STOCK_LEVEL],
            copy=False,
        )
        for at, (name, column) in enumerate(zip((BRANCH_ID, ITEM_CODE), ids_taken, strict=True)):
            frame.insert(at, name, column)
    dates = np.repeat(panel.days.asi8[:n_asof], per_day).view("datetime64[ns]")
    frame.insert(2, DATE, pd.Series(dates, copy=False))
    frame.insert(len(frame.columns), LABEL, pd.Series(label.view(np.int8), copy=False))
    report = {
        "horizon": horizon,
        "rows": rows,
        "keys": n_keys,
        "asof_days": n_asof,
        "first_asof": str(panel.days[0].date()) if n_asof else None,
        "last_asof": str(panel.days[n_asof - 1].date()) if n_asof else None,
        "history_days": len(panel.days),
        "positive_rate": float(frame[LABEL].mean()) if rows else 0.0,
        "negative_stock_cells": panel.negative_cells,
        "negative_stock_keys": panel.negative_keys,
        "flow_rows_outside_snapshot": panel.flows_outside_snapshot,
    }
    logger.info(
        "built %d labelled rows (%d keys × up to %d as-of days), positive rate %.3f",
        rows,
        n_keys,
        n_asof,
        report["positive_rate"],
    )
    return LabelledDataset(frame=frame, horizon=horizon, report=report)


def snapshot_rows(chain: ChainData) -> pd.DataFrame:
    """The morning list's rows: every branch×item of the stock snapshot as a prediction request.

    The unlabelled counterpart of :func:`build_dataset`'s rows — :data:`RAW_FIELDS`, as of each
    row's ``date(LastUpdatedAt)`` (the export's last day), with the snapshot's quantities. What
    the scoring job scores every morning (:func:`stockout_sk.scoring.build_morning_list`) and
    what a new model's threshold is chosen on (:mod:`stockout_sk.training.morning`).
    """
    current = chain.stock_current.reset_index(drop=True)
    return pd.DataFrame(
        {
            BRANCH_ID: current[BRANCH_ID].astype(str),
            ITEM_CODE: current[ITEM_CODE].astype(str),
            DATE: pd.to_datetime(current["LastUpdatedAt"]).dt.strftime("%Y-%m-%d"),
            CURRENT_QUANTITY: current[CURRENT_QUANTITY].astype(np.float64),
            RESERVED_QUANTITY: current[RESERVED_QUANTITY].astype(np.float64),
            SAFETY_STOCK_LEVEL: current[SAFETY_STOCK_LEVEL].astype(np.float64),
        }
    )[list(RAW_FIELDS)]


def _day_major(values: np.ndarray, order: np.ndarray, usable: np.ndarray, *, out: np.ndarray):
    """Write the ``usable`` cells of a ``keys × days`` array into ``out``, day by day.

    ``usable`` is ``days × keys`` with the keys in ``order``; ``out`` has one entry per usable
    cell. Keys already in order (as ingestion writes the snapshot) are not gathered first.
    """
    n_asof = usable.shape[0]
    if np.array_equal(order, np.arange(len(order))):
        by_day = values[:, :n_asof].T
    else:
        by_day = values[order, :n_asof].T
    if usable.all():
        out.reshape(by_day.shape)[...] = by_day
    else:
        np.compress(usable.ravel(), by_day.ravel(), out=out)


def _day_sums(key: np.ndarray, day: np.ndarray, values: np.ndarray, n_keys: int, n_days: int):
    """``keys × days`` sums of ``values`` by (key, day), added in row order; ``key`` −1 is skipped.

    The three arrays are overwritten. A skipped row adds ``0.0`` to the first cell rather than
    being filtered out (three fewer copies of every flow row): every sum starts at ``+0.0``, so
    it is never ``−0.0`` and adding ``0.0`` leaves it exactly as it was.
    """
    skipped = key < 0
    key[skipped] = 0
    day[skipped] = 0
    values[skipped] = 0.0
    if len(day) and (day.min() < 0 or day.max() >= n_days):
        raise ValueError(
            f"flows are dated outside the history's {n_days} days (day offsets {day.min()} .. "
            f"{day.max()}): the chain's history_start/history_end must cover every flow row, "
            "as load_chain sets them."
        )
    flat = key.astype(np.int64, copy=False)
    flat *= n_days
    flat += day
    # [: n_keys * n_days]: with no key at all, the skipped rows' first cell does not exist.
    sums = np.bincount(flat, weights=values, minlength=n_keys * n_days)[: n_keys * n_days]
    # No rows at all gives integer zeros; the sums are float64 like the flows.
    return sums.astype(np.float64, copy=False).reshape(n_keys, n_days)


def _check_matured(panel: StockPanel, horizon: int) -> None:
    """Refuse a horizon that is not a whole number of days, or no shorter than the history."""
    _check_horizon(horizon)
    n_days = panel.stock.shape[1]
    if n_days <= horizon:
        raise ValueError(
            f"the observed history has {n_days} days, which is not longer than the horizon "
            f"{horizon}: no label can mature. Provide more history or a shorter --horizon."
        )


def _check_horizon(horizon: int) -> None:
    check_int(horizon, "horizon (days)", caller="build_dataset")
