"""The grammar of reasons: :class:`Phrase`, how values are written, and common phrase shapes.

The phrase of every feature is written in :mod:`stockout_sk.features.names`, next to its name,
label and risk direction; :func:`stockout_sk.features.reasons.reason_text` picks it for a model
column and fills it in. This module holds what those phrases are made of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "Phrase",
    "above_safety_phrase",
    "below_phrase",
    "fewer_phrase",
    "format_number",
    "format_value",
    "lowest_phrase",
    "more_phrase",
    "ratio_phrase",
    "season_phrase",
]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_number(x: float) -> str:
    """Whole numbers as they are, small fractions with one decimal, large ones rounded."""
    if abs(x - round(x)) < 0.05 or abs(x) >= 10:
        return f"{round(x):,}"
    return f"{x:.1f}"


def _plural(number: str, noun: str) -> str:
    return f"{number} {noun}" if number == "1" else f"{number} {noun}s"


def format_value(value: float, unit: str) -> str:
    """A feature's value written for a planner, in the :class:`Phrase` unit ``unit``.

    Examples
    --------
    >>> format_value(0.0, "units"), format_value(1.0, "units"), format_value(3.17, "rate")
    ('0 units', '1 unit', '3.2 units a day')
    >>> format_value(-0.2769, "percent"), format_value(0, "weekday"), format_value(3, "month")
    ('-28%', 'Monday', 'March')
    """
    x = float(value)
    if unit == "percent":
        return f"{x * 100:,.0f}%"
    if unit == "level":  # a headroom ratio h / SS, written as the stock held: (1 + h/SS)
        return f"{(1 + x) * 100:,.0f}%"
    if unit == "weekday":
        return _WEEKDAYS[int(x) % 7]
    if unit == "month":
        return _MONTHS[(int(x) - 1) % 12]
    if unit == "weekend":
        return "weekends" if x >= 0.5 else "weekdays"
    number = format_number(x)
    if unit == "units":
        return _plural(number, "unit")
    if unit == "rate":
        return f"{_plural(number, 'unit')} a day"
    if unit == "days":
        return _plural(number, "day")
    return number


@dataclass(frozen=True)
class Phrase:
    """How a planner reads one feature's push on a row's risk, with the row's value.

    The templates hold ``{v}``, the value written in the feature's ``unit``, and the window
    placeholders of :class:`Feature` (``{w}``, ``{short}``, ``{long}``). Which template is used:
    ``under`` when the value is below ``pivot`` (whatever the direction: "18 units *below*
    safety stock"), ``over`` when it is above ``pivot`` and ``over`` is given, else ``raises``
    (the value pushes the risk up) or ``lowers`` (down). In ``under`` the value is written
    without its sign (see ``absolute``), or, for a ratio around 1, as it is.

    Attributes
    ----------
    raises, lowers : str
    under, over : str or None
    pivot : float
        0 for signed quantities, 1 for "recent rate / usual rate" ratios.
    unit : str
        How ``{v}`` is written: ``units`` ("5 units"), ``rate`` ("3.2 units a day"), ``days``
        ("4 days"), ``percent`` ("28%"), ``level`` (a ratio ``h / SS`` as the share of the
        safety stock held, ``1 + h / SS``: "40%"), ``count`` ("12"), ``weekday`` ("Monday",
        from 0), ``month`` ("March", from 1), ``weekend`` ("weekends" / "weekdays").
    absolute : bool
        Write the value without its sign in ``under`` (with ``pivot`` 0).
    """

    raises: str
    lowers: str
    under: str | None = None
    over: str | None = None
    pivot: float = 0.0
    unit: str = "units"
    absolute: bool = True

    def fill(self, value: float, raises: bool, fields: Mapping[str, int]) -> str:
        """The phrase for ``value`` (finite) pushing the risk up (``raises``) or down."""
        template, shown = (self.raises if raises else self.lowers), value
        if self.under is not None and value < self.pivot:
            template = self.under
            shown = abs(value) if self.absolute and self.pivot == 0 else value
        elif self.over is not None and value > self.pivot:
            template = self.over
        return template.format(v=format_value(shown, self.unit), **fields)


_SS = "safety stock"


def ratio_phrase(subject: str) -> Phrase:
    """A "recent rate / usual rate" ratio: slower or faster than usual."""
    usual = "{v} of the usual rate"
    return Phrase(
        raises=f"{subject} at their usual rate ({usual})",
        lowers=f"{subject} at their usual rate ({usual})",
        under=f"{subject} slower than usual ({usual})",
        over=f"{subject} faster than usual ({usual})",
        pivot=1.0,
        unit="percent",
    )


def season_phrase(when: str, unit: str) -> Phrase:
    """A calendar column: the model learned that risk differs at this time."""
    return Phrase(
        f"stock-outs are more common {when}", f"stock-outs are less common {when}", unit=unit
    )


def above_safety_phrase(unit: str, projected: bool = False) -> Phrase:
    """How far above (or already below) the safety stock, now or projected to the horizon."""
    if projected:
        before, after, still = "at the current sales rate, ", " by the end of the horizon", "still "
    else:
        before, after, still = "", "", ""
    return Phrase(
        f"{before}only {{v}} above {_SS}{after}",
        f"{before}{still}{{v}} above {_SS}{after}",
        under=f"{before}{'' if projected else 'already '}{{v}} below {_SS}{after}",
        unit=unit,
    )


def lowest_phrase(window: str) -> Phrase:
    """The lowest headroom over a past window (``h / SS``), written as the share of SS held."""
    return Phrase(
        f"the lowest stock in the last {window} days was only {{v}} of the {_SS}",
        f"stock stayed at {{v}} of the {_SS} or more over the last {window} days",
        under=f"stock fell to {{v}} of the {_SS} in the last {window} days",
        unit="level",
        absolute=False,
    )


def below_phrase(window: str) -> Phrase:
    """Days spent below the safety stock over a past window."""
    days = f"of the last {window} days"
    return Phrase(f"below {_SS} on {{v}} {days}", f"below {_SS} on only {{v}} {days}", unit="count")


def more_phrase(what: str, unit: str = "units") -> Phrase:
    """A quantity where more raises the risk: "{v} sold", "only {v} sold"."""
    return Phrase(what.replace("{only}", ""), what.replace("{only}", "only "), unit=unit)


def fewer_phrase(what: str, unit: str = "units") -> Phrase:
    """A quantity where less raises the risk: "only {v} delivered", "{v} delivered"."""
    return Phrase(what.replace("{only}", "only "), what.replace("{only}", ""), unit=unit)
