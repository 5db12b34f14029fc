"""The entry point: read, validate and aggregate the six files of a chain (:class:`ChainData`)."""

from __future__ import annotations

import json
import logging
from contextlib import closing
from datetime import date
from pathlib import Path

import pandas as pd

from stockout_sk.clock import utc_today
from stockout_sk.config import CsvFormat, load_csv_format, load_ingest_workers
from stockout_sk.contract import DATE
from stockout_sk.ingest.chain import ChainData
from stockout_sk.ingest.findings import _flows_and_findings, _training_findings
from stockout_sk.ingest.flows import _build_flows
from stockout_sk.ingest.memory import _reused_pages
from stockout_sk.ingest.parallel import _PoolFlows
from stockout_sk.ingest.report import REPORT_FILENAME, DataContractError, ValidationReport
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.tables import _load_keyed_table, _load_stock_current
from stockout_sk.ingest.timeline import _decide_timeline
from stockout_sk.ingest.transactions import _FlowReader
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

__all__ = ["MIN_GAP_DAYS", "load_chain", "max_gap_days"]

logger = logging.getLogger(__name__)

#: The shortest run of days with no activity at all that cuts the history (see ``max_gap_days``).
MIN_GAP_DAYS = 28
#: Dates may lie this many days after today's UTC date (a chain east of UTC is a day ahead).
_TODAY_GRACE_DAYS = 1


def max_gap_days(horizon: int) -> int:
    """The longest run of days with no sale, movement or snapshot inside one history.

    ``max(28, 3 × horizon)``: four weeks without a single transaction anywhere in a chain is an
    outage or a typo, never trade; a long horizon needs proportionally more room.

    >>> max_gap_days(7), max_gap_days(14)
    (28, 42)
    """
    return max(MIN_GAP_DAYS, 3 * check_int(horizon, "horizon", caller="max_gap_days"))


def load_chain(
    data_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    chunksize: int = 100_000,
    csv_format: CsvFormat | None = None,
    horizon: int = 7,
    today: date | str | None = None,
    min_history_days: int | None = None,
    workers: int | None = None,
) -> ChainData:
    """Read, validate and aggregate the six CSV files of a chain.

    Parameters
    ----------
    data_dir : str or Path
        Directory holding ``stock_movement.csv``, ``stock_current.csv``,
        ``sales_transactions.csv``, ``item_master.csv``, ``employees.csv`` and ``branches.csv``.
    out_dir : str or Path, optional
        Where to write ``rejects/<file>.csv`` (every rejected row with ``reason``, ``line`` and,
        for lines that could not be split into columns, ``raw``) and ``validation_report.json``
        (always, also when a fatal error stops ingestion). ``None`` writes nothing; the counts
        are still in ``ChainData.report``.
    chunksize : int, default=100_000
        Rows per chunk when reading. Peak memory follows the distinct branch×item×day keys plus
        one chunk; the result does not depend on it.
    csv_format : CsvFormat, optional
        Encoding and delimiter; default: ``STOCKOUT_CSV_ENCODING`` / ``STOCKOUT_CSV_DELIMITER``,
        else detected per file (byte-order mark, UTF-16 NUL pattern, the header's delimiter).
    horizon : int, default=7
        The label horizon N: a run of more than ``max(28, 3 × N)`` days with no activity cuts
        the history (:func:`max_gap_days`).
    today : date or str, optional
        Sales, movements and ``LastUpdatedAt`` dated more than a day after it are quarantined;
        default: today's UTC date.
    min_history_days : int, optional
        A shorter history is a blocking finding (training would fail); ``None``: only a history
        no longer than the horizon is (no label could mature).
    workers : int, optional
        Processes that read a large sales file in spans, beside the movements
        (:mod:`~stockout_sk.ingest.parallel`; the result does not depend on it); ``1``: this
        process only. Default: ``STOCKOUT_INGEST_WORKERS``, else the cores this process may use.

    Returns
    -------
    ChainData
        See ``docs/ARCHITECTURE.md``.

    Raises
    ------
    DataContractError
        A file is missing, empty, undecodable or not a readable CSV, a required column is
        missing, the dates do not form one history, or no row carries a usable date. The
        validation report is written all the same, with the error.
    ValueError
        ``chunksize``, ``horizon`` or ``workers`` is not a positive integer, or the CSV or
        worker settings in the environment are invalid.

    Examples
    --------
    >>> chain = load_chain("sample_data", out_dir="artifacts/run")  # doctest: +SKIP
    >>> print(chain.report.format())  # doctest: +SKIP
    """
    workers = load_ingest_workers(workers=workers)
    flow_reader = _PoolFlows(workers) if workers > 1 else _FlowReader()
    with _reused_pages(), closing(flow_reader):
        return _load_chain(
            data_dir,
            out_dir=out_dir,
            chunksize=chunksize,
            csv_format=csv_format,
            horizon=horizon,
            today=today,
            min_history_days=min_history_days,
            flow_reader=flow_reader,
        )


