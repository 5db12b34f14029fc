"""The date grammar: one spelling per value after normalisation, one regular expression.

Normalisation comes first (strip, collapse whitespace, upper-case, drop the offset, ``T`` →
space, decimal comma → dot, ``2:30PM`` → ``2:30 PM``); the classifier then sees one shape only.
The vectorised helpers work on the unique strings of a column; :func:`normalise_scalar` is the
same normalisation for one value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

#: Day-first is the default when a column holds only ambiguous slashed dates (both parts ≤ 12):
#: the chains this product targets export dd/mm/yyyy.
DEFAULT_DAYFIRST = True

_TIME = r"(?P<time>\d{1,2}:\d{2}(?P<sec>:\d{2}(?P<frac>\.\d{1,9})?)?)"
DATE_RE = re.compile(
    r"^(?:"
    r"(?P<ymd>\d{4}(?P<sep1>[-/.])\d{1,2}(?P=sep1)\d{1,2})"
    r"|(?P<dmy>(?P<p1>\d{1,2})(?P<sep2>[-/.])(?P<p2>\d{1,2})(?P=sep2)\d{4})"
    r")(?: " + _TIME + r"(?: (?P<ampm>AM|PM))?)?$"
)
_WS_RE = re.compile(r"\s+")
# An offset is only recognised right after a time, so the ``-01`` of ``2024-03-01`` is never eaten.
_OFFSET_RE = re.compile(
    r"(?P<body>\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?: ?[AP]M)?) ?(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
)
_ISO_T_RE = re.compile(r"^(?P<d>\d{4}-\d{1,2}-\d{1,2})T")
_FRAC_COMMA_RE = re.compile(r"(?P<s>:\d{2}),(?P<f>\d)")
_AMPM_RE = re.compile(r"(?P<t>\d) ?(?P<m>[AP]M)$")


def order_name(dayfirst: bool) -> str:
    """The day/month order in words, for messages."""
    return "day-first (dd/mm/yyyy)" if dayfirst else "month-first (mm/dd/yyyy)"


def as_string_series(values: pd.Series | Iterable[object]) -> pd.Series:
    """Any input as a Series whose non-missing values are ``str``; missing stays missing."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if pd.api.types.is_string_dtype(series.dtype) and not isinstance(series.dtype, np.dtype):
        return series
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        # Already dates: render as ISO so that they go through the same path (offset dropped).
        series = (
            series.dt.tz_localize(None) if isinstance(series.dtype, pd.DatetimeTZDtype) else series
        )
        return series.dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype("str")
    return series.astype("str").where(series.notna())


def factorize(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes (``-1`` for missing) and the unique values (``str`` in an object Series)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    # Object dtype on purpose: the unique values are few, and the grammar needs Python's ``re``
    # (back-references, ``\\g<name>``) which the pyarrow string backend (RE2) does not support.
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def normalise(uniques: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Canonical spelling of each unique string, and whether it carried a timezone offset."""
    s = uniques.str.strip().str.replace(_WS_RE.pattern, " ", regex=True).str.upper()
    without_offset = s.str.replace(_OFFSET_RE.pattern, r"\g<body>", regex=True)
    has_offset = (without_offset != s).to_numpy(dtype=bool)
    s = without_offset
    s = s.str.replace(_ISO_T_RE.pattern, r"\g<d> ", regex=True)
    s = s.str.replace(_FRAC_COMMA_RE.pattern, r"\g<s>.\g<f>", regex=True)
    s = s.str.replace(_AMPM_RE.pattern, r"\g<t> \g<m>", regex=True)
    return s, has_offset


def normalise_scalar(text: str) -> str:
    """:func:`normalise` of one string, with plain ``re``."""
    s = _WS_RE.sub(" ", text.strip()).upper()
    s = _OFFSET_RE.sub(r"\g<body>", s)
    s = _ISO_T_RE.sub(r"\g<d> ", s)
    s = _FRAC_COMMA_RE.sub(r"\g<s>.\g<f>", s)
    return _AMPM_RE.sub(r"\g<t> \g<m>", s)


def classify(normalised: pd.Series) -> pd.DataFrame:
    """Named groups of the grammar for each string (all NaN where it does not match)."""
    return normalised.str.extract(DATE_RE.pattern, expand=True)
