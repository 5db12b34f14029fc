"""Findings across files: what the accepted tables say about each other.

Each check is a small function returning its findings (none or one, two for the unknown branches
of sales and snapshot); :func:`_flows_and_findings` runs them in a fixed order. A finding never
rejects a row: the data is kept and a person is told. :func:`_training_findings` adds the
*blocking* ones: data on which training would fail or lie (no sales, no movements, a history
too short for the label or the training windows).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from stockout_sk.contract import BRANCH_ID, CURRENT_QUANTITY, DATE, ITEM_CODE, KEY_FIELDS
from stockout_sk.ingest.aggregate import _FROM_BRANCH_ID, _TO_BRANCH_ID
from stockout_sk.ingest.flows import _key_positions
from stockout_sk.ingest.report import Finding, ValidationReport
from stockout_sk.ingest.tables import _MovementStats, _SnapshotStats
from stockout_sk.schemas import (
    BRANCHES,
    EMPLOYEES,
    ITEM_MASTER,
    SALES_TRANSACTIONS,
    STOCK_CURRENT,
    STOCK_MOVEMENT,
)

#: How many example IDs a message shows.
_EXAMPLES = 5


def _flows_and_findings(
    build_flows: Callable[[], pd.DataFrame],
    *,
    branches: pd.DataFrame,
    items: pd.DataFrame,
    employees: pd.DataFrame,
    stock: pd.DataFrame,
    transfers: pd.DataFrame,
    sold: pd.DataFrame,
    movement_stats: _MovementStats,
    snapshot_stats: _SnapshotStats,
    returns: int,
) -> tuple[pd.DataFrame, list[Finding]]:
    """``build_flows()`` and every cross-file check, in report order; the checks that do not
    read the flows run on a second thread while the flows are built (numpy, mostly GIL-free)."""
    branch_ids = pd.Index(branches[BRANCH_ID].astype(object))
    snapshot = _key_index(stock)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(
            lambda: [
                *_external_ids(transfers, branch_ids),
                *_unknown_branches(sold, SALES_TRANSACTIONS.filename, branch_ids),
                *_unknown_branches(stock, STOCK_CURRENT.filename, branch_ids),
                *_sales_without_snapshot(sold, snapshot),
                *_movements_without_snapshot(transfers, snapshot, branch_ids),
            ]
        )
        last = pool.submit(
            lambda: [
                *_unknown_employee_branches(employees, branch_ids),
                *_negative_current_quantity(stock),
                *_sales_returns(returns),
                *_self_transfers(movement_stats.self_transfers),
                *_conflicting_duplicates(movement_stats.conflicting_duplicates),
                *_conflicting_snapshot_rows(snapshot_stats),
                *_empty_snapshot(stock),
            ]
        )
        flows = build_flows()
        of_flows = [*_flows_after_snapshot(flows, stock), *_unknown_items(items, stock, flows)]
        return flows, [*first.result(), *of_flows, *last.result()]


# --- IDs ----------------------------------------------------------------------------------------
def _distinct(ids: pd.Series) -> np.ndarray:
    """The distinct values of a column of IDs, in order of first appearance, as Python objects."""
    return np.asarray(ids.unique(), dtype=object)


def _external_ids(transfers: pd.DataFrame, branch_ids: pd.Index) -> list[Finding]:
    """From/To IDs that are not branches: warehouses and suppliers, kept as flows."""
    # Each column's distinct IDs first: a few, where the columns hold every transfer's.
    moved_ids = pd.Index(
        pd.unique(
            np.concatenate(
                [_distinct(transfers[_FROM_BRANCH_ID]), _distinct(transfers[_TO_BRANCH_ID])]
            )
        )
    )
    external = moved_ids.difference(branch_ids)
    if not len(external):
        return []
    return [
        Finding(
            "external_ids",
            f"{len(external)} From/To ID(s) are not in {BRANCHES.filename} and are treated as "
            f"external (warehouse, supplier; their inflow is still inflow): "
            f"{_examples(external)}",
            file=STOCK_MOVEMENT.filename,
            count=len(external),
        )
    ]


def _unknown_branches(frame: pd.DataFrame, filename: str, branch_ids: pd.Index) -> list[Finding]:
    """BranchIDs of sales or of the snapshot that are not in the branches file."""
    unknown = pd.Index(_distinct(frame[BRANCH_ID])).difference(branch_ids)
    if not (len(unknown) and len(frame)):
        return []
    return [
        Finding(
            "unknown_branches",
            f"{len(unknown)} BranchID(s) are not in {BRANCHES.filename}: {_examples(unknown)}",
            severity="warning",
            file=filename,
            count=len(unknown),
        )
    ]


def _unknown_items(items: pd.DataFrame, stock: pd.DataFrame, flows: pd.DataFrame) -> list[Finding]:
    """ItemCodes in the snapshot or the flows that the item master lacks (if it lists any)."""
    if not len(items):
        return []
    item_ids = pd.Index(items[ITEM_CODE].astype(object))
    used = pd.Index(
        pd.unique(
            pd.concat([stock[ITEM_CODE], pd.Series(flows[ITEM_CODE].unique())]).astype(object)
        )
    )
    unknown = used.difference(item_ids)
    if not len(unknown):
        return []
    return [
        Finding(
            "unknown_items",
            f"{len(unknown)} ItemCode(s) in stock or flows are not in {ITEM_MASTER.filename}: "
            f"{_examples(unknown)}",
            file=ITEM_MASTER.filename,
            count=len(unknown),
        )
    ]


def _unknown_employee_branches(employees: pd.DataFrame, branch_ids: pd.Index) -> list[Finding]:
    """Employees' BranchIDs (head office excluded) that are not in the branches file."""
    staffed = employees.loc[employees[BRANCH_ID] != "", BRANCH_ID].astype(object)
    unknown = pd.Index(pd.unique(staffed)).difference(branch_ids)
    if not len(unknown):
        return []
    return [
        Finding(
            "unknown_branches",
            f"{len(unknown)} employee BranchID(s) are not in {BRANCHES.filename}: "
            f"{_examples(unknown)}",
            file=EMPLOYEES.filename,
            count=len(unknown),
        )
    ]


