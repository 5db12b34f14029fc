"""Request rows → pipeline input: the canonical ``Date`` and the column container."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from stockout_sk import dates
from stockout_sk.contract import RAW_FIELDS, STRING_FIELDS
from stockout_sk.features.columns import Columns

__all__ = ["canonical_date", "to_frame"]

_ISO_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


@lru_cache(maxsize=4096)
def canonical_date(value: str) -> str:
    """The ISO date (``YYYY-MM-DD``) of a request's ``Date``; the pipeline is sent this form.

    Accepted: ISO dates, ISO timestamps (``T`` or space, with or without seconds, fraction or
    timezone; a timestamp belongs to its wall-clock date), ``yyyy/mm/dd``, and ``dd/mm/yyyy`` or
    ``mm/dd/yyyy`` **when only one reading is a real date** (``25/04/2024``). A slashed date that
    reads as two different days (``04/01/2024``) is refused: guessing would silently shift the
    as-of day. Cached: request dates repeat a lot within a batch and across requests.

    Raises
    ------
    ValueError
        Unparseable or ambiguous; the message names the value and the accepted forms.

    Examples
    --------
    >>> canonical_date("2024-04-01T09:30:00+03:00")
    '2024-04-01'
    >>> canonical_date("25/04/2024")
    '2024-04-25'
    """
    text = value.strip()
    if len(text) == 10 and _ISO_DAY_RE.fullmatch(text):
        try:
            return _dt.date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a calendar date; send a real ISO date such as '2024-04-01'"
            ) from exc
    day_first = _try_parse(text, dayfirst=True)
    month_first = _try_parse(text, dayfirst=False)
    if day_first is None and month_first is None:
        raise ValueError(
            f"unparseable date {value!r}: send an ISO date ('2024-04-01') or timestamp "
            "('2024-04-01T09:30:00+03:00'); 'yyyy/mm/dd' and unambiguous 'dd/mm/yyyy' also work"
        )
    if day_first is not None and month_first is not None and day_first != month_first:
        raise ValueError(
            f"ambiguous date {value!r}: it reads as {day_first} day-first and {month_first} "
            "month-first; send an ISO date (YYYY-MM-DD)"
        )
    return day_first or month_first  # type: ignore[return-value]


def _try_parse(text: str, *, dayfirst: bool) -> str | None:
    try:
        # isoformat, not strftime: glibc's %Y does not pad a year below 1000 to four digits.
        return dates.parse_date_scalar(text, dayfirst=dayfirst).date().isoformat()
    except ValueError:
        return None


def to_frame(records: Sequence[Mapping[str, Any]], fields: Sequence[str] = RAW_FIELDS) -> Columns:
    """Raw request rows as the pipeline's input, columns in the fitted order.

    Returns a :class:`~stockout_sk.features.columns.Columns` — the feature package's own
    lightweight frame (an ordered dict of numpy arrays) that every pipeline step accepts like a
    DataFrame. Building it skips pandas' per-frame and per-column overhead, a large share of a
    single row's cost; the probabilities are the same as for
    ``pd.DataFrame(records)`` (a component test holds them equal).

    Parameters
    ----------
    records : sequence of mappings
        Validated rows: IDs and ``Date`` (canonical ISO) as strings, quantities as numbers.
    fields : sequence of str
        The pipeline's ``feature_names_in_`` (default :data:`~stockout_sk.contract.RAW_FIELDS`).
    """
    columns = Columns()
    for name in fields:
        values = [record[name] for record in records]
        if name in STRING_FIELDS:
            array = np.empty(len(values), dtype=object)
            array[:] = values
        else:
            array = np.asarray(values, dtype=np.float64)
        columns[name] = array
    return columns
