"""Parsing a whole column: each distinct string once, each with an explicit format.

* only the *unique* strings are parsed (``pd.factorize``), and the result is mapped back through
  the codes, so a million lines holding a few hundred distinct dates cost a few hundred parses;
* every unique string is classified by the grammar and parsed with an *explicit* ``strptime``
  format for its group — never ``pd.to_datetime`` without a format, which guesses per value, is
  slow, and silently reads ``03/04/2024`` in whichever order it likes;
* the day/month order of slashed dates is decided per column from the evidence
  (:mod:`stockout_sk.dates.evidence`) unless the caller passes the decision.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from stockout_sk.dates.evidence import DayfirstEvidence, evidence_from_parts
from stockout_sk.dates.grammar import (
    DEFAULT_DAYFIRST,
    as_string_series,
    classify,
    factorize,
    normalise,
)

logger = logging.getLogger(__name__)

#: The format label of values that match no form of the grammar.
_UNRECOGNISED = "unrecognised"


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
    """Parse each unique string with its own explicit format; one ``to_datetime`` per format.

    A date that nanosecond dates cannot hold (before 1677-09-21, after 2262-04-11: a typo
    such as ``0202-03-01``) is ``NaT``, as an impossible one is: pandas reads it in a coarser
    unit, which cast to nanoseconds would wrap around to some other date.
    """
    out = np.full(len(normalised), np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    for f in pd.unique(fmt[fmt != ""]):
        idx = np.flatnonzero(fmt == f)
        parsed = pd.to_datetime(normalised.iloc[idx], format=f, errors="coerce")
        held = (parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max)
        out[idx[held.to_numpy()]] = parsed[held].to_numpy(dtype="datetime64[ns]")
    return out


#: Distinct strings up to this many are remembered with what they read as (:func:`_read_uniques`).
_REMEMBER_UP_TO = 64


@dataclass(frozen=True)
class _Uniques:
    """What a column's distinct strings read as, whatever rows they stand for: their canonical
    spelling, a timezone offset, blank, the grammar's parts; and per day/month order, their
    formats and dates (:meth:`parsed`). Arrays are read-only: a remembered one is shared."""

    stripped: pd.Series
    normalised: pd.Series
    has_offset: np.ndarray
    blank: np.ndarray
    parts: pd.DataFrame
    _by_order: dict[bool, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def has_dmy(self) -> bool:
        """Some string is a slashed (or dotted) day-month-year date."""
        return bool(self.parts["dmy"].notna().any())

    def evidence(self, weights: np.ndarray) -> DayfirstEvidence:
        """The day/month evidence of the strings, each counted ``weights`` times."""
        return evidence_from_parts(self.parts, weights, self.stripped)

    def parsed(self, dayfirst: bool) -> tuple[np.ndarray, np.ndarray]:
        """Each string's explicit format (``""``: none) and its date (``NaT``: none)."""
        if dayfirst not in self._by_order:
            fmt = _formats(self.parts, dayfirst)
            dates = _parse_uniques(self.normalised, fmt)
            fmt.flags.writeable = dates.flags.writeable = False
            self._by_order[dayfirst] = fmt, dates
        return self._by_order[dayfirst]


@dataclass(frozen=True)
class _IsoDates:
    """:class:`_Uniques` of strings that are all ISO days (``2024-03-01``), the commonest
    export, or all ISO times to the second (``2024-03-01 21:36:19``, a snapshot's time of
    update): numpy reads them at once, with what the grammar would say of them (no blank, no
    offset, no day/month evidence, the one format ``fmt``)."""

    dates: np.ndarray
    fmt: str = "%Y-%m-%d"
    has_dmy = False

    @property
    def blank(self) -> np.ndarray:
        return np.zeros(len(self.dates), dtype=bool)

    @property
    def has_offset(self) -> np.ndarray:
        return self.blank

    def evidence(self, weights: np.ndarray) -> DayfirstEvidence:
        return DayfirstEvidence()

    def parsed(self, dayfirst: bool) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(self.dates), self.fmt, dtype=object), self.dates


