"""The data contract of one row: the six raw fields a request carries, their kinds, the label.

A prediction request and a training row carry exactly :data:`RAW_FIELDS`; a training row adds
:data:`LABEL`. Everything that names these fields — the labelled table, the feature steps, the
baselines, the model's signature, the API's schema, monitoring — imports them from here. The
label itself is defined in ``docs/DESIGN.md`` ("The label").
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = [
    "BRANCH_ID",
    "CURRENT_QUANTITY",
    "DATE",
    "EXAMPLE_ROW",
    "FLOW_COLUMNS",
    "ID_FIELDS",
    "ITEM_CODE",
    "KEY_FIELDS",
    "LABEL",
    "QUANTITY_FIELDS",
    "RAW_FIELDS",
    "RESERVED_QUANTITY",
    "SAFETY_STOCK_LEVEL",
    "STRING_FIELDS",
    "TRANSFER_COLUMNS",
]

BRANCH_ID = "BranchID"
ITEM_CODE = "ItemCode"
DATE = "Date"
CURRENT_QUANTITY = "CurrentQuantity"
RESERVED_QUANTITY = "ReservedQuantity"
SAFETY_STOCK_LEVEL = "SafetyStockLevel"

#: The raw fields a prediction request carries, in order. A training row carries exactly these.
RAW_FIELDS: tuple[str, ...] = (
    BRANCH_ID,
    ITEM_CODE,
    DATE,
    CURRENT_QUANTITY,
    RESERVED_QUANTITY,
    SAFETY_STOCK_LEVEL,
)
#: The two IDs of a row: strings, never numbers (``007`` stays ``007``).
ID_FIELDS: tuple[str, ...] = (BRANCH_ID, ITEM_CODE)
#: A branch×item: the key of the stock panel, of the carried history and of the morning list.
KEY_FIELDS: tuple[str, ...] = ID_FIELDS
#: Fields sent as strings (the IDs and the date).
STRING_FIELDS: tuple[str, ...] = (BRANCH_ID, ITEM_CODE, DATE)
#: Fields sent as numbers ≥ 0 (float64 inside the pipeline).
QUANTITY_FIELDS: tuple[str, ...] = (CURRENT_QUANTITY, RESERVED_QUANTITY, SAFETY_STOCK_LEVEL)
#: The label column of the training table: 1 when the stock falls below safety stock within N days.
LABEL = "label"

#: Columns of ``ChainData.flows``: daily inflow, outflow and units sold per branch×item×day.
FLOW_COLUMNS: tuple[str, ...] = (BRANCH_ID, ITEM_CODE, DATE, "inflow", "outflow", "sold")
#: Columns of ``ChainData.transfers``: movements summed per day × from × to × item.
TRANSFER_COLUMNS: tuple[str, ...] = (DATE, "FromBranchID", "ToBranchID", ITEM_CODE, "QuantityMoved")

#: The request of the README and the API docs: a branch×item of ``sample_data/`` as of its
#: snapshot day (a key a model trained on the sample knows, with fresh history).
EXAMPLE_ROW: MappingProxyType[str, Any] = MappingProxyType(
    {
        BRANCH_ID: "001",
        ITEM_CODE: "ITM0001",
        DATE: "2024-07-28",
        CURRENT_QUANTITY: 51,
        RESERVED_QUANTITY: 3,
        SAFETY_STOCK_LEVEL: 17,
    }
)
