"""One chunk of records as strings → typed columns and the first reason each row is unusable.

Dates go through :func:`stockout_sk.dates.parse_dates` with the file's day/month order, numbers
through :func:`~stockout_sk.ingest.quantities._parse_quantities`, text is stripped; a required
value that is missing, a date that is not one (or lies after today, for a past date), a number
that is not one (or is negative where it cannot be) each give a row its reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
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


def _validate(
    raw: pd.DataFrame,
    schema: FileSchema,
    colmap: dict[str, str],
    latest_day: pd.Timestamp | None,
    parse: Callable[[pd.Series, str], DateParseResult],
) -> tuple[pd.DataFrame, np.ndarray, Counter[tuple[str, str]]]:
    """Typed columns in contract order, the first reason each row is unusable ("" = ok), and
    what was counted on the way (``(what, column) → rows``).

    Parameters
    ----------
    raw : pd.DataFrame
        One chunk's records, strings, the file's column names.
    schema : FileSchema
    colmap : dict of str to str
        Contract column → the file's column (absent: not in the file).
    latest_day : pandas.Timestamp, optional
        The last calendar day a past date may fall on.
    parse : callable
        A date column's strings and its contract name → :class:`DateParseResult`, with the
        file's day/month order.
    """
    n = len(raw)
    # The first reason of each row, as an index into ``texts`` (0: none), made strings once.
    code = np.zeros(n, dtype=np.int16)
    texts = [""]
    counts: Counter[tuple[str, str]] = Counter()

    def flag(condition: np.ndarray, text: str) -> None:
        hit = condition & (code == 0)
        if hit.any():
            texts.append(text)
            code[hit] = len(texts) - 1

    required = set(schema.value_required)
    typed: dict[str, Any] = {}
    for col in schema.columns:
        source = colmap.get(col)
        if col in schema.date_columns:
            if source is None:
                typed[col] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
                continue
            parsed = parse(raw[source], col)
            typed[col] = parsed.values
            counts.update({("format:" + f, col): k for f, k in parsed.formats.items()})
            counts[("offset_dropped", col)] += parsed.n_offset_dropped
            if col in required:
                flag(parsed.missing.to_numpy(), f"missing {col}")
            flag(parsed.unparseable.to_numpy(), f"unparseable {col}")
            if col in schema.past_dates and latest_day is not None:
                today = (latest_day - pd.Timedelta(days=1)).date()
                next_day = latest_day + pd.Timedelta(days=1)
                after = (parsed.values >= next_day).to_numpy(dtype=bool)
                flag(after, f"{col} after today ({today}): a typo in the year?")
                counts[(f"future:{today}", col)] += int(after.sum())
        elif col in schema.quantity_columns:
            if source is None:
                typed[col] = np.full(n, np.nan)
                continue
            values, status = _parse_quantities(raw[source])
            typed[col] = values
            counts[("thousands", col)] += int((status == _QTY_THOUSANDS).sum())
            counts[("arabic_digits", col)] += int((status == _QTY_ARABIC_DIGITS).sum())
            if col in required:
                flag(status == _QTY_MISSING, f"missing {col}")
            flag(status == _QTY_NON_NUMERIC, f"non-numeric {col}")
            if col in schema.nonnegative:
                flag(values < 0, f"negative {col}")
        else:
            if source is None:
                typed[col] = pd.Series("", index=raw.index, dtype="str")
                continue
            stripped = raw[source].str.strip()
            typed[col] = stripped
            if col in required:
                flag(stripped.eq("").to_numpy(dtype=bool), f"missing {col}")
    reason = np.array(texts, dtype=object)[code]
    return pd.DataFrame(typed, index=raw.index), reason, counts
