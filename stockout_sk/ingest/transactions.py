"""How the two transaction files are read: the steps :func:`~stockout_sk.ingest.load_chain`
leaves to a reader, and the reader that runs them in this process.

``stock_movement.csv`` and ``sales_transactions.csv`` hold nearly every byte of an export.
:func:`~stockout_sk.ingest.load_chain` leaves four steps on them to a :class:`_FlowReader` —
decide their date order, read both into daily sums (begun before the small files are read,
where that runs elsewhere), move the rows of days cut off the history to the rejects, let go
of what it started — and does everything else itself. This module's
reader runs them here; :mod:`~stockout_sk.ingest.parallel` on processes of this machine,
:mod:`stockout_sk.distributed.ingest` on the workers of a Dask cluster.
"""

from __future__ import annotations

import pandas as pd

from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.tables import (
    _DayCounts,
    _load_movements,
    _load_sales,
    _MovementStats,
    _requarantine,
)

#: What :meth:`_FlowReader.flows` returns: daily transfers, the movements' statistics, daily
#: sales, the return lines, the sales rows per day.
_Flows = tuple[pd.DataFrame, _MovementStats, pd.DataFrame, int, _DayCounts]


class _FlowReader:
    """How the two transaction files are read: here, in this process."""

    def decide_dates(self, scan: _FileScan) -> None:
        """Decide the day/month order of the file's date columns."""
        scan.decide_dates()

    def start(self, movements: _FileScan, sales: _FileScan, min_rows: int) -> None:
        """Begin reading both files where that runs beside this process (here it does not),
        while it reads the small files; :meth:`flows` collects them."""

    def flows(self, movements: _FileScan, sales: _FileScan, min_rows: int) -> _Flows:
        """Both files read (:meth:`movements`, then :meth:`sales`)."""
        return (*self.movements(movements, min_rows), *self.sales(sales, min_rows))

    def movements(self, scan: _FileScan, min_rows: int) -> tuple[pd.DataFrame, _MovementStats]:
        """The daily transfers and what the findings need (``tables._load_movements``)."""
        return _load_movements(scan, min_rows)

    def sales(self, scan: _FileScan, min_rows: int) -> tuple[pd.DataFrame, int, _DayCounts]:
        """The daily sales, the return lines, the rows per day (``tables._load_sales``)."""
        return _load_sales(scan, min_rows)

    def requarantine(self, scan: _FileScan, reasons: pd.Series, *, movements: bool) -> None:
        """Move the accepted rows of the days cut off the history to the rejects."""
        _requarantine(scan, reasons, movements=movements)

    def close(self) -> None:
        """Let go of what the reader started (nothing, here); called once both files are read
        and again when ingestion ends, also on an error."""
