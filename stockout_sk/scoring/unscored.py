"""What the morning list could not score, and why: nothing leaves the list without a word.

A branch×item is scored when ``stock_current`` has an accepted row for it. Two kinds are not:

* **quarantined snapshot rows** — ``stock_current.csv`` rows that ingestion rejected (a missing
  ``ItemCode``, an unreadable ``LastUpdatedAt``, …). With the rejects file (``load_chain`` called
  with ``out_dir``) each is listed with its line and reason; without it, one entry per reason
  with the count. A rejected duplicate of a key that was scored is not missing and is left out
  (without the rejects file it cannot be told apart, and is counted).
* **items with no snapshot row** — a branch×item that sells, or receives or sends stock, at one
  of the chain's branches, but has no row in ``stock_current.csv`` at all: its stock cannot be
  anchored, so it cannot be scored.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from stockout_sk.contract import BRANCH_ID, DATE, ITEM_CODE
from stockout_sk.ingest import REJECT_LINE_COLUMN, REJECT_REASON_COLUMN
from stockout_sk.schemas import STOCK_CURRENT
from stockout_sk.scoring.items import name_items

__all__ = ["NO_SNAPSHOT", "QUARANTINED", "UNSCORED_COLUMNS", "unscored_items"]

logger = logging.getLogger(__name__)

#: The two kinds of unscored items (the ``kind`` column).
QUARANTINED = "quarantined snapshot row"
NO_SNAPSHOT = "no snapshot row"
#: Columns of :attr:`MorningList.unscored`.
UNSCORED_COLUMNS = (BRANCH_ID, ITEM_CODE, "ItemName", "kind", "reason", "line", "count")


def _loose(name: str) -> str:
    # The header matching ingestion uses: without case, spaces or underscores.
    return re.sub(r"[\s_]+", "", str(name)).lower()


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A contract column of a rejects file by its loose name; empty strings when absent."""
    wanted = _loose(name)
    for column in frame.columns:
        if _loose(column) == wanted:
            return frame[column].fillna("").astype(str).str.strip()
    return pd.Series("", index=frame.index, dtype=object)


def _quarantined(chain: Any, scored: pd.MultiIndex) -> pd.DataFrame:
    report = chain.report.files.get(STOCK_CURRENT.filename) if hasattr(chain, "report") else None
    if report is None or report.rejected == 0:
        return pd.DataFrame(columns=list(UNSCORED_COLUMNS))
    path = Path(report.rejects_path) if report.rejects_path else None
    if path is None or not path.is_file():
        # No rejects file: the counts per reason are all there is.
        rows = [
            {
                "kind": QUARANTINED,
                "reason": f"{reason} — {STOCK_CURRENT.filename} row(s) quarantined",
                "count": int(count),
            }
            for reason, count in report.top_reasons(len(report.reasons))
        ]
        return pd.DataFrame(rows, columns=list(UNSCORED_COLUMNS))
    rejects = pd.read_csv(path, dtype=str, keep_default_na=False)
    branch, item = _column(rejects, BRANCH_ID), _column(rejects, ITEM_CODE)
    frame = pd.DataFrame(
        {
            BRANCH_ID: branch,
            ITEM_CODE: item,
            "ItemName": _column(rejects, "ItemName"),
            "kind": QUARANTINED,
            "reason": rejects.get(REJECT_REASON_COLUMN, pd.Series("", index=rejects.index)),
            "line": pd.to_numeric(
                rejects.get(REJECT_LINE_COLUMN, pd.Series(dtype=object)), errors="coerce"
            ).astype("Int64"),
            "count": 1,
        }
    )
    frame["reason"] = (
        frame["reason"].astype(str)
        + f" ({STOCK_CURRENT.filename} line "
        + frame["line"].astype(str)
        + ")"
    )
    keyed = (branch != "") & (item != "")
    was_scored = keyed & pd.MultiIndex.from_arrays([branch, item]).isin(scored)
    return frame.loc[~was_scored.to_numpy()].reset_index(drop=True)


def _without_snapshot(chain: Any, scored: pd.MultiIndex, quarantined: pd.DataFrame) -> pd.DataFrame:
    flows = getattr(chain, "flows", None)
    if flows is None or flows.empty:
        return pd.DataFrame(columns=list(UNSCORED_COLUMNS))
    branches = getattr(chain, "branches", None)
    active = flows
    if branches is not None and len(branches):
        # Movements name warehouses and suppliers too: only the chain's branches hold stock.
        active = flows[flows[BRANCH_ID].isin(branches[BRANCH_ID])]
    else:
        active = flows[flows["sold"] > 0]
    last = active.groupby([BRANCH_ID, ITEM_CODE], sort=True, observed=True)[DATE].max()
    keys = last.index
    listed = pd.MultiIndex.from_arrays(
        [quarantined[BRANCH_ID].astype(str), quarantined[ITEM_CODE].astype(str)]
    )
    missing = ~keys.isin(scored) & ~keys.isin(listed)
    last = last[missing]
    return pd.DataFrame(
        {
            BRANCH_ID: last.index.get_level_values(0).astype(str),
            ITEM_CODE: last.index.get_level_values(1).astype(str),
            "ItemName": "",
            "kind": NO_SNAPSHOT,
            "reason": [
                f"no row in {STOCK_CURRENT.filename}, but it sold or moved stock here (last on "
                f"{pd.Timestamp(day).date()}): its stock cannot be anchored"
                for day in last.to_numpy()
            ],
            "line": pd.array([pd.NA] * len(last), dtype="Int64"),
            "count": 1,
        },
        columns=list(UNSCORED_COLUMNS),
    )


def unscored_items(chain: Any, scored: pd.MultiIndex) -> pd.DataFrame:
    """Every branch×item the morning list could not score, with the reason.

    Parameters
    ----------
    chain : ChainData
        The ingested chain (its report, and the rejects file when it was written).
    scored : MultiIndex
        ``(BranchID, ItemCode)`` of the scored rows.

    Returns
    -------
    DataFrame
        Columns :data:`UNSCORED_COLUMNS`: ``kind`` is :data:`QUARANTINED` or :data:`NO_SNAPSHOT`,
        ``reason`` a sentence, ``line`` the ``stock_current.csv`` line of a quarantined row,
        ``count`` the rows an entry stands for (more than 1 only without a rejects file).
        ``ItemName`` is the item master's name where there is one.
    """
    quarantined = _quarantined(chain, scored)
    missing = _without_snapshot(chain, scored, quarantined)
    frame = pd.concat(
        [part for part in (quarantined, missing) if len(part)] or [quarantined],
        ignore_index=True,
    )
    if len(frame):
        frame = name_items(frame, chain, frame["ItemName"])[list(UNSCORED_COLUMNS)]
    if len(frame):
        logger.warning(
            "%d branch×item(s) not scored: %s",
            int(frame["count"].sum()),
            "; ".join(f"{k} ({n})" for k, n in frame.groupby("kind")["count"].sum().items()),
        )
    return frame.reset_index(drop=True)
