"""Item names for people: the item master's English name, else its Arabic one, else the export's."""

from __future__ import annotations

from typing import Any

import pandas as pd

from stockout_sk.contract import ITEM_CODE

__all__ = ["item_names", "name_items"]


def item_names(chain: Any) -> pd.DataFrame:
    """``ItemCode → MasterName, ArabicName`` from the item master (may be empty).

    ``MasterName`` is the English name, or the Arabic one when there is no English name.
    """
    items = getattr(chain, "items", None)
    if items is None or len(items) == 0 or ITEM_CODE not in items.columns:
        return pd.DataFrame(columns=[ITEM_CODE, "MasterName", "ArabicName"])
    english = items.get("EnglishName", pd.Series("", index=items.index)).fillna("").astype(str)
    arabic = items.get("ArabicName", pd.Series("", index=items.index)).fillna("").astype(str)
    english, arabic = english.str.strip(), arabic.str.strip()
    names = pd.DataFrame(
        {
            ITEM_CODE: items[ITEM_CODE].astype(str),
            "MasterName": english.where(english != "", arabic),
            "ArabicName": arabic,
        }
    )
    return names.drop_duplicates(ITEM_CODE, keep="first")


def _text(values: pd.Series) -> pd.Series:
    """Strings, missing values as ""."""
    return values.astype(object).where(values.notna(), "").astype(str)


def name_items(frame: pd.DataFrame, chain: Any, fallback: pd.Series) -> pd.DataFrame:
    """``frame`` with ``ItemName`` (master name, else ``fallback``) and ``ArabicName`` columns."""
    keyed = frame.drop(columns=["ItemName", "ArabicName"], errors="ignore")
    keyed[ITEM_CODE] = _text(keyed[ITEM_CODE])
    named = keyed.merge(item_names(chain), on=ITEM_CODE, how="left")
    master = named.pop("MasterName").fillna("").astype(str)
    fallback = _text(fallback.reset_index(drop=True))
    named["ItemName"] = master.where(master != "", fallback)
    named["ArabicName"] = named["ArabicName"].fillna("").astype(str)
    return named
