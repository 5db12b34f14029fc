"""Robust, vectorised date parsing for messy exports.

One column of a real export can mix ISO dates (``2024-03-01``), ISO timestamps (``T`` or space,
with or without seconds / fraction / timezone), slashed dates in either ``dd/mm/yyyy`` or
``mm/dd/yyyy`` order (optionally with a time, 24 h or AM/PM), ``yyyy/mm/dd`` and stray whitespace.

How it stays fast and unambiguous:

* only the *unique* strings are parsed (``pd.factorize``), and the result is mapped back through
  the codes, so a million lines holding a few hundred distinct dates cost a few hundred parses;
* every unique string is classified by one regular expression and parsed with an *explicit*
  ``strptime`` format for its group — never ``pd.to_datetime`` without a format, which guesses
  per value, is slow, and silently reads ``03/04/2024`` in whichever order it likes;
* the day/month order of slashed dates is decided per column from the evidence
  (:func:`decide_dayfirst`): a first component above 12 proves day-first, a second above 12 proves
  month-first; when every value is ambiguous the default (day-first) is used and a note says so.

A timezone offset is dropped, not converted: a timestamp belongs to the calendar date written in it
(``2024-03-01T23:30:00-05:00`` is 2024-03-01). Results are naive ``datetime64[ns]``.

:func:`parse_date_scalar` applies the same grammar to one value with plain ``re`` and ``datetime``
(microseconds, no pandas machinery), for request-time use.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "AmbiguousDateOrderWarning",
    "DateParseResult",
    "DayfirstDecision",
    "DayfirstEvidence",
    "dayfirst_evidence",
    "decide_dayfirst",
    "parse_date_scalar",
    "parse_dates",
]

logger = logging.getLogger(__name__)

#: Day-first is the default when a column holds only ambiguous slashed dates (both parts ≤ 12):
#: the chains this product targets export dd/mm/yyyy.
DEFAULT_DAYFIRST = True

# --- the grammar --------------------------------------------------------------------------------
# Normalisation happens first (strip, collapse whitespace, upper-case, drop the offset, ``T`` →
# space, decimal comma → dot, ``2:30PM`` → ``2:30 PM``); the classifier then sees one shape only.
_TIME = r"(?P<time>\d{1,2}:\d{2}(?P<sec>:\d{2}(?P<frac>\.\d{1,9})?)?)"
_DATE_RE = re.compile(
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

_UNRECOGNISED = "unrecognised"


class AmbiguousDateOrderWarning(UserWarning):
    """Slashed dates whose day/month order could not be proven from the data (default used)."""


# --- day-first evidence -------------------------------------------------------------------------
@dataclass(frozen=True)
class DayfirstDecision:
    """The day/month order chosen for one column, and why.

    Attributes
    ----------
    dayfirst : bool or None
        ``True`` for dd/mm/yyyy, ``False`` for mm/dd/yyyy, ``None`` when the column has no slashed
        day-month-year values (the order does not matter).
    note : str or None
        Human explanation, ``None`` when there was nothing to decide.
    ambiguous : bool
        No value proved the order; the default was used.
    conflicting : bool
        Values proved both orders; the majority won and the minority will not parse.
    """

    dayfirst: bool | None
    note: str | None = None
    ambiguous: bool = False
    conflicting: bool = False

    @property
    def is_warning(self) -> bool:
        """True when a person should look at the decision (a guess or a contradiction)."""
        return self.ambiguous or self.conflicting


@dataclass(frozen=True)
class DayfirstEvidence:
    """Counts (in rows) that decide the day/month order of a column's slashed dates.

    Evidence is additive, so a column read in chunks is decided by summing the chunks' evidence
    (``a + b``) without keeping its strings in memory.

    Attributes
    ----------
    n_day_month_year : int
        Rows of the form ``a/b/yyyy`` (also ``a-b-yyyy`` and ``a.b.yyyy``).
    n_first_over_12 : int
        Of those, rows whose first part is above 12 (so it is the day).
    n_second_over_12 : int
        Rows whose second part is above 12 (so the first part is the month).
    n_both_over_12 : int
        Rows with both parts above 12: impossible in either order, no evidence.
    example_dayfirst, example_monthfirst : str or None
        One value proving each order, for messages.
    """

    n_day_month_year: int = 0
    n_first_over_12: int = 0
    n_second_over_12: int = 0
    n_both_over_12: int = 0
    example_dayfirst: str | None = None
    example_monthfirst: str | None = None

    def __add__(self, other: DayfirstEvidence) -> DayfirstEvidence:
        if not isinstance(other, DayfirstEvidence):
            return NotImplemented
        return DayfirstEvidence(
            n_day_month_year=self.n_day_month_year + other.n_day_month_year,
            n_first_over_12=self.n_first_over_12 + other.n_first_over_12,
            n_second_over_12=self.n_second_over_12 + other.n_second_over_12,
            n_both_over_12=self.n_both_over_12 + other.n_both_over_12,
            example_dayfirst=self.example_dayfirst or other.example_dayfirst,
            example_monthfirst=self.example_monthfirst or other.example_monthfirst,
        )

    @property
    def n_ambiguous(self) -> int:
        """Rows with both parts ≤ 12, readable in either order."""
        return (
            self.n_day_month_year
            - self.n_first_over_12
            - self.n_second_over_12
            - self.n_both_over_12
        )

    def decide(self, *, column: str = "date", default: bool = DEFAULT_DAYFIRST) -> DayfirstDecision:
        """Choose the order from the evidence.

        Parameters
        ----------
        column : str, default="date"
            Column name used in the note.
        default : bool, default=True
            Order used when no value proves either (all parts ≤ 12).

        Returns
        -------
        DayfirstDecision
        """
        n, d1, m1 = self.n_day_month_year, self.n_first_over_12, self.n_second_over_12
        if n == 0:
            return DayfirstDecision(dayfirst=None)
        if d1 == m1 == self.n_ambiguous == 0:
            # Only impossible values (e.g. 31/31/2024): they fail in either order, nothing to say.
            return DayfirstDecision(dayfirst=bool(default))
        if d1 and m1:
            dayfirst = d1 >= m1
            loser = m1 if dayfirst else d1
            return DayfirstDecision(
                dayfirst=dayfirst,
                note=(
                    f"{column}: slashed dates contradict each other: {d1} row(s) are day-first "
                    f"(e.g. {self.example_dayfirst!r}) and {m1} row(s) month-first (e.g. "
                    f"{self.example_monthfirst!r}); chose {_order(dayfirst)} by majority, the "
                    f"{loser} other row(s) cannot be parsed. Re-export the column in one format."
                ),
                conflicting=True,
            )
        if d1:
            return DayfirstDecision(
                dayfirst=True,
                note=(
                    f"{column}: {_order(True)}: {d1} of {n} slashed row(s) have a first part above "
                    f"12, e.g. {self.example_dayfirst!r}"
                ),
            )
        if m1:
            return DayfirstDecision(
                dayfirst=False,
                note=(
                    f"{column}: {_order(False)}: {m1} of {n} slashed row(s) have a second part "
                    f"above 12, e.g. {self.example_monthfirst!r}"
                ),
            )
        return DayfirstDecision(
            dayfirst=bool(default),
            note=(
                f"{column}: all {self.n_ambiguous} slashed row(s) are ambiguous (day and month "
                "both ≤ 12); "
                f"assumed {_order(bool(default))} by default. If the export is "
                f"{_order(not default)}, pass dayfirst={not default}."
            ),
            ambiguous=True,
        )


def _order(dayfirst: bool) -> str:
    return "day-first (dd/mm/yyyy)" if dayfirst else "month-first (mm/dd/yyyy)"


# --- vectorised internals -----------------------------------------------------------------------
def _as_string_series(values: pd.Series | Iterable[object]) -> pd.Series:
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


def _factorize(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes (``-1`` for missing) and the unique values (``str`` in an object Series)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    # Object dtype on purpose: the unique values are few, and the grammar needs Python's ``re``
    # (back-references, ``\\g<name>``) which the pyarrow string backend (RE2) does not support.
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def _normalise(uniques: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Canonical spelling of each unique string, and whether it carried a timezone offset."""
    s = uniques.str.strip().str.replace(_WS_RE.pattern, " ", regex=True).str.upper()
    without_offset = s.str.replace(_OFFSET_RE.pattern, r"\g<body>", regex=True)
    has_offset = (without_offset != s).to_numpy(dtype=bool)
    s = without_offset
    s = s.str.replace(_ISO_T_RE.pattern, r"\g<d> ", regex=True)
    s = s.str.replace(_FRAC_COMMA_RE.pattern, r"\g<s>.\g<f>", regex=True)
    s = s.str.replace(_AMPM_RE.pattern, r"\g<t> \g<m>", regex=True)
    return s, has_offset


