"""How the exports write values, and the quirks of a messy export.

A clean export writes every value one way: ISO dates, IDs and quantities as they are, a field
quoted only when it has to be. A messy export writes the same content the way real exports look:
a BOM and CRLF line ends in some files, mixed date formats within one column, stray whitespace
around IDs and quantities, ``12.0`` for ``12``, over-quoting. The bad values here
(:data:`BAD_DATES`, :data:`BAD_QUANTITIES`) only ever go into *extra* rows: clean rows are never
altered in content nor removed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stockout_sk.schemas import (
    EMPLOYEES,
    ITEM_MASTER,
    SALES_TRANSACTIONS,
    STOCK_CURRENT,
    STOCK_MOVEMENT,
)

__all__ = [
    "BAD_DATES",
    "BAD_QUANTITIES",
    "DATE_FORMATS",
    "Formatter",
    "force_quote",
    "quote",
]

# File-level quirks of a messy export (fixed, so the sample's README can say which file has what).
_BOM_FILES = frozenset({SALES_TRANSACTIONS.name, STOCK_CURRENT.name, ITEM_MASTER.name})
_CRLF_FILES = frozenset({STOCK_MOVEMENT.name, ITEM_MASTER.name, EMPLOYEES.name})

# strftime patterns of the dates an export writes: "iso" when clean, a mix within one column when
# messy. Timestamps with an offset carry the local wall-clock time, so their date is the true date.
DATE_FORMATS = {
    "iso": "%Y-%m-%d",
    "dmy": "%d/%m/%Y",
    "ymd_slash": "%Y/%m/%d",
    "ts": "%Y-%m-%d %H:%M:%S",
    "ts_t": "%Y-%m-%dT%H:%M:%S",
    "ts_tz": "%Y-%m-%dT%H:%M:%S+03:00",
}
_TIME_SLOTS = 4  # distinct times of day per date in a messy date column

BAD_DATES = ("2024-02-30", "31/31/2024", "not a date", "2024-13-01")
BAD_QUANTITIES = ("N/A", "abc", "#VALUE!", "1O")


def quote(value: str) -> str:
    """A CSV field: quoted (with doubled quotes) only when it has to be."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def force_quote(value: str) -> str:
    """A CSV field quoted (with doubled quotes) whether it needs it or not."""
    return '"' + value.replace('"', '""') + '"'


class Formatter:
    """The text of values, varied per row when ``messy``; a clean export always gets variant 0.

    Every variant is drawn from ``rng``, the messy stream, which never changes the content: the
    same generator also places the injected rows, in the order the files are written.
    """

    def __init__(self, dates: pd.DatetimeIndex, rng: np.random.Generator, *, messy: bool) -> None:
        self.dates = dates
        self.rng = rng
        self.messy = messy

    def encoding(self, table: str) -> str:
        """Text encoding of a table's file: UTF-8, with a BOM for some files of a messy export."""
        return "utf-8-sig" if self.messy and table in _BOM_FILES else "utf-8"

    def newline(self, table: str) -> str:
        """Line end of a table's file: LF, CRLF for some files of a messy export."""
        return "\r\n" if self.messy and table in _CRLF_FILES else "\n"

    def pick(self, n: int, probs: Sequence[float]) -> np.ndarray:
        """Variant index per row: always 0 for a clean export."""
        if not self.messy or len(probs) == 1:
            return np.zeros(n, dtype=np.int64)
        return self.rng.choice(len(probs), size=n, p=np.asarray(probs) / sum(probs))

    def date_table(self, variants: Sequence[str]) -> list[str]:
        """Strings for ``(variant, day, time slot)`` flattened as ``(v·days + d)·slots + s``."""
        n_days = len(self.dates)
        slots = _TIME_SLOTS if self.messy else 1
        seconds = (
            self.rng.integers(7 * 3600, 23 * 3600, (n_days, slots))
            if self.messy
            else (np.zeros((n_days, slots), dtype=np.int64))
        )
        stamps = pd.DatetimeIndex(
            (self.dates.values[:, None] + seconds.astype("timedelta64[s]")).ravel()
        )
        table: list[str] = []
        for variant in variants:
            table.extend(stamps.strftime(DATE_FORMATS[variant]).tolist())
        return table

    def date_index(self, day: np.ndarray, probs: Sequence[float]) -> np.ndarray:
        """Index into :meth:`date_table` per row: a variant drawn from ``probs``, a time slot."""
        variant = self.pick(len(day), probs)
        slots = _TIME_SLOTS if self.messy else 1
        slot = self.rng.integers(0, slots, len(day)) if self.messy else 0
        return (variant * len(self.dates) + day) * slots + slot

    @staticmethod
    def spaced(ids: Sequence[str], tails: Sequence[str] | None = None) -> list[str]:
        """Variants 0 (as is), 1 (leading space), 2 (trailing space) of each ID, + its tail.

        The tail (``",<name>"``) follows the ID unchanged: stray whitespace never touches a
        quoted field, where it would make the CSV malformed rather than merely untidy.
        """
        tails = tails if tails is not None else [""] * len(ids)
        return [
            f"{before}{i}{after}{tail}"
            for before, after in (("", ""), (" ", ""), ("", " "))
            for i, tail in zip(ids, tails, strict=True)
        ]

    def space_index(self, index: np.ndarray, size: int, share: float = 0.01) -> np.ndarray:
        """Index into :meth:`spaced` per row: ``share`` of the rows get a stray space."""
        return self.pick(len(index), (1.0 - share, share / 2, share / 2)) * size + index

    def quantities(self, qty: np.ndarray, float_share: float = 0.0) -> list[str]:
        """Quantities as text; messy exports sometimes pad them or write ``12.0``."""
        text = [str(q) for q in qty.tolist()]
        if not self.messy:
            return text
        variant = self.pick(len(text), (1.0 - 0.01 - float_share, 0.005, 0.005, float_share))
        for r in np.flatnonzero(variant).tolist():
            text[r] = (f" {text[r]}", f"{text[r]} ", f"{text[r]}.0")[variant[r] - 1]
        return text

    def insert(self, lines: list[str], extra: list[str]) -> list[str]:
        """Insert extra rows at random positions (deterministic for the messy stream)."""
        for row in extra:
            lines.insert(int(self.rng.integers(0, len(lines) + 1)), row)
        return lines
