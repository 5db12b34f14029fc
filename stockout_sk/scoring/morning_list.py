"""Building the morning list: every branch×item of ``stock_current`` scored and ranked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stockout_sk.clock import utc_now
from stockout_sk.contract import (
    BRANCH_ID,
    CURRENT_QUANTITY,
    DATE,
    ITEM_CODE,
    RESERVED_QUANTITY,
    SAFETY_STOCK_LEVEL,
)
from stockout_sk.features.names import feature_label
from stockout_sk.pipeline import features_of
from stockout_sk.serving import Snapshot, score_rows
from stockout_sk.vocabulary import Source

if TYPE_CHECKING:
    from stockout_sk.ingest import ChainData

__all__ = ["MorningList", "build_morning_list"]

#: Why the rule baseline flags a row (its first reason column).
_RULE_REASON = "rule: current quantity below safety stock"


def _reason_text(entry: dict[str, Any]) -> str:
    label = feature_label(str(entry["feature"]))
    contribution = float(entry["contribution"])
    direction = "raises" if contribution > 0 else "lowers"
    value = entry.get("value")
    shown = "" if value is None else f" = {value:.4g}"
    return f"{label}{shown} ({direction} risk, {contribution:+.2f})"


@dataclass(frozen=True)
class MorningList:
    """A scored, ranked stock list and what produced it.

    Attributes
    ----------
    frame : DataFrame
        One row per branch×item, ranked by probability (highest first); see
        :func:`build_morning_list` for the columns.
    source : {"registry", "rule-baseline"}
    model_name : str
    version : str or None
    threshold : float or None
    horizon : int or None
    fallback_reason : str or None
        Why the rule baseline scored the list, if it did.
    as_of_first, as_of_last : str
        Earliest and latest snapshot date (``LastUpdatedAt``) scored, ISO.
    history_end : str or None
        Freshest day of the history the model carries.
    generated_at : str
    """

    frame: pd.DataFrame
    source: str
    model_name: str
    version: str | None
    threshold: float | None
    horizon: int | None
    fallback_reason: str | None
    as_of_first: str
    as_of_last: str
    history_end: str | None
    generated_at: str

    @property
    def at_risk(self) -> int:
        """Rows predicted to fall below safety stock."""
        return int(self.frame["at_risk"].sum())

    def summary(self) -> dict[str, Any]:
        """Counts and provenance, as one JSON-ready dict."""
        return {
            "rows": len(self.frame),
            "at_risk": self.at_risk,
            "branches": int(self.frame[BRANCH_ID].nunique()),
            "source": self.source,
            "model_name": self.model_name,
            "model_version": self.version,
            "threshold": self.threshold,
            "horizon": self.horizon,
            "fallback_reason": self.fallback_reason,
            "as_of_first": self.as_of_first,
            "as_of_last": self.as_of_last,
            "history_end": self.history_end,
            "generated_at": self.generated_at,
        }


def _item_names(chain: Any) -> pd.DataFrame:
    """ItemCode → English and Arabic names from the item master (may be empty)."""
    items = getattr(chain, "items", None)
    if items is None or len(items) == 0 or ITEM_CODE not in items.columns:
        return pd.DataFrame(columns=[ITEM_CODE, "MasterName", "ArabicName"])
    english = items.get("EnglishName", pd.Series("", index=items.index)).fillna("").astype(str)
    arabic = items.get("ArabicName", pd.Series("", index=items.index)).fillna("").astype(str)
    names = pd.DataFrame(
        {
            ITEM_CODE: items[ITEM_CODE].astype(str),
            "MasterName": english.str.strip().where(english.str.strip() != "", arabic.str.strip()),
            "ArabicName": arabic.str.strip(),
        }
    )
    return names.drop_duplicates(ITEM_CODE, keep="first")


def build_morning_list(
    chain: ChainData, snapshot: Snapshot, *, top_reasons: int = 3
) -> MorningList:
    """Score every branch×item of ``chain.stock_current`` as of its ``LastUpdatedAt`` date.

    Parameters
    ----------
    chain : ChainData
        From :func:`stockout_sk.ingest.load_chain`.
    snapshot : Snapshot
        What scores the rows (a model, or the rule baseline).
    top_reasons : int, default=3
        Contributions listed per row.

    Returns
    -------
    MorningList
        ``frame`` columns: ``rank, BranchID, BranchName, ItemCode, ItemName, ArabicName, as_of,
        probability, at_risk, CurrentQuantity, ReservedQuantity, SafetyStockLevel,
        days_of_cover, headroom, history_staleness_days, reason_1 … reason_<top_reasons>,
        source, model_version``.
    """
    current = chain.stock_current.reset_index(drop=True)
    as_of = pd.to_datetime(current["LastUpdatedAt"]).dt.strftime("%Y-%m-%d")
    X = pd.DataFrame(
        {
            BRANCH_ID: current[BRANCH_ID].astype(str),
            ITEM_CODE: current[ITEM_CODE].astype(str),
            DATE: as_of,
            CURRENT_QUANTITY: current[CURRENT_QUANTITY].astype(np.float64),
            RESERVED_QUANTITY: current[RESERVED_QUANTITY].astype(np.float64),
            SAFETY_STOCK_LEVEL: current[SAFETY_STOCK_LEVEL].astype(np.float64),
        }
    )[list(snapshot.fields)]
    scored, explanations = score_rows(snapshot, X, explain_top=top_reasons)
    available = X[CURRENT_QUANTITY] - X[RESERVED_QUANTITY]
    headroom = (available - X[SAFETY_STOCK_LEVEL]).to_numpy(dtype=np.float64)
    cover = np.full(len(X), np.nan)
    if scored.source == Source.REGISTRY:
        features = features_of(snapshot.pipeline, "history").transform(X)
        cover = np.asarray(features["days_of_cover"], dtype=np.float64)
        headroom = np.asarray(features["headroom"], dtype=np.float64)

    names = _item_names(chain)
    frame = pd.DataFrame(
        {
            BRANCH_ID: X[BRANCH_ID],
            "BranchName": current.get("BranchName", pd.Series("", index=current.index)),
            ITEM_CODE: X[ITEM_CODE],
            "StockItemName": current.get("ItemName", pd.Series("", index=current.index)),
            "as_of": as_of,
            "probability": scored.probability,
            "at_risk": scored.prediction,
            CURRENT_QUANTITY: X[CURRENT_QUANTITY],
            RESERVED_QUANTITY: X[RESERVED_QUANTITY],
            SAFETY_STOCK_LEVEL: X[SAFETY_STOCK_LEVEL],
            "days_of_cover": cover,
            "headroom": headroom,
            "history_staleness_days": (
                scored.stale_days if scored.stale_days is not None else np.zeros(len(X), int)
            ),
        }
    )
    frame = frame.merge(names, on=ITEM_CODE, how="left")
    master = frame["MasterName"].fillna("").astype(str)
    frame["ItemName"] = master.where(master != "", frame["StockItemName"].fillna("").astype(str))
    frame["ArabicName"] = frame["ArabicName"].fillna("").astype(str)
    for k in range(top_reasons):
        if scored.source == Source.REGISTRY and explanations is not None:
            frame[f"reason_{k + 1}"] = [
                _reason_text(entries[k]) if len(entries) > k else "" for entries in explanations
            ]
        else:
            frame[f"reason_{k + 1}"] = (
                np.where(frame["at_risk"] == 1, _RULE_REASON, "") if k == 0 else ""
            )
    frame["source"] = scored.source
    frame["model_version"] = scored.version or ""
    frame = frame.sort_values(
        ["probability", "headroom", BRANCH_ID, ITEM_CODE],
        ascending=[False, True, True, True],
        kind="stable",
    ).reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    columns = [
        "rank",
        BRANCH_ID,
        "BranchName",
        ITEM_CODE,
        "ItemName",
        "ArabicName",
        "as_of",
        "probability",
        "at_risk",
        CURRENT_QUANTITY,
        RESERVED_QUANTITY,
        SAFETY_STOCK_LEVEL,
        "days_of_cover",
        "headroom",
        "history_staleness_days",
        *(f"reason_{k + 1}" for k in range(top_reasons)),
        "source",
        "model_version",
    ]
    frame = frame[columns]
    model = dict(snapshot.model)
    valid_dates = as_of.dropna()
    return MorningList(
        frame=frame,
        source=scored.source,
        model_name=str(model.get("model_name", "")),
        version=scored.version,
        threshold=scored.threshold,
        horizon=model.get("horizon") if scored.source == Source.REGISTRY else None,
        fallback_reason=scored.reason,
        as_of_first=str(valid_dates.min()) if len(valid_dates) else "",
        as_of_last=str(valid_dates.max()) if len(valid_dates) else "",
        history_end=snapshot.history_end if scored.source == Source.REGISTRY else None,
        generated_at=utc_now(),
    )
