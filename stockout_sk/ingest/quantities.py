"""Lenient quantity parsing: float64 values and a status per row, never a silent guess."""

from __future__ import annotations

import numpy as np
import pandas as pd

_THOUSANDS_RE = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
#: Status of a parsed quantity: a number, blank, not a number, a number with thousands separators.
_QTY_OK, _QTY_MISSING, _QTY_NON_NUMERIC, _QTY_THOUSANDS = 0, 1, 2, 3


def _parse_quantities(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Lenient numbers: float64 values and a status per row (ok / missing / non-numeric / 1,234).

    ``1,234`` and ``1,234.5`` are read with a thousands separator because the grouping proves
    it; anything else with a comma (``1,5``, ``12,34``) is ambiguous and rejected, as are
    non-finite values.
    """
    stripped = values.str.strip()
    text = stripped.to_numpy(dtype=object)
    numbers = np.asarray(pd.to_numeric(text, errors="coerce"), dtype=np.float64)
    status = np.full(len(text), _QTY_OK, dtype=np.int8)
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