def _classify(normalised: pd.Series) -> pd.DataFrame:
    """Named groups of the grammar for each string (all NaN where it does not match)."""
    return normalised.str.extract(_DATE_RE.pattern, expand=True)


def _evidence_from_parts(
    parts: pd.DataFrame, weights: np.ndarray, raw: pd.Series
) -> DayfirstEvidence:
    dmy = parts["dmy"].notna().to_numpy()
    if not dmy.any():
        return DayfirstEvidence()
    p1 = pd.to_numeric(parts["p1"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    p2 = pd.to_numeric(parts["p2"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    proves_day = dmy & (p1 > 12) & (p2 <= 12)
    proves_month = dmy & (p2 > 12) & (p1 <= 12)
    return DayfirstEvidence(
        n_day_month_year=int(weights[dmy].sum()),
        n_first_over_12=int(weights[proves_day].sum()),
        n_second_over_12=int(weights[proves_month].sum()),
        n_both_over_12=int(weights[dmy & (p1 > 12) & (p2 > 12)].sum()),
        example_dayfirst=str(raw.iloc[int(np.argmax(proves_day))]) if proves_day.any() else None,
        example_monthfirst=(
            str(raw.iloc[int(np.argmax(proves_month))]) if proves_month.any() else None
        ),
    )


def _formats(parts: pd.DataFrame, dayfirst: bool) -> np.ndarray:
    """The explicit ``strptime`` format of each classified string (``""`` if unclassified)."""
    n = len(parts)
    ymd = parts["ymd"].notna().to_numpy()
    dmy = parts["dmy"].notna().to_numpy()
    sep = np.where(ymd, parts["sep1"].fillna("").to_numpy(dtype=object), "")
    sep = np.where(dmy, parts["sep2"].fillna("").to_numpy(dtype=object), sep)
    sep = sep.astype(object)
    date_fmt = np.full(n, "", dtype=object)
    date_fmt[ymd] = "%Y" + sep[ymd] + "%m" + sep[ymd] + "%d"
    first, second = ("%d", "%m") if dayfirst else ("%m", "%d")
    date_fmt[dmy] = first + sep[dmy] + second + sep[dmy] + "%Y"

    has_time = parts["time"].notna().to_numpy()
    has_sec = parts["sec"].notna().to_numpy()
    has_frac = parts["frac"].notna().to_numpy()
    has_ampm = parts["ampm"].notna().to_numpy()
    hour = np.where(has_ampm, "%I", "%H").astype(object)
    time_fmt = np.where(has_time, " " + hour + ":%M", "").astype(object)
    time_fmt = np.where(has_sec, time_fmt + ":%S", time_fmt)
    time_fmt = np.where(has_frac, time_fmt + ".%f", time_fmt)
    time_fmt = np.where(has_ampm, time_fmt + " %p", time_fmt)

    fmt = (date_fmt + time_fmt).astype(object)
    fmt[~(ymd | dmy)] = ""
    return fmt


def _parse_uniques(normalised: pd.Series, fmt: np.ndarray) -> np.ndarray:
    """Parse each unique string with its own explicit format; one ``to_datetime`` per format."""
    out = np.full(len(normalised), np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    for f in pd.unique(fmt[fmt != ""]):
        idx = np.flatnonzero(fmt == f)
        parsed = pd.to_datetime(normalised.iloc[idx], format=f, errors="coerce")
        out[idx] = parsed.to_numpy(dtype="datetime64[ns]")
    return out


# --- public API ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DateParseResult:
    """What :func:`parse_dates` produced and saw.

    Attributes
    ----------
    values : pd.Series
        Parsed values, ``datetime64[ns]`` naive, same index as the input; ``NaT`` where missing
        or unparseable. The wall-clock time is kept (for the calendar day: ``.dt.normalize()``).
    missing : pd.Series
        Boolean, True where the input was blank or NA.
    unparseable : pd.Series
        Boolean, True where the input was non-blank but not a date of the grammar (or an impossible
        date such as month 13 under the chosen order).
    column : str
        Column name, for messages.
    dayfirst : bool or None
        Order applied to slashed day-month-year values (``None``: none were present).
    formats : dict of str to int
        Rows per explicit format used (``"unrecognised"`` for values matching no format).
    n_offset_dropped : int
        Rows whose timezone offset was dropped (wall-clock kept).
    evidence : DayfirstEvidence
        The day/month evidence of this input.
    notes : tuple of str
        Human-readable notes (the day-first decision when it was made here).
    """

    values: pd.Series
    missing: pd.Series
    unparseable: pd.Series
    column: str
    dayfirst: bool | None
    formats: dict[str, int] = field(default_factory=dict)
    n_offset_dropped: int = 0
    evidence: DayfirstEvidence = field(default_factory=DayfirstEvidence)
    notes: tuple[str, ...] = ()

    @property
    def n_missing(self) -> int:
        """Number of blank / NA inputs."""
        return int(self.missing.sum())

    @property
    def n_unparseable(self) -> int:
        """Number of non-blank inputs that are not dates."""
        return int(self.unparseable.sum())


def dayfirst_evidence(values: pd.Series | Iterable[object]) -> DayfirstEvidence:
    """Count the rows that prove a day/month order, over the unique strings only.

    Parameters
    ----------
    values : pd.Series or iterable
        Date strings of one column (missing values are ignored).

    Returns
    -------
    DayfirstEvidence
        Additive evidence; sum the evidence of several chunks to decide a whole column.

    Examples
    --------
    >>> ev = dayfirst_evidence(["01/02/2024", "25/02/2024", "2024-03-01"])
    >>> (ev.n_day_month_year, ev.n_first_over_12, ev.n_second_over_12)
    (2, 1, 0)
    """
    series = _as_string_series(values)
    codes, uniques = _factorize(series)
    if len(uniques) == 0:
        return DayfirstEvidence()
    weights = np.bincount(codes[codes >= 0], minlength=len(uniques))
    normalised, _ = _normalise(uniques)
    return _evidence_from_parts(_classify(normalised), weights, uniques.str.strip())


def decide_dayfirst(
    values: pd.Series | Iterable[object],
    *,
    column: str = "date",
    default: bool = DEFAULT_DAYFIRST,
) -> bool | None:
    """Decide whether a column's slashed dates are day-first, from the evidence.

    A first part above 12 proves day-first (``25/03/2024``), a second part above 12 proves
    month-first (``03/25/2024``). When every slashed value is ambiguous, ``default`` is returned and
    an :class:`AmbiguousDateOrderWarning` says so; when values prove both orders the majority wins,
    with the same warning.

    Parameters
    ----------
    values : pd.Series or iterable
        Date strings of one whole column.
    column : str, default="date"
        Column name for the warning message.
    default : bool, default=True
        Order assumed when the evidence is ambiguous.

    Returns
    -------
    bool or None
        ``True`` day-first, ``False`` month-first, ``None`` when there are no slashed
        day-month-year values at all.

    Examples
    --------
    >>> decide_dayfirst(["03/25/2024", "04/01/2024"])
    False
    >>> decide_dayfirst(["2024-03-25"]) is None
    True
    """
    decision = dayfirst_evidence(values).decide(column=column, default=default)
    if decision.is_warning:
        warnings.warn(decision.note, AmbiguousDateOrderWarning, stacklevel=2)
    return decision.dayfirst


def parse_dates(
    values: pd.Series,
    *,
    column: str = "date",
    dayfirst: bool | None = None,
) -> DateParseResult:
    """Parse a column of messy date strings, vectorised over its unique values.

    Parameters
    ----------
    values : pd.Series
        Strings (any string dtype or object; NA / blank allowed). Datetime input is accepted and
        goes through the same path (a timezone is dropped, wall clock kept).
    column : str, default="date"
        Column name, used in notes.
    dayfirst : bool or None, default=None
        Order of slashed ``a/b/yyyy`` values. ``None`` decides it from ``values`` themselves
        (see :func:`decide_dayfirst`; the decision is in ``result.notes``). Pass the decision made
        on the whole column when parsing it chunk by chunk.

    Returns
    -------
    DateParseResult
        ``values`` is ``datetime64[ns]`` naive with the input's index; ``missing`` and
        ``unparseable`` tell the two kinds of ``NaT`` apart.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series(["2024-03-01", "25/03/2024 14:00", "2024-03-02T23:30:00+03:00", "soon"])
    >>> r = parse_dates(s, column="Date")
    >>> [str(v) for v in r.values]
    ['2024-03-01 00:00:00', '2024-03-25 14:00:00', '2024-03-02 23:30:00', 'NaT']
    >>> r.unparseable.tolist(), r.dayfirst
    ([False, False, False, True], True)
    """
    series = _as_string_series(values)
    codes, uniques = _factorize(series)
    n_unique = len(uniques)
    weights = np.bincount(codes[codes >= 0], minlength=n_unique)

    normalised, has_offset = _normalise(uniques)
    blank = (normalised.str.len() == 0).to_numpy(dtype=bool, na_value=True)
    parts = _classify(normalised)
    evidence = _evidence_from_parts(parts, weights, uniques.str.strip())

    notes: tuple[str, ...] = ()
    if dayfirst is None:
        decision = evidence.decide(column=column)
        chosen = decision.dayfirst
        if decision.note:
            notes = (decision.note,)
            if decision.is_warning:
                logger.warning("%s", decision.note)
    else:
        chosen = bool(dayfirst)
    has_dmy = bool(parts["dmy"].notna().any())
    fmt = _formats(parts, DEFAULT_DAYFIRST if chosen is None else chosen)
    parsed_unique = _parse_uniques(normalised, fmt)
    bad_unique = np.isnat(parsed_unique) & ~blank

    # Map back through the codes; index n_unique is the slot for NA inputs.
    parsed_ext = np.append(parsed_unique, np.datetime64("NaT", "ns"))
    missing_ext = np.append(blank, True)
    bad_ext = np.append(bad_unique, False)
    take = np.where(codes >= 0, codes, n_unique)
    index = series.index

    # Report what each row looked like: its format, a format whose date is impossible (month 13
    # under the chosen order), or no format at all.
    fmt_label = np.where(fmt == "", _UNRECOGNISED, fmt).astype(object)
    impossible = bad_unique & (fmt != "")
    fmt_label[impossible] = "impossible date as " + fmt_label[impossible]
    formats: dict[str, int] = {}
    counted = ~blank
    for label, n in (
        pd.Series(weights[counted], dtype=np.int64).groupby(fmt_label[counted], sort=True).sum()
    ).items():
        formats[str(label)] = int(n)

    return DateParseResult(
        values=pd.Series(parsed_ext[take], index=index, name=series.name, dtype="datetime64[ns]"),
        missing=pd.Series(missing_ext[take], index=index, name=series.name, dtype=bool),
        unparseable=pd.Series(bad_ext[take], index=index, name=series.name, dtype=bool),
        column=column,
        dayfirst=chosen if (has_dmy or dayfirst is not None) else None,
        formats=formats,
        n_offset_dropped=int(weights[has_offset & ~blank].sum()),
        evidence=evidence,
        notes=notes,
    )


def _normalise_scalar(text: str) -> str:
    s = _WS_RE.sub(" ", text.strip()).upper()
    s = _OFFSET_RE.sub(r"\g<body>", s)
    s = _ISO_T_RE.sub(r"\g<d> ", s)
    s = _FRAC_COMMA_RE.sub(r"\g<s>.\g<f>", s)
    return _AMPM_RE.sub(r"\g<t> \g<m>", s)


def parse_date_scalar(
    value: str | _dt.date | _dt.datetime | pd.Timestamp,
    *,
    dayfirst: bool | None = DEFAULT_DAYFIRST,
) -> pd.Timestamp:
    """Parse one date with the same grammar as :func:`parse_dates`, cheaply.

    Uses one compiled regular expression and ``datetime`` arithmetic (a few microseconds), for
    request-time parsing where a pandas call per value would dominate.

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
    m = _DATE_RE.match(_normalise_scalar(value))
    result = (
        None if m is None else _from_match(m, DEFAULT_DAYFIRST if dayfirst is None else dayfirst)
    )
    if result is None:
        raise ValueError(
            f"unparseable date {value!r}: expected an ISO date or timestamp ('2024-04-01', "
            "'2024-04-01T09:30:00+03:00'), 'dd/mm/yyyy', 'mm/dd/yyyy' or 'yyyy/mm/dd' "
            f"(slashed dates are read {_order(DEFAULT_DAYFIRST if dayfirst is None else dayfirst)})"
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
