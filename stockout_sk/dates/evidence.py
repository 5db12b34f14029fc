"""Which order — day-first or month-first — a column's slashed dates are written in.

A first part above 12 proves day-first (``25/03/2024``), a second part above 12 proves month-first
(``03/25/2024``). The counts are additive (:class:`DayfirstEvidence`), so a column read in chunks
is decided from the sum of its chunks' evidence; :meth:`DayfirstEvidence.decide` turns them into a
:class:`DayfirstDecision` with a note a person can act on.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockout_sk.dates.grammar import (
    DEFAULT_DAYFIRST,
    as_string_series,
    classify,
    factorize,
    normalise,
    order_name,
)


class AmbiguousDateOrderWarning(UserWarning):
    """Slashed dates whose day/month order could not be proven from the data (default used)."""


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
                    f"{self.example_monthfirst!r}); chose {order_name(dayfirst)} by majority, the "
                    f"{loser} other row(s) cannot be parsed. Re-export the column in one format."
                ),
                conflicting=True,
            )
        if d1:
            return DayfirstDecision(
                dayfirst=True,
                note=(
                    f"{column}: {order_name(True)}: {d1} of {n} slashed row(s) have a first "
                    f"part above 12, e.g. {self.example_dayfirst!r}"
                ),
            )
        if m1:
            return DayfirstDecision(
                dayfirst=False,
                note=(
                    f"{column}: {order_name(False)}: {m1} of {n} slashed row(s) have a second part "
                    f"above 12, e.g. {self.example_monthfirst!r}"
                ),
            )
        return DayfirstDecision(
            dayfirst=bool(default),
            note=(
                f"{column}: all {self.n_ambiguous} slashed row(s) are ambiguous (day and month "
                "both ≤ 12); "
                f"assumed {order_name(bool(default))} by default. If the export is "
                f"{order_name(not default)}, pass dayfirst={not default}."
            ),
            ambiguous=True,
        )


def evidence_from_parts(
    parts: pd.DataFrame, weights: np.ndarray, raw: pd.Series
) -> DayfirstEvidence:
    """The evidence of classified unique strings (:func:`classify`), each counted ``weights``
    times; ``raw`` gives the examples quoted in notes."""
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
    series = as_string_series(values)
    codes, uniques = factorize(series)
    if len(uniques) == 0:
        return DayfirstEvidence()
    weights = np.bincount(codes[codes >= 0], minlength=len(uniques))
    normalised, _ = normalise(uniques)
    return evidence_from_parts(classify(normalised), weights, uniques.str.strip())


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
