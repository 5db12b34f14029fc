"""Schemas of the six CSV exports a chain hands us (the input data contract).

Each file has one :class:`FileSchema`: which columns exist, which of them the header must carry
(``required``), which must also hold a value on every row (``required`` minus ``nullable``), and
how each column is typed on ingestion:

* ID columns are always strings, stripped of surrounding whitespace (``007`` stays ``007``);
* quantity columns are parsed as float64 (``nonnegative`` ones reject negative values);
* date columns are parsed by :mod:`stockout_sk.dates`;
* every other column is free text (names, Arabic text), kept as stripped strings.

Names (``BranchName``, ``ItemName``, ``FromBranchName`` …) are optional everywhere: an export
without them is still usable. Keys, quantities and dates are required.

This module is pure data: no I/O, nothing happens at import time beyond building constants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "BRANCHES",
    "EMPLOYEES",
    "ITEM_MASTER",
    "SALES_TRANSACTIONS",
    "SCHEMAS",
    "STOCK_CURRENT",
    "STOCK_MOVEMENT",
    "FileSchema",
]


@dataclass(frozen=True)
class FileSchema:
    """Schema of one CSV input file.

    Parameters
    ----------
    name : str
        Short name of the table, e.g. ``"stock_movement"``.
    filename : str
        File name inside the data directory, e.g. ``"stock_movement.csv"``.
    columns : tuple of str
        Every column of the contract, in contract order.
    required : tuple of str
        Columns the header must contain; a missing one is a fatal
        :class:`~stockout_sk.ingest.DataContractError`.
    id_columns : tuple of str
        Columns holding identifiers: read as strings, stripped, never converted to numbers.
    quantity_columns : tuple of str
        Columns parsed as float64.
    date_columns : tuple of str
        Columns parsed as dates / timestamps.
    nullable : tuple of str
        Required columns whose value may be blank on a row (the header must still carry them).
    nonnegative : tuple of str
        Quantity columns for which a negative value is meaningless, so the row is rejected.
    key : tuple of str
        Columns that identify a row uniquely; duplicates of the key are quarantined.
    past_dates : tuple of str
        Date columns that record what has already happened (a sale, a movement, a stock count):
        a value after today is a typo and its row is quarantined. A branch's opening date may
        lie ahead.

    Examples
    --------
    >>> from stockout_sk.schemas import SCHEMAS
    >>> SCHEMAS["stock_movement"].optional
    ('FromBranchName', 'ToBranchName', 'ItemName')
    """

    name: str
    filename: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    id_columns: tuple[str, ...] = ()
    quantity_columns: tuple[str, ...] = ()
    date_columns: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()
    nonnegative: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    past_dates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A schema is a constant written by hand: catch typos where they are made.
        known = set(self.columns)
        for field_name in (
            "required",
            "id_columns",
            "quantity_columns",
            "date_columns",
            "nullable",
            "nonnegative",
            "key",
            "past_dates",
        ):
            unknown = [c for c in getattr(self, field_name) if c not in known]
            if unknown:
                raise ValueError(
                    f"FileSchema {self.name!r}: {field_name} names columns {unknown!r} that are "
                    f"not among its columns {self.columns!r}; fix the schema definition."
                )
        if not set(self.nullable) <= set(self.required):
            raise ValueError(
                f"FileSchema {self.name!r}: nullable {self.nullable!r} must be a subset of "
                f"required {self.required!r} (optional columns are always nullable)."
            )
        if not set(self.nonnegative) <= set(self.quantity_columns):
            raise ValueError(
                f"FileSchema {self.name!r}: nonnegative {self.nonnegative!r} must be quantity "
                f"columns {self.quantity_columns!r}."
            )
        if not set(self.past_dates) <= set(self.date_columns):
            raise ValueError(
                f"FileSchema {self.name!r}: past_dates {self.past_dates!r} must be date "
                f"columns {self.date_columns!r}."
            )

    @property
    def optional(self) -> tuple[str, ...]:
        """Columns that may be absent from the header (in contract order)."""
        return tuple(c for c in self.columns if c not in self.required)

    @property
    def value_required(self) -> tuple[str, ...]:
        """Columns that must hold a non-blank value on every accepted row."""
        return tuple(c for c in self.required if c not in self.nullable)

    @property
    def text_columns(self) -> tuple[str, ...]:
        """Columns kept as strings: IDs and free text (everything not a quantity or a date)."""
        typed = set(self.quantity_columns) | set(self.date_columns)
        return tuple(c for c in self.columns if c not in typed)


STOCK_MOVEMENT = FileSchema(
    name="stock_movement",
    filename="stock_movement.csv",
    columns=(
        "MovementID",
        "Date",
        "FromBranchID",
        "FromBranchName",
        "ToBranchID",
        "ToBranchName",
        "ItemCode",
        "ItemName",
        "QuantityMoved",
    ),
    required=("MovementID", "Date", "FromBranchID", "ToBranchID", "ItemCode", "QuantityMoved"),
    id_columns=("MovementID", "FromBranchID", "ToBranchID", "ItemCode"),
    quantity_columns=("QuantityMoved",),
    date_columns=("Date",),
    # The direction of a movement is carried by From/To; a negative quantity has no meaning.
    nonnegative=("QuantityMoved",),
    key=("MovementID",),
    past_dates=("Date",),
)

STOCK_CURRENT = FileSchema(
    name="stock_current",
    filename="stock_current.csv",
    columns=(
        "BranchID",
        "BranchName",
        "ItemCode",
        "ItemName",
        "CurrentQuantity",
        "ReservedQuantity",
        "SafetyStockLevel",
        "LastUpdatedAt",
    ),
    required=(
        "BranchID",
        "ItemCode",
        "CurrentQuantity",
        "ReservedQuantity",
        "SafetyStockLevel",
        "LastUpdatedAt",
    ),
    id_columns=("BranchID", "ItemCode"),
    quantity_columns=("CurrentQuantity", "ReservedQuantity", "SafetyStockLevel"),
    date_columns=("LastUpdatedAt",),
    # CurrentQuantity may be negative in real systems (sold before the receipt was booked);
    # that is a data-quality finding, not a reason to lose the snapshot anchor.
    nonnegative=("ReservedQuantity", "SafetyStockLevel"),
    key=("BranchID", "ItemCode"),
    past_dates=("LastUpdatedAt",),
)

SALES_TRANSACTIONS = FileSchema(
    name="sales_transactions",
    filename="sales_transactions.csv",
    columns=(
        "Date",
        "BranchID",
        "BranchName",
        "InvoiceNumber",
        "ItemCode",
        "ItemName",
        "QuantitySold",
    ),
    required=("Date", "BranchID", "ItemCode", "QuantitySold"),
    id_columns=("BranchID", "InvoiceNumber", "ItemCode"),
    quantity_columns=("QuantitySold",),
    date_columns=("Date",),
    # A negative QuantitySold is a return: it puts stock back, so it is kept (and counted).
    nonnegative=(),
    key=(),
    past_dates=("Date",),
)

ITEM_MASTER = FileSchema(
    name="item_master",
    filename="item_master.csv",
    columns=("ItemCode", "ArabicName", "EnglishName", "BrandOnBox"),
    required=("ItemCode",),
    id_columns=("ItemCode",),
    key=("ItemCode",),
)

EMPLOYEES = FileSchema(
    name="employees",
    filename="employees.csv",
    columns=("EmployeeID", "FullName", "Department", "BranchID"),
    required=("EmployeeID", "BranchID"),
    id_columns=("EmployeeID", "BranchID"),
    # Head-office staff have no branch.
    nullable=("BranchID",),
    key=("EmployeeID",),
)

BRANCHES = FileSchema(
    name="branches",
    filename="branches.csv",
    columns=("BranchID", "BranchName", "OpeningDate"),
    required=("BranchID", "OpeningDate"),
    id_columns=("BranchID",),
    date_columns=("OpeningDate",),
    # A branch whose opening date is unknown is still a branch (not an external ID).
    nullable=("OpeningDate",),
    key=("BranchID",),
)

#: The six schemas by table name, in the order ingestion reads them.
SCHEMAS: Mapping[str, FileSchema] = MappingProxyType(
    {
        s.name: s
        for s in (
            BRANCHES,
            ITEM_MASTER,
            EMPLOYEES,
            STOCK_CURRENT,
            STOCK_MOVEMENT,
            SALES_TRANSACTIONS,
        )
    }
)