def _load_chain(
    data_dir: str | Path,
    *,
    out_dir: str | Path | None,
    chunksize: int,
    csv_format: CsvFormat | None,
    horizon: int,
    today: date | str | None,
    min_history_days: int | None,
    flow_reader: _FlowReader,
) -> ChainData:
    """:func:`load_chain`, the transaction files read by ``flow_reader``."""
    chunksize = check_int(chunksize, "chunksize", caller="load_chain", type_error=ValueError)
    horizon = check_int(horizon, "horizon", caller="load_chain", type_error=ValueError)
    csv_format = load_csv_format() if csv_format is None else csv_format
    latest_day = pd.Timestamp(utc_today() if today is None else today).normalize()
    latest_day += pd.Timedelta(days=_TODAY_GRACE_DAYS)
    report = ValidationReport()
    scans: dict[str, _FileScan] = {}
    try:
        data_dir = _check_files(Path(data_dir))
        rejects_dir = None
        if out_dir is not None:
            rejects_dir = Path(out_dir) / "rejects"
            rejects_dir.mkdir(parents=True, exist_ok=True)
        for name, schema in SCHEMAS.items():
            scans[name] = _FileScan(
                schema, data_dir, rejects_dir, chunksize, csv_format, latest_day
            )
        chain = _load(scans, report, horizon, min_history_days, flow_reader)
    except DataContractError as exc:
        for scan in scans.values():
            scan.settle_dates()  # the decisions reading the dates up front would have reported
        exc.report = report
        report.error = str(exc)
        report.files = {s.schema.filename: s.report for s in scans.values()}
        report.findings = [f for s in scans.values() for f in s.findings] + report.findings
        _write_report(report, out_dir)
        raise
    _write_report(report, out_dir)
    for f in report.findings:
        if f.severity == "warning":
            logger.warning("%s%s", f"{f.file}: " if f.file else "", f.message)
    return chain


def _check_files(data_dir: Path) -> Path:
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
    return data_dir


def _load(
    scans: dict[str, _FileScan],
    report: ValidationReport,
    horizon: int,
    min_history_days: int | None,
    flow_reader: _FlowReader,
) -> ChainData:
    for scan in scans.values():  # every header before any row: fail fast on the contract
        scan.open_header()
    for scan in scans.values():
        if scan.schema.name in (STOCK_MOVEMENT.name, SALES_TRANSACTIONS.name):
            flow_reader.decide_dates(scan)
        else:
            scan.decide_dates()

    # Re-aggregate partial sums when they exceed a few chunks' worth of rows (and double).
    min_rows = 4 * scans[SALES_TRANSACTIONS.name].chunksize
    flow_reader.start(scans[STOCK_MOVEMENT.name], scans[SALES_TRANSACTIONS.name], min_rows)
    branches = _load_keyed_table(scans[BRANCHES.name])
    items = _load_keyed_table(scans[ITEM_MASTER.name])
    employees = _load_keyed_table(scans[EMPLOYEES.name])
    stock, snapshot_stats = _load_stock_current(scans[STOCK_CURRENT.name])
    transfers, movement_stats, sold, returns, sale_days = flow_reader.flows(
        scans[STOCK_MOVEMENT.name], scans[SALES_TRANSACTIONS.name], min_rows
    )

    timeline = _decide_timeline(
        {
            STOCK_MOVEMENT.filename: movement_stats.days.series(),
            SALES_TRANSACTIONS.filename: sale_days.series(),
        },
        stock,
        max_gap_days=max_gap_days(horizon),
    )
    for filename, reasons in timeline.drop.items():
        is_movement = filename == STOCK_MOVEMENT.filename
        scan = scans[STOCK_MOVEMENT.name if is_movement else SALES_TRANSACTIONS.name]
        logger.warning(
            "%s: quarantining the rows of %d day(s) cut off the history", filename, len(reasons)
        )
        flow_reader.requarantine(scan, reasons, movements=is_movement)
        if is_movement:
            transfers = transfers[~transfers[DATE].isin(reasons.index)].reset_index(drop=True)
        else:
            sold = sold[~sold[DATE].isin(reasons.index)].reset_index(drop=True)
    flow_reader.close()  # its processes are done: their memory back before the flows are built
    flows, chain_findings = _flows_and_findings(
        lambda: _build_flows(transfers, sold),
        branches=branches,
        items=items,
        employees=employees,
        stock=stock,
        transfers=transfers,
        sold=sold,
        movement_stats=movement_stats,
        snapshot_stats=snapshot_stats,
        returns=returns,
    )

    report.files = {scan.schema.filename: scan.finish() for scan in scans.values()}
    report.findings = [f for scan in scans.values() for f in scan.findings]
    report.findings += timeline.findings
    report.findings += chain_findings
    if timeline.start is None:
        raise DataContractError(
            f"no usable dated row in {STOCK_MOVEMENT.filename}, {SALES_TRANSACTIONS.filename} or "
            f"{STOCK_CURRENT.filename} under {scans[STOCK_CURRENT.name].path.parent}; see the "
            f"reject reasons:\n{report.format()}"
        )
    report.history_start = timeline.start.date().isoformat()
    report.history_end = timeline.end.date().isoformat()
    report.findings += _training_findings(
        report, horizon=horizon, min_history_days=min_history_days
    )
    return ChainData(
        stock_current=stock,
        flows=flows,
        transfers=transfers,
        branches=branches,
        items=items,
        employees=employees,
        report=report,
        history_start=pd.Timestamp(timeline.start),
        history_end=pd.Timestamp(timeline.end),
    )


def _write_report(report: ValidationReport, out_dir: str | Path | None) -> None:
    if out_dir is None:
        return
    path = Path(out_dir) / REPORT_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), "utf-8")
    logger.info("validation report written to %s", path)
