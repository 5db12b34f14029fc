"""One chunk of records as strings → typed columns and the first reason each row is unusable.

Dates go through :func:`stockout_sk.dates.parse_dates` with the file's day/month order, numbers
through :func:`~stockout_sk.ingest.quantities._parse_quantities`, text is stripped; a required
value that is missing, a date that is not one (or lies after today, for a past date), a number
that is not one (or is negative where it cannot be) each give a row its reason.

Every check depends on the value alone, so a column may come as its distinct values and each
row's code (:class:`_Values`): each value is then parsed and judged once, and the verdicts and
counts reach the rows through the codes (:mod:`~stockout_sk.ingest.chunks`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.dates import DateParseResult
from stockout_sk.ingest.quantities import (
    _QTY_ARABIC_DIGITS,
    _QTY_MISSING,
    _QTY_NON_NUMERIC,
    _QTY_THOUSANDS,
    _parse_quantities,
)
from stockout_sk.schemas import FileSchema


@dataclass(frozen=True)
class _Values:
    """One column's strings: every row's, or (``codes`` given) its distinct values and each
    row's code into them (:func:`~stockout_sk.ingest.parse._read_distinct`).

    Every check is a function of the value alone, so a column of a few distinct values is
    parsed, stripped and judged once per value and the verdicts handed to the rows by their
    codes; what is counted is counted in rows.
    """

    strings: pd.Series
    codes: np.ndarray | None = None

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        """``per_value`` (one entry per string) for every row."""
        return per_value if self.codes is None else per_value[self.codes]

    @cached_property
    def weights(self) -> np.ndarray | None:
        """The rows each distinct value stands for (``None``: one row per string)."""
        if self.codes is None:
            return None
        return np.bincount(self.codes, minlength=len(self.strings))

    def count(self, condition: np.ndarray) -> int:
        """Rows whose value meets ``condition`` (one entry per string)."""
        if self.weights is None:
            return int(np.count_nonzero(condition))
        return int(self.weights[condition].sum())

    @cached_property
    def stripped(self) -> pd.Series:
        """The strings stripped of surrounding whitespace (once: checked, then typed)."""
        return self.strings.str.strip()

    def text(self, index: pd.Index) -> pd.Series:
        """The rows' stripped text: as strings, or, for distinct values, as a categorical
        (distinct values that strip to the same text share its category)."""
        if self.codes is None:
            return self.stripped
        codes, categories = pd.factorize(self.stripped)
        return pd.Series(
            pd.Categorical.from_codes(codes[self.codes], categories=categories, validate=False),
            index=index,
        )


def _validate(
    columns: dict[str, _Values],
    index: pd.Index,
    schema: FileSchema,
    colmap: dict[str, str],
    latest_day: pd.Timestamp | None,
    parse: Callable[[pd.Series, str, np.ndarray | None], DateParseResult],
) -> tuple[pd.DataFrame, np.ndarray | None, Counter[tuple[str, str]]]:
    """Typed columns in contract order, the first reason each row is unusable ("" = ok; ``None``
    when every row is usable, which spares a chunk of valid rows an array of empty strings),
    and what was counted on the way (``(what, column) → rows``).

    Parameters
    ----------
    columns : dict of str to _Values
        One chunk's strings by the file's column names: every row's, or distinct values and
        codes. A contract column the file has but ``columns`` leaves out is not typed: only a
        column no row can be rejected for may be left out (:func:`_reasonless`).
    index : pandas.Index
        The chunk's rows.
    schema : FileSchema
    colmap : dict of str to str
        Contract column → the file's column (absent: not in the file).
    latest_day : pandas.Timestamp, optional
        The last calendar day a past date may fall on.
    parse : callable
        A date column's strings, its contract name and the rows each string stands for
        (``None``: one each) → :class:`DateParseResult`, with the file's day/month order.
    """
    n = len(index)
    # The first reason of each row, as an index into ``texts`` (0: none), made strings once.
    code = np.zeros(n, dtype=np.int16)
    texts = [""]
    counts: Counter[tuple[str, str]] = Counter()

    def flag(values: _Values, condition: np.ndarray, text: str) -> None:
        if not condition.any():  # one entry per string: often a few distinct values
            return
        hit = values.rows(condition) & (code == 0)
        if hit.any():
            texts.append(text)
            code[hit] = len(texts) - 1

    required = set(schema.value_required)
    typed: dict[str, Any] = {}
    for col in schema.columns:
        source = colmap.get(col)
        if source is not None and source not in columns:
            assert _reasonless(schema, col), f"{col} is left out but can reject a row"
            continue
        if col in schema.date_columns:
            if source is None:
                typed[col] = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
                continue
            values = columns[source]
            parsed = parse(values.strings, col, values.weights)
            dates = parsed.values.to_numpy()
            typed[col] = pd.Series(values.rows(dates), index=index, dtype="datetime64[ns]")
            counts.update({("format:" + f, col): k for f, k in parsed.formats.items()})
            counts[("offset_dropped", col)] += parsed.n_offset_dropped
            if col in required:
                flag(values, parsed.missing.to_numpy(), f"missing {col}")
            flag(values, parsed.unparseable.to_numpy(), f"unparseable {col}")
            if col in schema.past_dates and latest_day is not None:
                today = (latest_day - pd.Timedelta(days=1)).date()
                after = dates >= (latest_day + pd.Timedelta(days=1)).to_datetime64()
                flag(values, after, f"{col} after today ({today}): a typo in the year?")
                counts[(f"future:{today}", col)] += values.count(after)
        elif col in schema.quantity_columns:
            if source is None:
                typed[col] = np.full(n, np.nan)
                continue
            values = columns[source]
            numbers, status = _parse_quantities(values.strings)
            typed[col] = values.rows(numbers)
            counts[("thousands", col)] += values.count(status == _QTY_THOUSANDS)
            counts[("arabic_digits", col)] += values.count(status == _QTY_ARABIC_DIGITS)
            if col in required:
                flag(values, status == _QTY_MISSING, f"missing {col}")
            flag(values, status == _QTY_NON_NUMERIC, f"non-numeric {col}")
            if col in schema.nonnegative:
                flag(values, numbers < 0, f"negative {col}")
        else:
            if source is None:
                typed[col] = pd.Series("", index=index, dtype="str")
                continue
            values = columns[source]
            stripped = values.stripped
            typed[col] = values.text(index)
            if col in required:
                flag(values, stripped.eq("").to_numpy(dtype=bool), f"missing {col}")
    reason = np.array(texts, dtype=object)[code] if len(texts) > 1 else None
    return pd.DataFrame(typed, index=index, copy=False), reason, counts


def _reasonless(schema: FileSchema, col: str) -> bool:
    """Whether no value of column ``col`` can make a row unusable: free text, not required."""
    checked = {*schema.value_required, *schema.date_columns, *schema.quantity_columns}
    return col not in checked