#: An ISO day in ASCII digits, of a year pandas' nanosecond dates hold with room to spare, and
#: an ISO time to the second on such a day, each with the format the grammar gives it.
_ISO_DAY = re.compile(r"(1[7-9]|2[01])[0-9]{2}-[0-9]{2}-[0-9]{2}")
_ISO_SECOND = re.compile(_ISO_DAY.pattern + r" ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
_ISO_FORMS = (
    (_ISO_DAY, "%Y-%m-%d", "datetime64[D]"),
    (_ISO_SECOND, "%Y-%m-%d %H:%M:%S", "datetime64[s]"),
)


def _iso_dates(uniques: pd.Series) -> _IsoDates | None:
    """:class:`_IsoDates` when every string is an ISO day that exists, or every string an ISO
    time to the second on such a day, else ``None``."""
    values = uniques.tolist()
    first = values[0] if values else None
    form = next((f for f in _ISO_FORMS if isinstance(first, str) and f[0].fullmatch(first)), None)
    if form is None:
        return None
    pattern, fmt, unit = form
    if not all(isinstance(v, str) and pattern.fullmatch(v) for v in values):
        return None
    try:
        dates = np.array(values, dtype=unit)
    except ValueError:  # a day that does not exist (2024-02-30): the grammar says why
        return None
    return _IsoDates(dates.astype("datetime64[ns]"), fmt)


def _read_uniques(uniques: pd.Series) -> _Uniques | _IsoDates:
    """:class:`_Uniques` of distinct strings, remembered when they are few: a file read in
    chunks meets the same few dates chunk after chunk (a block of sales holds one to three),
    and reading them costs a few milliseconds of pandas' string methods each time."""
    if (iso := _iso_dates(uniques)) is not None:
        return iso
    if len(uniques) <= _REMEMBER_UP_TO:
        return _remembered(tuple(uniques.tolist()))
    return _uniques_of(uniques)


@lru_cache(maxsize=256)
def _remembered(values: tuple[str, ...]) -> _Uniques:
    return _uniques_of(pd.Series(np.asarray(values, dtype=object), dtype=object))


def _uniques_of(uniques: pd.Series) -> _Uniques:
    normalised, has_offset = normalise(uniques)
    blank = (normalised.str.len() == 0).to_numpy(dtype=bool, na_value=True)
    has_offset.flags.writeable = blank.flags.writeable = False
    return _Uniques(uniques.str.strip(), normalised, has_offset, blank, classify(normalised))


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


def parse_dates(
    values: pd.Series,
    *,
    column: str = "date",
    dayfirst: bool | None = None,
    weights: np.ndarray | None = None,
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
    weights : numpy.ndarray, optional
        Rows each value stands for (a column's distinct values, each row's code kept apart):
        the formats, offsets and day/month evidence count rows, as parsing the rows gives.

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
    series = as_string_series(values)
    codes, uniques = factorize(series)
    n_unique = len(uniques)
    counted_rows = codes >= 0
    weights = np.bincount(
        codes[counted_rows],
        weights=None if weights is None else np.asarray(weights)[counted_rows],
        minlength=n_unique,
    ).astype(np.int64)

    read = _read_uniques(uniques)
    has_offset, blank = read.has_offset, read.blank
    evidence = read.evidence(weights)

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
    has_dmy = read.has_dmy
    fmt, parsed_unique = read.parsed(DEFAULT_DAYFIRST if chosen is None else chosen)
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
    if counted.any():  # the rows per label, labels sorted (a pandas groupby costs more here)
        labels, at = np.unique(fmt_label[counted].astype(str), return_inverse=True)
        rows = np.bincount(at.ravel(), weights=weights[counted], minlength=len(labels))
        formats = {str(label): int(n) for label, n in zip(labels, rows, strict=True)}

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