# --- the snapshot as anchor ---------------------------------------------------------------------
def _sales_without_snapshot(sold: pd.DataFrame, snapshot: pd.MultiIndex) -> list[Finding]:
    """Branch×item keys with sales but no snapshot row: their stock cannot be anchored."""
    sale_keys = _key_index(_distinct_keys(sold, *KEY_FIELDS))
    absent = sale_keys[~sale_keys.isin(snapshot)]
    if not len(absent):
        return []
    return [
        Finding(
            "sales_without_snapshot",
            f"{len(absent)} branch×item key(s) with sales have no stock_current row (their "
            f"stock cannot be anchored): {_examples([f'{b}×{i}' for b, i in absent])}",
            severity="warning",
            file=SALES_TRANSACTIONS.filename,
            count=len(absent),
        )
    ]


def _movements_without_snapshot(
    transfers: pd.DataFrame, snapshot: pd.MultiIndex, branch_ids: pd.Index
) -> list[Finding]:
    """Branch×item keys at known branches with movements but no snapshot row."""
    moved = pd.concat(
        [
            _distinct_keys(transfers, _TO_BRANCH_ID, ITEM_CODE),
            _distinct_keys(transfers, _FROM_BRANCH_ID, ITEM_CODE),
        ]
    ).drop_duplicates()
    moved = moved[moved[BRANCH_ID].isin(branch_ids)]
    moved_keys = _key_index(moved)
    absent = moved_keys[~moved_keys.isin(snapshot)]
    if not len(absent):
        return []
    return [
        Finding(
            "movements_without_snapshot",
            f"{len(absent)} branch×item key(s) at known branches have movements but no "
            f"stock_current row: {_examples([f'{b}×{i}' for b, i in absent])}",
            severity="warning",
            file=STOCK_MOVEMENT.filename,
            count=len(absent),
        )
    ]


def _flows_after_snapshot(flows: pd.DataFrame, stock: pd.DataFrame) -> list[Finding]:
    """Daily flows dated after their key's snapshot: stock is walked forward from it."""
    if not (len(flows) and len(stock)):
        return []
    # Positions in the snapshot instead of a merge: no copy of the flow table.
    position = _key_positions(stock, flows)
    snapshot_day = stock["LastUpdatedAt"].dt.normalize().to_numpy()
    # A row of no key (-1) is compared with the last snapshot row, then let go: no masks.
    after = flows[DATE].to_numpy() > snapshot_day[position]
    after &= position >= 0
    if not after.any():
        return []
    n_keys = len(np.unique(position[after]))
    return [
        Finding(
            "flows_after_snapshot",
            f"{int(after.sum())} daily flow row(s) on {n_keys} key(s) are dated after "
            "their stock_current LastUpdatedAt (stock is walked forward from the snapshot)",
            file=STOCK_CURRENT.filename,
            count=int(after.sum()),
        )
    ]


def _negative_current_quantity(stock: pd.DataFrame) -> list[Finding]:
    """Snapshot rows below zero: kept as the anchor, but a person should look."""
    negative = int((stock[CURRENT_QUANTITY] < 0).sum())
    if not negative:
        return []
    return [
        Finding(
            "negative_current_quantity",
            f"{negative} snapshot row(s) have a negative CurrentQuantity (kept as the anchor)",
            severity="warning",
            file=STOCK_CURRENT.filename,
            count=negative,
        )
    ]


def _empty_snapshot(stock: pd.DataFrame) -> list[Finding]:
    """No snapshot row at all: nothing to anchor stock on."""
    if len(stock):
        return []
    return [
        Finding(
            "empty_snapshot",
            "no stock_current row was accepted: stock cannot be reconstructed",
            severity="warning",
            blocking=True,
            file=STOCK_CURRENT.filename,
            count=0,
        )
    ]


# --- counts of the movement and sales files -----------------------------------------------------
def _sales_returns(returns: int) -> list[Finding]:
    """Sales lines with a negative quantity, read as returns."""
    if not returns:
        return []
    return [
        Finding(
            "sales_returns",
            f"{returns} sales line(s) have a negative QuantitySold, read as returns",
            file=SALES_TRANSACTIONS.filename,
            count=returns,
        )
    ]


