"""Request and response bodies of the API (pydantic v2).

Input rules, stated once here and in the OpenAPI schema:

* **Unknown fields are rejected** (``extra="forbid"``): a 422 names the field. A misspelt
  ``SafetyStocklevel`` must not be dropped silently while the model scores a row without it.
* **IDs are JSON strings**, stripped of surrounding spaces, at least one character. Numbers are
  rejected, not converted: ``007`` sent as a number arrives as ``7`` and would be another ID.
* **Quantities are JSON numbers ≥ 0** (integers or decimals); strings, booleans, ``NaN`` and
  infinities are rejected.
* **Date** is a string the server can read unambiguously (see
  :func:`stockout_sk.serving.canonical_date`); the pipeline receives its ISO form.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
    with_config,
)
from typing_extensions import TypedDict

from stockout_sk import contract
from stockout_sk.serving import canonical_date
from stockout_sk.vocabulary import Source

EXAMPLE_ROW: dict[str, Any] = dict(contract.EXAMPLE_ROW)

#: A character that is not whitespace (what surrounds an ID is stripped; something must
#: remain). Python's whitespace includes the separators U+001C–U+001F and U+0085, which the
#: ECMAScript ``\s`` of JSON Schema does not: they are named so the schema says the same.
_NOT_SPACE = r"[^\s\x1c-\x1f\x85]"
Identifier = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=_NOT_SPACE),
]
Quantity = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
#: The schema declares the machine-readable forms (an ISO date or an RFC 3339 timestamp); the
#: server also reads ``yyyy/mm/dd`` and an unambiguous ``dd/mm/yyyy`` (see the description).
DateText = Annotated[
    StrictStr,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(canonical_date),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "anyOf": [{"format": "date"}, {"format": "date-time"}],
            "examples": ["2024-07-28", "2024-07-28T09:30:00+03:00"],
        }
    ),
]


class StockRow(BaseModel):
    """The six raw fields of one branch×item on one as-of day."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_ROW]})

    BranchID: Identifier = Field(description="Branch ID, a string ('007' stays '007').")
    ItemCode: Identifier = Field(description="Item code, a string.")
    Date: DateText = Field(
        description="As-of date: an ISO date or timestamp (a timestamp belongs to its written "
        "date); the server also reads 'yyyy/mm/dd' and an unambiguous 'dd/mm/yyyy'."
    )
    CurrentQuantity: Quantity = Field(description="On-hand quantity at the end of Date, ≥ 0.")
    ReservedQuantity: Quantity = Field(description="Reserved quantity, ≥ 0.")
    SafetyStockLevel: Quantity = Field(description="Safety stock level, ≥ 0.")


@with_config(ConfigDict(extra="forbid"))
class StockRecord(TypedDict):
    """One row of a batch: the same fields and rules as :class:`StockRow`.

    A ``TypedDict`` validates into a plain dict, cheaper than a model instance per record — it
    matters for 10,000-row batches.
    """

    BranchID: Identifier
    ItemCode: Identifier
    Date: DateText
    CurrentQuantity: Quantity
    ReservedQuantity: Quantity
    SafetyStockLevel: Quantity


class BatchRequest(BaseModel):
    """Many rows; at most ``STOCKOUT_MAX_BATCH`` (default 10,000)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"records": [EXAMPLE_ROW]}]}
    )

    records: list[StockRecord] = Field(min_length=1, description="Rows, answered in this order.")


class Contribution(BaseModel):
    """One feature's push on the score (SHAP value in log-odds; > 0 raises the risk)."""

    feature: str = Field(description="The model column (for engineers).")
    value: float | None = Field(description="The feature's value for the row (None: hashed IDs).")
    contribution: float
    reason: str = Field(
        description="The same as a planner reads it, e.g. 'only 0 units above safety stock'."
    )


class StockOutlook(BaseModel):
    """If nothing arrives and sales go on at the expected rate (see docs/DESIGN.md)."""

    days_to_safety_stock: float | None = Field(
        description="Whole days until below safety stock (0: already below; None: not at the "
        "current sales rate, or unknown)."
    )
    expected_shortfall: float | None = Field(
        description="Units below safety stock at the end of the horizon (None: unknown)."
    )
    daily_demand: float | None = Field(description="Expected units sold a day.")
    horizon_days: int


class PredictionResponse(BaseModel):
    """The answer for one row."""

    prediction: int = Field(description="1: expected below safety stock within the horizon.")
    probability: float = Field(
        description="P(stock-out within the horizon); 0.0/1.0 when the rule baseline answered."
    )
    model_version: str | None = Field(description="Registered model version; None for the rule.")
    source: Source
    threshold: float | None = Field(description="Decision threshold of the model.")
    history_staleness_days: int | None = Field(
        description="Days between Date and the freshest history the model carries (0: fresh). "
        "Beyond STOCKOUT_MAX_STALENESS_DAYS (default 60) the rule baseline answers the row."
    )
    unknown_key: bool | None = Field(
        default=None,
        description="True: the model never saw this BranchID×ItemCode in training (it has no "
        "history for it). None when the rule baseline answered.",
    )
    history_missing: bool | None = Field(
        default=None,
        description="True: Date is before the history the model carries, so some history "
        "features are missing. None when the rule baseline answered.",
    )
    fallback_reason: str | None = Field(description="Why the rule baseline answered, if it did.")
    top_features: list[Contribution] | None = Field(
        default=None, description="With explain=true: the largest contributions, largest first."
    )
    outlook: StockOutlook | None = Field(
        default=None, description="With explain=true: days to safety stock and the shortfall."
    )


class BatchItem(BaseModel):
    """One row's answer inside a batch (``source`` and ``fallback_reason`` only on a row the
    staleness policy gave to the rule baseline while the model answered the others)."""

    prediction: int
    probability: float
    history_staleness_days: int | None = None
    unknown_key: bool | None = None
    history_missing: bool | None = None
    source: Source | None = None
    fallback_reason: str | None = None
    top_features: list[Contribution] | None = None
    outlook: StockOutlook | None = None


class BatchResponse(BaseModel):
    """Answers in the order of ``records``, all from the same model snapshot."""

    model_version: str | None
    source: Source
    threshold: float | None
    fallback_reason: str | None
    predictions: list[BatchItem]


class Problem(BaseModel):
    """One reason a request was refused."""

    field: str = Field(description="Where: 'Date', 'records[1].CurrentQuantity', 'body'.")
    type: str = Field(description="What kind of problem (pydantic's error type).")
    message: str = Field(description="What is wrong, the value, and how to fix it.")


class InvalidRequest(BaseModel):
    """The 422 answer: a summary, and every problem found."""

    message: str = Field(description="'invalid request — ' and the first problems.")
    detail: list[Problem]


class ErrorMessage(BaseModel):
    """An error that is not about a field (401, 413, 429): what happened and what to do."""

    detail: str


class ReadyResponse(BaseModel):
    """Readiness: a model or the rule baseline is in place."""

    ready: bool
    source: Source
    model_version: str | None
    fallback_reason: str | None
