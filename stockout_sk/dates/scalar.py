"""Parsing one date cheaply, with the grammar of :func:`~stockout_sk.dates.parse_dates`.

Plain ``re`` and ``datetime`` (no pandas machinery per value), for request-time parsing where a
pandas call per value would dominate.
"""

from __future__ import annotations

import datetime as _dt
import re

import pandas as pd

from stockout_sk.dates.grammar import DATE_RE, DEFAULT_DAYFIRST, normalise_scalar, order_name


def parse_date_scalar(
    value: str | _dt.date | _dt.datetime | pd.Timestamp,
    *,
    dayfirst: bool | None = DEFAULT_DAYFIRST,
) -> pd.Timestamp:
    """Parse one date with the same grammar as :func:`~stockout_sk.dates.parse_dates`, cheaply.

    Uses one compiled regular expression and ``datetime`` arithmetic, for request-time parsing
    where a pandas call per value would dominate.

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime or pd.Timestamp
        The date. Date objects pass through (a timezone is dropped, wall clock kept).
    dayfirst : bool or None, default=True
        Order of a slashed ``a/b/yyyy`` value, normally the decision learned on training data.
        ``None`` means the default (day-first).

    Returns
    -------
    pd.Timestamp
        Naive timestamp (midnight for a date without time).

    Raises
    ------
    ValueError
        If the value is missing, blank or not a date of the grammar; the message names the value
        and the accepted forms.
    TypeError
        If the value is neither a string nor a date.

    Examples
    --------
    >>> parse_date_scalar("2024-04-01T09:30:00Z")
    Timestamp('2024-04-01 09:30:00')
    >>> parse_date_scalar("04/01/2024", dayfirst=False)
    Timestamp('2024-04-01 00:00:00')
    """
    if value is None or value is pd.NaT:
        raise ValueError(f"date is missing ({value!r}); send a date such as '2024-04-01'")
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None) if value.tz is not None else value
    if isinstance(value, _dt.datetime):
        return pd.Timestamp(value.replace(tzinfo=None))
    if isinstance(value, _dt.date):
        return pd.Timestamp(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise TypeError(
            f"date must be a string or a date, got {type(value).__name__} {value!r}; "
            "send an ISO date such as '2024-04-01'"
        )
    order = DEFAULT_DAYFIRST if dayfirst is None else dayfirst
    m = DATE_RE.match(normalise_scalar(value))
    result = None if m is None else _from_match(m, order)
    if result is None:
        raise ValueError(
            f"unparseable date {value!r}: expected an ISO date or timestamp ('2024-04-01', "
            "'2024-04-01T09:30:00+03:00'), 'dd/mm/yyyy', 'mm/dd/yyyy' or 'yyyy/mm/dd' "
            f"(slashed dates are read {order_name(order)})"
        )
    return pd.Timestamp(result)


def _from_match(m: re.Match[str], dayfirst: bool) -> _dt.datetime | None:
    """Build the datetime from the groups of a grammar match; ``None`` if it is impossible."""
    if m["ymd"] is not None:
        y, mo, d = (int(p) for p in m["ymd"].split(m["sep1"]))
    else:
        a, b, y = (int(p) for p in m["dmy"].split(m["sep2"]))
        d, mo = (a, b) if dayfirst else (b, a)
    hh = mi = ss = us = 0
    if m["time"] is not None:
        hms, _, frac = m["time"].partition(".")
        fields = [int(p) for p in hms.split(":")]
        hh, mi = fields[0], fields[1]
        ss = fields[2] if len(fields) > 2 else 0
        us = int(frac[:6].ljust(6, "0")) if frac else 0
        if m["ampm"] is not None:
            if not 1 <= hh <= 12:
                return None
            hh = hh % 12 + (12 if m["ampm"] == "PM" else 0)
    try:
        return _dt.datetime(y, mo, d, hh, mi, ss, us)
    except ValueError:
        return None
