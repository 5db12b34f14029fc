"""Calendar features from the request's ``Date``.

The date convention (day-first or month-first for slashed dates) is learned strictly in ``fit``;
``transform`` only applies it, with a vectorised fast path for ISO strings so that a single-row
request costs microseconds, not the milliseconds of format inference.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from stockout_sk import dates
from stockout_sk.features.columns import (
    Columns,
    as_columns,
    check_input,
    check_same_columns,
    column,
    ensure_fitted,
)
from stockout_sk.features.names import CALENDAR_FEATURES

_EPOCH = np.datetime64("1970-01-01", "D")
# ``YYYY-MM-DD`` optionally followed by a time after ``T`` or a space.
_ISO_PREFIX = r"\d{4}-\d{2}-\d{2}(?:[T ]|$)"
# Up to this many values a Python loop is cheaper than pandas' string machinery.
_LOOP_ROWS = 64


def to_day_numbers(values: pd.Series | np.ndarray, *, dayfirst: bool | None = None) -> np.ndarray:
    """Convert dates to integer days since 1970-01-01 (float64, NaN where unparseable).

    Datetime dtypes are used as they are (their calendar date, time dropped). Strings take the
    fast ISO path when every value starts with ``YYYY-MM-DD``; anything else goes through
    :func:`stockout_sk.dates.parse_dates` with the given ``dayfirst``.
    """
    if isinstance(values, np.ndarray):
        if np.issubdtype(values.dtype, np.datetime64):
            return _datetimes_to_days(values)
        if values.dtype == object:
            fast = _iso_fast_path(values)
            if fast is not None:
                return fast
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return _datetimes_to_days(series.to_numpy(dtype="datetime64[ns]"))
    fast = _iso_fast_path(series.to_numpy(dtype=object))
    if fast is not None:
        return fast
    parsed = dates.parse_dates(series.astype("string"), dayfirst=dayfirst).values
    return _datetimes_to_days(parsed.to_numpy(dtype="datetime64[ns]"))


def _datetimes_to_days(raw: np.ndarray) -> np.ndarray:
    days = raw.astype("datetime64[D]").astype(np.int64).astype(np.float64)
    days[np.isnat(raw)] = np.nan
    return days


def _iso_fast_path(raw: np.ndarray) -> np.ndarray | None:
    """Parse ``YYYY-MM-DD[...]`` strings with numpy; ``None`` if any value is not of that form."""
    if len(raw) == 0:
        return np.empty(0, dtype=np.float64)
    if len(raw) > _LOOP_ROWS:
        return _iso_fast_path_vectorised(raw)
    heads = []
    for value in raw:
        if not isinstance(value, str):
            return None
        value = value.strip()
        if len(value) < 10 or value[4] != "-" or value[7] != "-":
            return None
        if len(value) > 10 and value[10] not in "T ":
            return None
        heads.append(value[:10])
    try:
        parsed = np.array(heads, dtype="datetime64[D]")
    except ValueError:
        return None
    return (parsed - _EPOCH).astype(np.int64).astype(np.float64)


def _iso_fast_path_vectorised(raw: np.ndarray) -> np.ndarray | None:
    """The same as the loop in :func:`_iso_fast_path`, with pandas string kernels for batches.

    A batch repeats a few dates many times: each distinct value is checked and parsed once.
    """
    codes, uniques = pd.factorize(raw)
    if (codes < 0).any():  # None / NaN: not a string, the general parser answers
        return None
    if len(uniques) <= _LOOP_ROWS:  # the usual batch: a few days; pandas' set-up would dominate
        days = _iso_fast_path(np.asarray(uniques, dtype=object))
        return None if days is None else days[codes]
    series = pd.Series(uniques, dtype=object)
    if not series.map(type).eq(str).all():
        return None
    text = series.astype("string").str.strip()
    if not text.str.match(_ISO_PREFIX).all():
        return None
    try:
        parsed = text.str.slice(0, 10).to_numpy(dtype=object).astype("datetime64[D]")
    except ValueError:
        return None
    return (parsed - _EPOCH).astype(np.int64).astype(np.float64)[codes]


def calendar_from_days(days: np.ndarray) -> dict[str, np.ndarray]:
    """Calendar features (float64) from integer day numbers; NaN days give NaN features."""
    missing = np.isnan(days)
    safe = np.where(missing, 0, days).astype(np.int64)
    as_date = safe.astype("datetime64[D]")
    month_start = as_date.astype("datetime64[M]")
    year_start = as_date.astype("datetime64[Y]").astype("datetime64[D]")
    next_month = (month_start + 1).astype("datetime64[D]")
    features = {
        # 1970-01-01 was a Thursday; Monday is 0 as in pandas.
        "day_of_week": (safe + 3) % 7,
        "day_of_month": (as_date - month_start.astype("datetime64[D]")).astype(np.int64) + 1,
        "month": month_start.astype(np.int64) % 12 + 1,
        "day_of_year": (as_date - year_start).astype(np.int64) + 1,
        "is_weekend": ((safe + 3) % 7 >= 5),
        "days_to_month_end": (next_month - as_date).astype(np.int64) - 1,
    }
    out = {}
    for name, values in features.items():
        column = values.astype(np.float64)
        column[missing] = np.nan
        out[name] = column
    return out


class CalendarFeatures(TransformerMixin, BaseEstimator):
    """Parse ``Date`` and add calendar columns; every other column passes through.

    Parameters
    ----------
    date_column : str, default="Date"
        Column holding the as-of date (ISO strings, slashed dates, timestamps or datetimes).
    dayfirst : bool or None, default=None
        Order of slashed dates. ``None`` learns it in ``fit`` from the evidence (a day above 12).

    Attributes
    ----------
    dayfirst_ : bool or None
        The convention applied in ``transform``.
    feature_names_in_ : ndarray of str
        Columns seen in ``fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"Date": ["2024-04-01", "2024-04-06"]})
    >>> CalendarFeatures().fit_transform(X)["day_of_week"].tolist()
    [0.0, 5.0]
    """

    def __init__(self, *, date_column: str = "Date", dayfirst: bool | None = None) -> None:
        self.date_column = date_column
        self.dayfirst = dayfirst

    def fit(self, X: pd.DataFrame, y=None) -> CalendarFeatures:
        """Learn the columns and the date convention."""
        check_input(X, self, (self.date_column,))
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        values = pd.Series(column(X, self.date_column))
        if self.dayfirst is not None:
            self.dayfirst_ = bool(self.dayfirst)
        elif pd.api.types.is_datetime64_any_dtype(values.dtype):
            self.dayfirst_ = None
        else:
            self.dayfirst_ = dates.decide_dayfirst(values.astype("string"))
        return self

    def transform(self, X: pd.DataFrame) -> Columns:
        """Replace ``Date`` by its parsed calendar date and append calendar columns.

        Returns a :class:`~stockout_sk.features.columns.Columns` (a DataFrame under
        ``set_output(transform="pandas")``).
        """
        ensure_fitted(self, "feature_names_in_")
        check_input(X, self, (self.date_column,))
        X = as_columns(check_same_columns(X, self))
        days = to_day_numbers(column(X, self.date_column), dayfirst=self.dayfirst_)
        bad = np.isnan(days)
        if bad.any():
            first = np.flatnonzero(bad)[0]
            warnings.warn(
                f"{bad.sum()} row(s) have an unparseable {self.date_column!r} "
                f"(first: row {first}, value {column(X, self.date_column)[first]!r}); "
                "their date-dependent features are NaN",
                UserWarning,
                stacklevel=2,
            )
        out = Columns.following(X, {name: column(X, name) for name in self.feature_names_in_})
        parsed = np.where(bad, 0, days).astype("datetime64[D]").astype("datetime64[ns]")
        parsed[bad] = np.datetime64("NaT")
        out[self.date_column] = parsed
        out.update(calendar_from_days(days))
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Input columns followed by the calendar columns."""
        check_is_fitted(self)
        return np.asarray([*self.feature_names_in_, *CALENDAR_FEATURES], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags
