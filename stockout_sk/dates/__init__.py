"""Robust date parsing for messy exports.

One column of a real export can mix ISO dates (``2024-03-01``), ISO timestamps (``T`` or space,
with or without seconds / fraction / timezone), slashed dates in either ``dd/mm/yyyy`` or
``mm/dd/yyyy`` order (optionally with a time, 24 h or AM/PM), ``yyyy/mm/dd`` and stray whitespace.

* :mod:`~stockout_sk.dates.grammar` — the one grammar every value is normalised to and matched by;
* :mod:`~stockout_sk.dates.evidence` — the day/month order of a column, decided from its values
  (:func:`decide_dayfirst`, additive :class:`DayfirstEvidence` for chunked reads);
* :mod:`~stockout_sk.dates.vectorised` — :func:`parse_dates`, a column at a time over its unique
  strings, each with an explicit format;
* :mod:`~stockout_sk.dates.scalar` — :func:`parse_date_scalar`, one value at request time.

A timezone offset is dropped, not converted: a timestamp belongs to the calendar date written in it
(``2024-03-01T23:30:00-05:00`` is 2024-03-01). Results are naive ``datetime64[ns]``.
"""

from stockout_sk.dates.evidence import (
    AmbiguousDateOrderWarning,
    DayfirstDecision,
    DayfirstEvidence,
    dayfirst_evidence,
    decide_dayfirst,
)
from stockout_sk.dates.grammar import DEFAULT_DAYFIRST
from stockout_sk.dates.scalar import parse_date_scalar
from stockout_sk.dates.vectorised import DateParseResult, parse_dates

__all__ = [
    "DEFAULT_DAYFIRST",
    "AmbiguousDateOrderWarning",
    "DateParseResult",
    "DayfirstDecision",
    "DayfirstEvidence",
    "dayfirst_evidence",
    "decide_dayfirst",
    "parse_date_scalar",
    "parse_dates",
]
