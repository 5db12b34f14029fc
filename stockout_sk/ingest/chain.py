"""What :func:`~stockout_sk.ingest.load_chain` returns: the typed tables of one chain."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from stockout_sk.ingest.report import ValidationReport

__all__ = ["ChainData"]


@dataclass(frozen=True, repr=False)
class ChainData:
    """Everything ingestion returns; see ``docs/ARCHITECTURE.md`` for the exact columns.

    Attributes
    ----------
    stock_current : pd.DataFrame
        One row per BranchID×ItemCode: BranchID, BranchName, ItemCode, ItemName (str);
        CurrentQuantity, ReservedQuantity, SafetyStockLevel (float64); LastUpdatedAt
        (datetime64[ns], naive).
    flows : pd.DataFrame
        BranchID, ItemCode (str); Date (datetime64[ns], midnight); inflow, outflow, sold
        (float64). Daily sums, only days with some flow, sorted by BranchID, ItemCode, Date;
        external IDs (warehouses, suppliers) included.
    transfers : pd.DataFrame
        Date (datetime64[ns]); FromBranchID, ToBranchID, ItemCode (str); QuantityMoved (float64):
        movements summed per day × from × to × item, after MovementID de-duplication.
    branches : pd.DataFrame
        BranchID, BranchName (str); OpeningDate (datetime64[ns]).
    items : pd.DataFrame
        ItemCode, ArabicName, EnglishName, BrandOnBox (str).
    employees : pd.DataFrame
        EmployeeID, FullName, Department, BranchID (str).
    report : ValidationReport
        Reconciliation and findings.
    history_start, history_end : pd.Timestamp
        First and last calendar day observed (movements, sales, snapshot dates).
    """

    stock_current: pd.DataFrame
    flows: pd.DataFrame
    transfers: pd.DataFrame
    branches: pd.DataFrame
    items: pd.DataFrame
    employees: pd.DataFrame
    report: ValidationReport
    history_start: pd.Timestamp
    history_end: pd.Timestamp

    def __repr__(self) -> str:
        return (
            f"ChainData(stock_current={len(self.stock_current)} rows, flows={len(self.flows)} "
            f"rows, transfers={len(self.transfers)} rows, branches={len(self.branches)}, "
            f"items={len(self.items)}, employees={len(self.employees)}, "
            f"history={self.history_start.date()}..{self.history_end.date()}, "
            f"ok={self.report.ok})"
        )
