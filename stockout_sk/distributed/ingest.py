"""Ingestion on the workers: the two transaction files read in blocks, validated by the same code.

The six headers are checked on the client first (fail fast, as
:func:`~stockout_sk.ingest.load_chain` does). ``sales_transactions.csv`` and
``stock_movement.csv`` are then cut into blocks of whole lines (:data:`BLOCK_BYTES`) that the
workers read:

1. each block counts its lines and the day/month evidence of its date columns; the client sums
   the evidence and decides each column once, for the whole file, as one process does;
2. each block runs the single-process scan on its bytes (:class:`stockout_sk.ingest` validation,
   quarantine with reasons, source line numbers offset by the lines before the block) and sums
   its rows to daily branch×item (sales) or day×from×to×item (movements) totals;
3. a ``MovementID`` is kept in the first block that accepts it: each block learns which of its
   IDs an earlier block holds (hashes only travel) and rejects those copies as duplicates.

The client adds the blocks' daily totals in file order, reads the four small files itself, and
assembles the :class:`~stockout_sk.ingest.ChainData` and report one process would: the same
tables, the same counts (read = accepted + rejected per file) and the same findings. Blocks are
cut at line breaks: a quoted field holding a line break across a cut is read as two malformed
lines (quarantined, never lost); exports rarely hold one.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from distributed import Client, Future

from stockout_sk.contract import DATE
from stockout_sk.dates import DayfirstEvidence
from stockout_sk.distributed.blocks import (
    CHUNKSIZE,
    _block_ids,
    _BlockResult,
    _blocks,
    _earlier_ids,
    _finish_movements,
    _movement_block,
    _sales_block,
    _survey,
)
from stockout_sk.ingest import REPORT_FILENAME, ChainData, DataContractError, ValidationReport
from stockout_sk.ingest.aggregate import (
    _QUANTITY_MOVED,
    _SOLD,
    _SOLD_DTYPES,
    _TRANSFER_DTYPES,
    _TRANSFER_KEYS,
    _Aggregator,
    _build_flows,
)
from stockout_sk.ingest.findings import _chain_findings
from stockout_sk.ingest.report import REJECT_LINE_COLUMN, Finding
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.tables import (
    _load_keyed_table,
    _load_stock_current,
    _MovementStats,
)
from stockout_sk.schemas import (
    BRANCHES,
    EMPLOYEES,
    ITEM_MASTER,
    SALES_TRANSACTIONS,
    SCHEMAS,
    STOCK_CURRENT,
    STOCK_MOVEMENT,
)

__all__ = ["BLOCK_BYTES", "load_chain_on_cluster"]

logger = logging.getLogger(__name__)

#: Bytes per block of a transaction file read by one task.
BLOCK_BYTES = 64 * 2**20
_CHUNKSIZE = CHUNKSIZE


def _transaction_file(
    client: Client, scan: _FileScan, rejects_dir: Path | None, block_bytes: int
) -> list[_BlockResult]:
    """One transaction file through the three steps of the module docstring."""
    blocks = _blocks(scan.schema, scan.path, block_bytes)
    args = (scan.names, scan.colmap)
    surveys = client.gather(client.map(_survey, blocks, *[[a] * len(blocks) for a in args]))
    evidence: dict[str, DayfirstEvidence] = {}
    for survey in surveys:
        for column, found in survey.evidence.items():
            evidence[column] = evidence.get(column, DayfirstEvidence()) + found
    _decide(scan, evidence)
    first_lines = list(np.cumsum([2] + [s.lines for s in surveys[:-1]]))
    task = _sales_block if scan.schema is SALES_TRANSACTIONS else _movement_block
    futures: list[Future] = [
        client.submit(
            task,
            block,
            scan.names,
            scan.colmap,
            scan.dayfirst,
            scan.report.dates,
            int(first),
            rejects_dir,
            pure=False,
        )
        for block, first in zip(blocks, first_lines, strict=True)
    ]
    if task is _movement_block:
        earlier = _earlier_ids(client.gather(client.map(_block_ids, futures, pure=False)))
        futures = [
            client.submit(_finish_movements, f, e, pure=False)
            for f, e in zip(futures, earlier, strict=True)
        ]
    results = client.gather(futures)
    logger.info("%s: %d block(s) read on the cluster", scan.schema.filename, len(blocks))
    return results


def _decide(scan: _FileScan, evidence: dict[str, DayfirstEvidence]) -> None:
    """The day/month decision of each date column from the summed evidence (as ``decide_dates``)."""
    for column, found in evidence.items():
        decision = found.decide(column=column)
        scan.dayfirst[column] = decision.dayfirst
        scan.report.dates[column] = {
            "dayfirst": decision.dayfirst,
            "note": decision.note,
            "formats": Counter(),
            "offset_dropped": 0,
        }
        if decision.note:
            scan.findings.append(
                Finding(
                    "dayfirst",
                    decision.note,
                    severity="warning" if decision.is_warning else "info",
                    file=scan.schema.filename,
                    count=found.n_day_month_year,
                )
            )


def _merge(scan: _FileScan, results: list[_BlockResult]) -> None:
    """The blocks' counts, date formats and rejects into the file's scan, in file order."""
    rep = scan.report
    reasons: Counter[str] = Counter()
    for result in results:
        part = result.scan.report
        rep.read += part.read
        rep.accepted += part.accepted
        rep.rejected += part.rejected
        rep.duplicates += part.duplicates
        rep.blank_lines += part.blank_lines
        reasons.update(part.reasons)
        for column, info in part.dates.items():
            rep.dates[column]["formats"].update(info["formats"])
            rep.dates[column]["offset_dropped"] += info["offset_dropped"]
        scan._thousands.update(result.scan._thousands)
        _append_rejects(scan, result.scan.rejects_path, result.first_line - 2)
    rep.reasons = dict(reasons)


def _append_rejects(scan: _FileScan, part: Path | None, offset: int) -> None:
    """A block's rejects into the file's, its line numbers made the file's.

    A block's scan numbers the lines of its own bytes from 2 (after the header, line 1), the
    malformed lines pandas reports too: one offset, the lines before the block, fixes both.
    """
    if part is None or scan.rejects_path is None or not Path(part).exists():
        return
    rows = pd.read_csv(part, dtype=str, keep_default_na=False, header=None)
    if len(rows):
        rows.columns = [*scan.names, "reason", REJECT_LINE_COLUMN]
        rows[REJECT_LINE_COLUMN] = rows[REJECT_LINE_COLUMN].astype(np.int64) + offset
        rows = rows.sort_values(REJECT_LINE_COLUMN, kind="stable")
        rows.to_csv(scan.rejects_path, mode="a", header=False, index=False)
    os.unlink(part)


def load_chain_on_cluster(
    client: Client,
    data_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> ChainData:
    """:func:`stockout_sk.ingest.load_chain`, with the transaction files read on the workers.

    Parameters
    ----------
    client : distributed.Client
    data_dir : str or Path
        The six CSV files, at a path every worker reads (a shared volume on a real cluster).
    out_dir : str or Path, optional
        Rejects and the validation report, as ``load_chain`` writes them (the workers write their
        blocks' rejects there first).
    block_bytes : int
        Bytes per block.

    Returns
    -------
    ChainData
        What ``load_chain`` returns for the same files.
    """
    data_dir = Path(data_dir)
    missing = [s.filename for s in SCHEMAS.values() if not (data_dir / s.filename).is_file()]
    if missing:
        raise DataContractError(
            f"missing input file(s) {missing!r} in {str(data_dir)!r}; all six files of the "
            "contract are required, even if some are only headers."
        )
    rejects_dir = None
    if out_dir is not None:
        rejects_dir = Path(out_dir) / "rejects"
        rejects_dir.mkdir(parents=True, exist_ok=True)
    scans = {n: _FileScan(s, data_dir, rejects_dir, _CHUNKSIZE) for n, s in SCHEMAS.items()}
    for scan in scans.values():  # every header before any row: fail fast on the contract
        scan.open_header()
    for name in (BRANCHES.name, ITEM_MASTER.name, EMPLOYEES.name, STOCK_CURRENT.name):
        scans[name].decide_dates()
    branches = _load_keyed_table(scans[BRANCHES.name])
    items = _load_keyed_table(scans[ITEM_MASTER.name])
    employees = _load_keyed_table(scans[EMPLOYEES.name])
    stock = _load_stock_current(scans[STOCK_CURRENT.name])

    scratch = rejects_dir if rejects_dir is not None else None
    moved = _transaction_file(client, scans[STOCK_MOVEMENT.name], scratch, block_bytes)
    sales = _transaction_file(client, scans[SALES_TRANSACTIONS.name], scratch, block_bytes)
    _merge(scans[STOCK_MOVEMENT.name], moved)
    _merge(scans[SALES_TRANSACTIONS.name], sales)
    transfers = _sum_in_order(
        [r.daily for r in moved], _TRANSFER_KEYS, _QUANTITY_MOVED, _TRANSFER_DTYPES
    ).sort_values(_TRANSFER_KEYS, kind="stable", ignore_index=True)
    sold = _sum_in_order([r.daily for r in sales], [*_SOLD_DTYPES][:3], _SOLD, _SOLD_DTYPES)
    stats = _MovementStats(
        conflicting_duplicates=sum(r.stats.conflicting_duplicates for r in moved),
        self_transfers=sum(r.stats.self_transfers for r in moved),
    )
    returns = sum(r.returns for r in sales)
    flows = _build_flows(transfers, sold)
    return _assemble(
        data_dir,
        out_dir,
        scans,
        branches,
        items,
        employees,
        stock,
        transfers,
        sold,
        flows,
        stats,
        returns,
    )


def _sum_in_order(parts, keys, value, dtypes) -> pd.DataFrame:
    """The blocks' daily totals added in file order (first appearance kept, as one process)."""
    acc = _Aggregator(list(keys), [value], dtypes, 4 * _CHUNKSIZE)
    for part in parts:
        acc.add(part)
    return acc.result()


def _assemble(
    data_dir,
    out_dir,
    scans,
    branches,
    items,
    employees,
    stock,
    transfers,
    sold,
    flows,
    stats,
    returns,
) -> ChainData:
    """The report and the ChainData, as the end of ``load_chain`` builds them."""
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
        movement_stats=stats,
        returns=returns,
    )
    observed = pd.concat(
        [transfers[DATE], sold[DATE], stock["LastUpdatedAt"].dt.normalize()], ignore_index=True
    ).dropna()
    report = ValidationReport(files=file_reports, findings=findings)
    if not len(observed):
        raise DataContractError(
            f"no usable dated row in {STOCK_MOVEMENT.filename}, {SALES_TRANSACTIONS.filename} or "
            f"{STOCK_CURRENT.filename} under {str(data_dir)!r}; see the reject reasons:\n"
            f"{report.format()}"
        )
    history_start, history_end = observed.min(), observed.max()
    report.history_start = history_start.date().isoformat()
    report.history_end = history_end.date().isoformat()
    if out_dir is not None:
        path = Path(out_dir) / REPORT_FILENAME
        path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), "utf-8")
    for f in findings:
        if f.severity == "warning":
            logger.warning("%s%s", f"{f.file}: " if f.file else "", f.message)
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
