"""The entry point: read, validate and aggregate the six files of a chain (:class:`ChainData`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from stockout_sk.contract import DATE
from stockout_sk.ingest.aggregate import _build_flows
from stockout_sk.ingest.chain import ChainData
from stockout_sk.ingest.findings import _chain_findings
from stockout_sk.ingest.report import REPORT_FILENAME, DataContractError, ValidationReport
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.tables import (
    _load_keyed_table,
    _load_movements,
    _load_sales,
    _load_stock_current,
)
from stockout_sk.params import check_int
from stockout_sk.schemas import (
    BRANCHES,
    EMPLOYEES,
    ITEM_MASTER,
    SALES_TRANSACTIONS,
    SCHEMAS,
    STOCK_CURRENT,
    STOCK_MOVEMENT,
)

__all__ = ["load_chain"]

logger = logging.getLogger(__name__)


def load_chain(
    data_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    chunksize: int = 100_000,
) -> ChainData:
    """Read, validate and aggregate the six CSV files of a chain.

    Parameters
    ----------
    data_dir : str or Path
        Directory holding ``stock_movement.csv``, ``stock_current.csv``,
        ``sales_transactions.csv``, ``item_master.csv``, ``employees.csv`` and ``branches.csv``.
    out_dir : str or Path, optional
        Where to write ``rejects/<file>.csv`` (every rejected row with ``reason`` and ``line``)
        and ``validation_report.json``. ``None`` writes nothing; the counts are still in
        ``ChainData.report``.
    chunksize : int, default=100_000
        Rows per chunk when reading. Peak memory follows the distinct branch×item×day keys plus
        one chunk; the result does not depend on it.

    Returns
    -------
    ChainData
        See ``docs/ARCHITECTURE.md``.

    Raises
    ------
    DataContractError
        A file is missing, empty, not UTF-8 or not a readable CSV, a required column is missing,
        or no row carries a usable date.
    ValueError
        ``chunksize`` is not a positive integer.

    Examples
    --------
    >>> chain = load_chain("sample_data", out_dir="artifacts/run")  # doctest: +SKIP
    >>> print(chain.report.format())  # doctest: +SKIP
    """
    chunksize = check_int(chunksize, "chunksize", caller="load_chain", type_error=ValueError)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataContractError(
            f"data directory {str(data_dir)!r} does not exist or is not a directory; point it at "
            f"the folder holding {[s.filename for s in SCHEMAS.values()]!r}."
        )
    missing = [s.filename for s in SCHEMAS.values() if not (data_dir / s.filename).is_file()]
    if missing:
        found = sorted(p.name for p in data_dir.iterdir() if p.suffix.lower() == ".csv")
        raise DataContractError(
            f"missing input file(s) {missing!r} in {str(data_dir)!r} (found CSV files: {found!r}); "
            "all six files of the contract are required, even if some are only headers."
        )

    rejects_dir = None
    if out_dir is not None:
        rejects_dir = Path(out_dir) / "rejects"
        rejects_dir.mkdir(parents=True, exist_ok=True)

    scans = {name: _FileScan(s, data_dir, rejects_dir, chunksize) for name, s in SCHEMAS.items()}
    for scan in scans.values():  # every header before any row: fail fast on the contract
        scan.open_header()
    for scan in scans.values():
        scan.decide_dates()

    # Re-aggregate partial sums when they exceed a few chunks' worth of rows (and double).
    min_rows = 4 * chunksize
    branches = _load_keyed_table(scans[BRANCHES.name])
    items = _load_keyed_table(scans[ITEM_MASTER.name])
    employees = _load_keyed_table(scans[EMPLOYEES.name])
    stock = _load_stock_current(scans[STOCK_CURRENT.name])
    transfers, movement_stats = _load_movements(scans[STOCK_MOVEMENT.name], min_rows)
    sold, returns = _load_sales(scans[SALES_TRANSACTIONS.name], min_rows)
    flows = _build_flows(transfers, sold)

    file_reports = {scan.schema.filename: scan.finish() for scan in scans.values()}
    findings = [f for scan in scans.values() for f in scan.findings]
    findings += _chain_findings(
        branches=branches,
        items=items,
        employees=employees,
        stock=stock,
        transfers=transfers,
        sold=sold,
        flows=flows,
        movement_stats=movement_stats,
        returns=returns,
    )

    observed = pd.concat(
        [transfers[DATE], sold[DATE], stock["LastUpdatedAt"].dt.normalize()],
        ignore_index=True,
    ).dropna()
    report = ValidationReport(files=file_reports, findings=findings)
    if len(observed):
        history_start, history_end = observed.min(), observed.max()
        report.history_start = history_start.date().isoformat()
        report.history_end = history_end.date().isoformat()
    if out_dir is not None:
        path = Path(out_dir) / REPORT_FILENAME
        path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), "utf-8")
        logger.info("validation report written to %s", path)
    for f in findings:
        if f.severity == "warning":
            logger.warning("%s%s", f"{f.file}: " if f.file else "", f.message)
    if not len(observed):
        raise DataContractError(
            f"no usable dated row in {STOCK_MOVEMENT.filename}, {SALES_TRANSACTIONS.filename} or "
            f"{STOCK_CURRENT.filename} under {str(data_dir)!r}; see the reject reasons:\n"
            f"{report.format()}"
        )
    return ChainData(
        stock_current=stock,
        flows=flows,
        transfers=transfers,
        branches=branches,
        items=items,
        employees=employees,
        report=report,
        history_start=pd.Timestamp(history_start),
        history_end=pd.Timestamp(history_end),
    )