def _self_transfers(self_transfers: int) -> list[Finding]:
    """Movements from a branch to itself: net zero."""
    if not self_transfers:
        return []
    return [
        Finding(
            "self_transfers",
            f"{self_transfers} movement(s) have FromBranchID == ToBranchID "
            "(net zero: counted as both inflow and outflow)",
            file=STOCK_MOVEMENT.filename,
            count=self_transfers,
        )
    ]


def _conflicting_duplicates(conflicting: int) -> list[Finding]:
    """Duplicate MovementIDs whose content differs from the copy kept."""
    if not conflicting:
        return []
    return [
        Finding(
            "conflicting_duplicates",
            f"{conflicting} duplicate MovementID row(s) differ from "
            "the first copy (kept) in date, IDs or quantity",
            severity="warning",
            file=STOCK_MOVEMENT.filename,
            count=conflicting,
        )
    ]


def _conflicting_snapshot_rows(stats: _SnapshotStats) -> list[Finding]:
    """Snapshot keys given twice with the same LastUpdatedAt and different quantities."""
    if not stats.conflicting:
        return []
    return [
        Finding(
            "conflicting_duplicates",
            f"{stats.conflicting} stock_current row(s) repeat a BranchID×ItemCode with the same "
            f"LastUpdatedAt but different quantities: {', '.join(stats.examples)}. The later "
            "line is kept, which may be the wrong count: fix the export",
            severity="warning",
            file=STOCK_CURRENT.filename,
            count=stats.conflicting,
        )
    ]


# --- what training needs ------------------------------------------------------------------------
def _training_findings(
    report: ValidationReport, *, horizon: int, min_history_days: int | None
) -> list[Finding]:
    """Blocking findings: an empty sales or movements file, a history too short to train on."""
    out = []
    for filename, what in (
        (SALES_TRANSACTIONS.filename, "no sale: sales velocity is zero everywhere"),
        (STOCK_MOVEMENT.filename, "no movement: stock never receives a delivery"),
    ):
        rep = report.files.get(filename)
        if rep is not None and rep.accepted == 0:
            why = (
                "holds no data row (header only)"
                if rep.read == 0
                else (f"has no accepted row (all {rep.read:,} quarantined)")
            )
            out.append(
                Finding(
                    f"empty_{filename.removesuffix('.csv')}",
                    f"{why}: {what}, and the model and the baselines would be "
                    "trained and judged on that — training will fail or lie",
                    severity="warning",
                    file=filename,
                    count=0,
                    blocking=True,
                )
            )
    start, end = pd.Timestamp(report.history_start), pd.Timestamp(report.history_end)
    days = (end - start).days + 1
    needed = horizon + 1 if min_history_days is None else max(min_history_days, horizon + 1)
    if days < needed:
        why = (
            f"no label can mature (a label looks {horizon} days ahead)"
            if days <= horizon
            else f"training needs at least {needed} days for its windows"
        )
        out.append(
            Finding(
                "history_too_short",
                f"the history has {days} day(s) ({start.date()}..{end.date()}): {why}; export "
                "a longer history",
                severity="warning",
                count=days,
                blocking=True,
            )
        )
    return out


# --- helpers ------------------------------------------------------------------------------------
def _examples(values: pd.Index | np.ndarray | list[str]) -> str:
    """Up to ``_EXAMPLES`` values, sorted and quoted, and how many more."""
    shown = sorted(map(str, values))[:_EXAMPLES]
    more = len(values) - len(shown)
    return ", ".join(repr(v) for v in shown) + (f" and {more} more" if more > 0 else "")


def _distinct_keys(frame: pd.DataFrame, branch: str, item: str) -> pd.DataFrame:
    """The distinct pairs of ``frame``'s ``branch`` and ``item`` columns, as the branch×item
    keys (:data:`KEY_FIELDS`): counted on a grid of the columns' codes, not hashed as strings."""
    (b, branches), (i, items) = _codes(frame[branch]), _codes(frame[item])
    cell = b.astype(np.int64) * len(items)
    cell += i
    b, i = np.divmod(
        np.flatnonzero(np.bincount(cell, minlength=len(branches) * len(items))), len(items) or 1
    )
    return pd.DataFrame(
        {KEY_FIELDS[0]: np.asarray(branches)[b], KEY_FIELDS[1]: np.asarray(items)[i]}
    )


def _codes(column: pd.Series) -> tuple[np.ndarray, pd.Index | np.ndarray]:
    """Each row's number among the column's values (a missing value one of them)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        if not len(codes) or codes.min() >= 0:
            return codes, column.cat.categories
    return pd.factorize(column, use_na_sentinel=False)


def _key_index(frame: pd.DataFrame) -> pd.MultiIndex:
    """The branch×item keys of ``frame`` (as object, so that they compare across frames)."""
    return pd.MultiIndex.from_frame(frame[list(KEY_FIELDS)].astype(object))
