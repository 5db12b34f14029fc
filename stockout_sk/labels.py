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
    key_index = pd.MultiIndex.from_frame(keys[["BranchID", "ItemCode"]])
    flows = chain.flows
    k = key_index.get_indexer(pd.MultiIndex.from_frame(flows[["BranchID", "ItemCode"]]))
    inside = k >= 0
    d = ((flows["Date"] - days[0]).dt.days).to_numpy()
    net_values = (flows["inflow"] - flows["outflow"] - flows["sold"]).to_numpy(dtype=np.float64)
    net = np.zeros((len(keys), n_days), dtype=np.float64)
    np.add.at(net, (k[inside], d[inside]), net_values[inside])

    running = np.cumsum(net, axis=1)
    rows = np.arange(len(keys))
    # C(L) with C(−1) = 0: the running sum before the first day is zero.
    before_first = np.zeros((len(keys), 1))
    at_anchor = np.hstack([before_first, running])[rows, keys["anchor_day"].to_numpy() + 1]
    stock = (
        keys["CurrentQuantity"].to_numpy(dtype=np.float64)[:, None] + running - at_anchor[:, None]
    )

    negative = stock < 0
    negative_cells = int(negative.sum())
    negative_keys = int(negative.any(axis=1).sum())
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
        flows_outside_snapshot=int((~inside).sum()),
    )


def label_panel(panel: StockPanel, *, horizon: int = 7) -> np.ndarray:
    """Labels for every key and every as-of day whose label has matured.

    Returns a ``keys × (days − horizon)`` boolean array: entry ``[k, t]`` is
    ``min_{j=1..N} (S[k, t+j] − R) < SS``.
    """
    _check_horizon(horizon)
    n_days = panel.stock.shape[1]
    if n_days <= horizon:
        raise ValueError(
            f"the observed history has {n_days} days, which is not longer than the horizon "
            f"{horizon}: no label can mature. Provide more history or a shorter --horizon."
        )
    future = np.lib.stride_tricks.sliding_window_view(panel.stock[:, 1:], horizon, axis=1)
    future_min = future.min(axis=2)  # [k, t] = min_{j=1..N} S[k, t+j]
    reserved = panel.keys["ReservedQuantity"].to_numpy(dtype=np.float64)[:, None]
    safety = panel.keys["SafetyStockLevel"].to_numpy(dtype=np.float64)[:, None]
    return (future_min - reserved) < safety


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
    panel = reconstruct_stock(chain)
    labels = label_panel(panel, horizon=horizon)
    n_keys, n_asof = labels.shape

    asof = np.arange(n_asof)
    usable = asof[None, :] >= panel.keys["first_day"].to_numpy()[:, None]
    keys = panel.keys
    # Rows in (Date, BranchID, ItemCode) order straight away: keys sorted once, then the
    # transposed mask walks day by day, instead of a string sort of the whole table.
    order = np.lexsort(
        (keys["ItemCode"].to_numpy().astype(str), keys["BranchID"].to_numpy().astype(str))
    )
    day_idx, position = np.nonzero(usable[order].T)
    key_idx = order[position]

    frame = pd.DataFrame(
        {
            "BranchID": keys["BranchID"].to_numpy()[key_idx],
            "ItemCode": keys["ItemCode"].to_numpy()[key_idx],
            "Date": panel.days[day_idx],
            "CurrentQuantity": panel.stock[key_idx, day_idx],
            "ReservedQuantity": keys["ReservedQuantity"].to_numpy(dtype=np.float64)[key_idx],
            "SafetyStockLevel": keys["SafetyStockLevel"].to_numpy(dtype=np.float64)[key_idx],
            LABEL: labels[key_idx, day_idx].astype(np.int8),
        }
    )
    rows = len(frame)
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


def _check_horizon(horizon: int) -> None:
    check_int(horizon, "horizon (days)", caller="build_dataset")
