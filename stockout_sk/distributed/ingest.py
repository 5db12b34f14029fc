"""Ingestion on the workers: the two transaction files read in spans, validated by the same code.

:func:`load_chain_on_cluster` is :func:`stockout_sk.ingest.load_chain` with one difference: the
four steps that read ``stock_movement.csv`` and ``sales_transactions.csv`` run on the workers
(:class:`_ClusterFlows`). Everything else — the file and header checks, the four small files,
the history's time line, the flows, the findings, the report — is the single-process code, run
on the client. Per transaction file:

1. the file is cut at line ends about ``block_bytes`` apart and the workers count the lines
   between the cuts; then each span is surveyed (the day/month evidence of its date columns,
   where its last record ends) and the client decides each date column once, for the whole
   file. A cut that falls inside a record (a quoted field holding line breaks) moves back to
   the record's start (:func:`stockout_sk.ingest.spans._plan`);
2. each span is scanned by the single-process scanner (validation, quarantine with reasons,
   the file's physical line numbers) and summed to daily branch×item (sales) or
   day×from×to×item (movements) totals;
3. a ``MovementID`` is kept in the first span that accepts it: each span learns which of its
   IDs an earlier span holds (hashes only travel) and rejects those copies as duplicates;
4. when the time line cuts days off the history, the spans holding accepted rows of those days
   read their rows again and move them to the rejects.

The client adds the spans' totals, counts, line events and rejects in file order: the same
tables, the same report (read = accepted + rejected per file, physical lines reconciled) and
the same rejects as one process. One difference remains: the share of undecodable lines above
which a file is refused as being in another encoding is counted per span.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pandas as pd
from distributed import Client

from stockout_sk.config import CsvFormat
from stockout_sk.dates import DayfirstEvidence
from stockout_sk.distributed.blocks import (
    _earlier_ids,
    _finish_movements,
    _movement_span,
    _span_ids,
)
from stockout_sk.ingest import ChainData
from stockout_sk.ingest.aggregate import (
    _QUANTITY_MOVED,
    _SOLD,
    _SOLD_DTYPES,
    _TRANSFER_DTYPES,
    _TRANSFER_KEYS,
)
from stockout_sk.ingest.load import _load_chain
from stockout_sk.ingest.reader import _Span
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.span_tasks import (
    _Ids,
    _requarantine_span,
    _sales_span,
    _SpanMerger,
    _SpanResult,
)
from stockout_sk.ingest.spans import _absorb, _count_lines, _cuts, _plan, _Survey, _survey
from stockout_sk.ingest.tables import _DayCounts, _MovementStats
from stockout_sk.ingest.transactions import _FlowReader
from stockout_sk.params import check_int

__all__ = ["BLOCK_BYTES", "load_chain_on_cluster"]

logger = logging.getLogger(__name__)

#: Bytes per span of a transaction file read by one task.
BLOCK_BYTES = 64 * 2**20


class _ClusterFlows(_FlowReader):
    """The transaction files' four steps of :func:`~stockout_sk.ingest.load_chain`, on the
    workers (the module docstring); what a step learns per span is kept for the next."""

    def __init__(self, client: Client, block_bytes: int) -> None:
        self.client = client
        self.block_bytes = block_bytes
        self._surveys: dict[str, list[_Survey]] = {}
        self._days: dict[str, list[_DayCounts]] = {}
        self._earlier: list[_Ids] = []

    def decide_dates(self, scan: _FileScan) -> None:
        client = self.client
        scan.path = scan.path.absolute()  # a worker's working directory may differ
        cuts = _cuts(scan, self.block_bytes)
        n = len(cuts) - 1
        encoding = scan.header.encoding
        lines = client.gather(
            client.map(
                _count_lines, [scan.path] * n, [encoding] * n, cuts[:-1], cuts[1:], pure=False
            )
        )

        def survey(spans: list[_Span]) -> list[_Survey]:
            return client.gather(client.map(_survey, [scan] * len(spans), spans, pure=False))

        surveys = _plan(scan, cuts, lines, survey)
        evidence: dict[str, DayfirstEvidence] = {}
        for found in surveys:
            for column, seen in found.evidence.items():
                evidence[column] = evidence.get(column, DayfirstEvidence()) + seen
        scan.decide_dates(evidence)
        self._surveys[scan.schema.filename] = surveys

    def movements(self, scan: _FileScan, min_rows: int) -> tuple[pd.DataFrame, _MovementStats]:
        client, surveys = self.client, self._surveys[scan.schema.filename]
        held = [client.submit(_movement_span, scan, survey, pure=False) for survey in surveys]
        self._earlier = _earlier_ids(client.gather(client.map(_span_ids, held, pure=False)))
        results: list[_SpanResult] = client.gather(
            [
                client.submit(_finish_movements, future, earlier, min_rows, pure=False)
                for future, earlier in zip(held, self._earlier, strict=True)
            ]
        )
        del held  # the valid rows the workers kept
        stats = _MovementStats()
        for result in results:
            stats.conflicting_duplicates += result.stats.conflicting_duplicates
            stats.self_transfers += result.stats.self_transfers
            stats.days.update(result.days)
        merged = self._merge(scan, results, _TRANSFER_KEYS, _QUANTITY_MOVED, _TRANSFER_DTYPES)
        transfers = merged.result()
        return transfers.sort_values(_TRANSFER_KEYS, kind="stable", ignore_index=True), stats

    def sales(self, scan: _FileScan, min_rows: int) -> tuple[pd.DataFrame, int, _DayCounts]:
        client, surveys = self.client, self._surveys[scan.schema.filename]
        results: list[_SpanResult] = client.gather(
            [
                client.submit(_sales_span, scan, survey.span, min_rows, survey.clean, pure=False)
                for survey in surveys
            ]
        )
        merged = self._merge(scan, results, list(_SOLD_DTYPES)[:3], _SOLD, _SOLD_DTYPES)
        return merged.result(), merged.returns, merged.days

    def requarantine(self, scan: _FileScan, reasons: pd.Series, *, movements: bool) -> None:
        client, name = self.client, scan.schema.filename
        futures = [
            client.submit(
                _requarantine_span,
                scan,
                survey.span,
                reasons,
                self._earlier[i] if movements else None,
                pure=False,
            )
            for i, (survey, days) in enumerate(
                zip(self._surveys[name], self._days[name], strict=True)
            )
            if days.series().index.isin(reasons.index).any()  # only spans holding such rows
        ]
        for result in client.gather(futures):
            _absorb(scan, result.part, result.rejects)

    def _merge(
        self,
        scan: _FileScan,
        results: list[_SpanResult],
        keys: list[str],
        value: str,
        dtypes: dict[str, str],
    ) -> _SpanMerger:
        self._days[scan.schema.filename] = [r.days for r in results]
        logger.info("%s: %d span(s) read on the cluster", scan.schema.filename, len(results))
        merged = _SpanMerger(scan, keys, value, dtypes)
        for result in results:
            merged.add(result)
        return merged


def load_chain_on_cluster(
    client: Client,
    data_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    block_bytes: int = BLOCK_BYTES,
    chunksize: int = 100_000,
    csv_format: CsvFormat | None = None,
    horizon: int = 7,
    today: date | str | None = None,
    min_history_days: int | None = None,
) -> ChainData:
    """:func:`stockout_sk.ingest.load_chain`, with the transaction files read on the workers.

    Parameters
    ----------
    client : distributed.Client
    data_dir : str or Path
        The six CSV files, at a path every worker reads (a shared volume on a real cluster).
    out_dir : str or Path, optional
        Rejects and the validation report, as ``load_chain`` writes them (the client writes
        them: the workers send their spans' rejects back with their results).
    block_bytes : int
        Bytes per span of a transaction file (one task each).
    chunksize, csv_format, horizon, today, min_history_days
        As for :func:`~stockout_sk.ingest.load_chain`.

    Returns
    -------
    ChainData
        What ``load_chain`` returns for the same files.

    Raises
    ------
    DataContractError
        As ``load_chain`` (the validation report is written all the same).
    """
    block_bytes = check_int(
        block_bytes, "block_bytes", caller="load_chain_on_cluster", type_error=ValueError
    )
    return _load_chain(
        data_dir,
        out_dir=out_dir,
        chunksize=chunksize,
        csv_format=csv_format,
        horizon=horizon,
        today=today,
        min_history_days=min_history_days,
        flow_reader=_ClusterFlows(client, block_bytes),
    )
