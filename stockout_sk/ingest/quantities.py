"""Lenient quantity parsing: float64 values and a status per row, never a silent guess."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_THOUSANDS_RE = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
#: Plain integers that float64 holds exactly, which Arrow casts the way ``pd.to_numeric`` reads
#: them; ``-0`` (which ``pd.to_numeric`` may read as ``-0.0``) and ``+5`` (which Arrow refuses)
#: are left to ``pd.to_numeric``.
_PLAIN_INT_RE = r"^(?:[0-9]{1,15}|-[1-9][0-9]{0,14})$"
#: Status of a parsed quantity: a number, blank, not a number, a number with thousands
#: separators, a number written in Arabic-Indic (or Persian) digits.
_QTY_OK, _QTY_MISSING, _QTY_NON_NUMERIC, _QTY_THOUSANDS, _QTY_ARABIC_DIGITS = 0, 1, 2, 3, 4
#: Arabic-Indic (U+0660..) and Persian (U+06F0..) digits, the Arabic decimal and thousands
#: separators, and the direction marks that often travel with them in right-to-left text.
_ARABIC_DIGITS = str.maketrans(
    {
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
        "\u066b": ".",
        "\u066c": ",",
        "\u200e": None,
        "\u200f": None,
        "\u061c": None,
    }
)


def _parse_quantities(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Lenient numbers: float64 values and a status per row.

    ``1,234`` and ``1,234.5`` are read with a thousands separator because the grouping proves
    it; anything else with a comma (``1,5``, ``12,34``) is ambiguous and rejected, as are
    non-finite values. Arabic-Indic and Persian digits (``١٢``, ``۱۲``, ``٣٫٥``) are numbers.
    """
    stripped = values.str.strip()
    numbers, status = _parse_ascii(stripped)
    failed = np.flatnonzero(status == _QTY_NON_NUMERIC)
    if len(failed):
        candidates = stripped.iloc[failed]
        translated = candidates.str.translate(_ARABIC_DIGITS)
        changed = (translated != candidates).to_numpy(dtype=bool)
        if changed.any():
            again, again_status = _parse_ascii(translated[changed])
            idx = failed[changed]
            ok = again_status != _QTY_NON_NUMERIC
            numbers[idx[ok]] = again[ok]
            status[idx[ok]] = _QTY_ARABIC_DIGITS
    return numbers, status


def _parse_ascii(stripped: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    numbers = _to_float(stripped)
    status = np.full(len(stripped), _QTY_OK, dtype=np.int8)
    empty = (stripped == "").to_numpy(dtype=bool)
    failed = ~np.isfinite(numbers) & ~empty
    if failed.any():
        candidates = stripped[failed]
        grouped = candidates.str.fullmatch(_THOUSANDS_RE).to_numpy(dtype=bool)
        idx = np.flatnonzero(failed)
        if grouped.any():
            ungrouped = candidates[grouped].str.replace(",", "", regex=False).to_numpy(dtype=object)
            numbers[idx[grouped]] = pd.to_numeric(ungrouped, errors="coerce")
            status[idx[grouped]] = _QTY_THOUSANDS
        status[idx[~grouped]] = _QTY_NON_NUMERIC
        numbers[idx[~grouped]] = np.nan
    status[empty] = _QTY_MISSING
    numbers[empty] = np.nan
    return numbers, status


def _to_float(stripped: pd.Series) -> np.ndarray:
    """``pd.to_numeric(errors="coerce")`` as float64, the plain integers (most quantities) cast
    by Arrow: parsing Python objects one by one is what costs."""
    text = pa.array(stripped.to_numpy(dtype=object) if stripped.dtype == object else stripped)
    plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_INT_RE), False)
    mask = plain.to_numpy(zero_copy_only=False)
    numbers = np.full(len(stripped), np.nan)
    numbers[mask] = pc.cast(text.filter(plain), pa.int64()).to_numpy().astype(np.float64)
    rest = np.flatnonzero(~mask)
    if len(rest):
        others = stripped.to_numpy(dtype=object)[rest]
        numbers[rest] = np.asarray(pd.to_numeric(others, errors="coerce"), dtype=np.float64)
    return numbers
