"""Building the morning list: every branch×item of ``stock_current`` scored and ranked."""

from __future__ import annotations

from dataclasses import dataclass, field
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
from stockout_sk.features.phrases import format_value
from stockout_sk.labels import snapshot_rows
from stockout_sk.pipeline import features_of
from stockout_sk.scoring.items import name_items
from stockout_sk.scoring.unscored import UNSCORED_COLUMNS, unscored_items
from stockout_sk.serving import Snapshot, outlook_of_features, score_rows
from stockout_sk.vocabulary import Source

if TYPE_CHECKING:
    from stockout_sk.ingest import ChainData

__all__ = ["LIST_COLUMNS", "MorningList", "build_morning_list", "rule_reason"]

#: The columns of the ranked list before its reasons (``reason_1`` …) and provenance.
LIST_COLUMNS = (
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
    "days_to_safety_stock",
    "expected_shortfall",
    "daily_demand",
    "history_staleness_days",
)


def rule_reason(quantity: float, safety: float) -> str:
    """Why the rule baseline flags a row, as a planner reads it."""
    return (
        f"only {format_value(quantity, 'units')} on hand, below the safety stock of "
        f"{format_value(safety, 'units')} (rule baseline)"
    )


@dataclass(frozen=True)
class MorningList:
    """A scored, ranked stock list, what could not be scored, and what produced it.

    Attributes
    ----------
    frame : DataFrame
        One row per scored branch×item, ranked by probability (highest first); see
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
    unscored : DataFrame
        What could not be scored and why (:func:`~stockout_sk.scoring.unscored.unscored_items`).
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
    unscored: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(UNSCORED_COLUMNS))
    )

    @property
    def at_risk(self) -> int:
        """Rows predicted to fall below safety stock."""
        return int(self.frame["at_risk"].sum())

    @property
    def not_scored(self) -> int:
        """Branch×items that could not be scored (the entries' ``count`` summed)."""
        return int(self.unscored["count"].sum()) if len(self.unscored) else 0

    def summary(self) -> dict[str, Any]:
        """Counts and provenance, as one JSON-ready dict."""
        by_kind = (
            {str(k): int(v) for k, v in self.unscored.groupby("kind")["count"].sum().items()}
            if len(self.unscored)
            else {}
        )
        return {
            "rows": len(self.frame),
            "at_risk": self.at_risk,
            "not_scored": self.not_scored,
            "not_scored_by_kind": by_kind,
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


def _reasons(explanations: list[list[dict[str, Any]]], k: int) -> list[str]:
    """The ``k``-th reason of every row ("" when a row has fewer)."""
    return [entries[k]["reason"] if len(entries) > k else "" for entries in explanations]


def build_morning_list(
    chain: ChainData, snapshot: Snapshot, *, top_reasons: int = 3
) -> MorningList:
    """Score every branch×item of ``chain.stock_current`` as of its ``LastUpdatedAt`` date.

    Parameters
    ----------
    chain : ChainData
        From :func:`stockout_sk.ingest.load_chain` (with ``out_dir``, its rejects file names
        each quarantined snapshot row in :attr:`MorningList.unscored`).
    snapshot : Snapshot
        What scores the rows (a model, or the rule baseline).
    top_reasons : int, default=3
        Reasons listed per row; 0 lists none and skips the explanations (much faster on a
        large chain).

    Returns
    -------
    MorningList
        ``frame`` columns: :data:`LIST_COLUMNS`, then ``reason_1 … reason_<top_reasons>`` (as a
        planner reads them, see :func:`~stockout_sk.features.reasons.reason_text`), ``source``
        and ``model_version``. ``days_to_safety_stock``, ``expected_shortfall`` and
        ``daily_demand`` are the outlook of :mod:`stockout_sk.serving.outlook` (NaN for the rule
        baseline, which has no sales rate, except 0 days for a row already below).
    """
    current = chain.stock_current.reset_index(drop=True)
    rows = snapshot_rows(chain)
    as_of = rows[DATE]
    X = rows[list(snapshot.fields)]
    # Explaining is most of the cost on a large chain (TreeSHAP): none asked, none computed.
    scored, explanations = score_rows(snapshot, X, explain_top=top_reasons or None)
    available = X[CURRENT_QUANTITY] - X[RESERVED_QUANTITY]
    headroom = (available - X[SAFETY_STOCK_LEVEL]).to_numpy(dtype=np.float64)
    n = len(X)
    cover = np.full(n, np.nan)
    days = np.where(headroom < 0, 0.0, np.nan)
    shortfall = np.full(n, np.nan)
    demand = np.full(n, np.nan)
    if scored.source == Source.REGISTRY:
        history = snapshot.pipeline.named_steps["history"]
        features = features_of(snapshot.pipeline, "history").transform(X)
        cover = np.asarray(features["days_of_cover"], dtype=np.float64)
        headroom = np.asarray(features["headroom"], dtype=np.float64)
        outlook = outlook_of_features(features, history.horizon)
        days, shortfall = outlook.days_to_safety_stock, outlook.expected_shortfall
        demand = outlook.daily_demand

    frame = pd.DataFrame(
        {
            BRANCH_ID: X[BRANCH_ID],
            "BranchName": current.get("BranchName", pd.Series("", index=current.index)),
            ITEM_CODE: X[ITEM_CODE],
            "as_of": as_of,
            "probability": scored.probability,
            "at_risk": scored.prediction,
            CURRENT_QUANTITY: X[CURRENT_QUANTITY],
            RESERVED_QUANTITY: X[RESERVED_QUANTITY],
            SAFETY_STOCK_LEVEL: X[SAFETY_STOCK_LEVEL],
            "days_of_cover": cover,
            "headroom": headroom,
            "days_to_safety_stock": days,
            "expected_shortfall": shortfall,
            "daily_demand": demand,
            "history_staleness_days": (
                scored.stale_days if scored.stale_days is not None else np.zeros(n, int)
            ),
        }
    )
    fallback = current.get("ItemName", pd.Series("", index=current.index))
    frame = name_items(frame, chain, fallback)
    for k in range(top_reasons):
        column = f"reason_{k + 1}"
        if scored.source == Source.REGISTRY and explanations is not None:
            frame[column] = _reasons(explanations, k)
        elif k == 0:
            frame[column] = [
                rule_reason(q, s) if risk else ""
                for q, s, risk in zip(
                    frame[CURRENT_QUANTITY],
                    frame[SAFETY_STOCK_LEVEL],
                    frame["at_risk"],
                    strict=True,
                )
            ]
        else:
            frame[column] = ""
    frame["source"] = scored.source
    frame["model_version"] = scored.version or ""
    frame = frame.sort_values(
        ["probability", "headroom", BRANCH_ID, ITEM_CODE],
        ascending=[False, True, True, True],
        kind="stable",
    ).reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    reasons = [f"reason_{k + 1}" for k in range(top_reasons)]
    frame = frame[[*LIST_COLUMNS, *reasons, "source", "model_version"]]
    model = dict(snapshot.model)
    valid_dates = as_of.dropna()
    scored_keys = pd.MultiIndex.from_arrays([X[BRANCH_ID], X[ITEM_CODE]])
    registry = scored.source == Source.REGISTRY
    return MorningList(
        frame=frame,
        source=scored.source,
        model_name=str(model.get("model_name", "")),
        version=scored.version,
        threshold=scored.threshold,
        horizon=model.get("horizon") if registry else None,
        fallback_reason=scored.reason,
        as_of_first=str(valid_dates.min()) if len(valid_dates) else "",
        as_of_last=str(valid_dates.max()) if len(valid_dates) else "",
        history_end=snapshot.history_end if registry else None,
        generated_at=utc_now(),
        unscored=unscored_items(chain, scored_keys),
    )
