"""The transaction files read by worker processes of this machine: ``load_chain(workers=N)``.

Validating rows is pandas string work that holds Python's global lock, so one process reads at
most one core's worth (a thread reading movements beside the sales gained nothing, measured).
With ``workers`` > 1 and a sales file of at least two spans, :func:`~stockout_sk.ingest.load_chain`
starts that many processes — copies of this one (``fork``) on Linux when no other thread
runs here, fresh interpreters (``spawn``) beside the threads of a Prefect task — and

* reads ``stock_movement.csv`` whole in one of them — a ``MovementID`` is kept where it first
  appears, which needs every ID before it — with the single-process code, the file's scan (its
  counts, findings, decisions) handed back to this process;
* cuts ``sales_transactions.csv`` into spans of about ``span_bytes`` at line ends
  (:func:`~stockout_sk.ingest.spans._cuts`) while the file's date order is decided: the
  processes count the lines between the cuts (so that every span knows the physical line it
  starts on) and check their bytes as UTF-8, which the decision needs; then scans the spans
  on all the processes with the single-process scanner
  (:func:`~stockout_sk.ingest.span_tasks._sales_span`), the first process joining in once the
  movements are read;
* adds the spans up in file order as they come
  (:class:`~stockout_sk.ingest.span_tasks._SpanMerger`): their counts, line events, rejects and
  daily sums.

Two things a span cannot know alone are settled here, in file order, by reading a span again:

* a cut that fell inside a record (a quoted field holding line breaks): the span before it ends
  at that record's start, and the next span is read from there (as
  :func:`~stockout_sk.ingest.spans._plan` does for a cluster);
* the day/month order of the dates. It is decided as one process decides it (deferred until a
  slashed day-month-year date appears, the only kind it changes); a span that meets such a date
  stops (:class:`~stockout_sk.ingest.scan._DatesPendingError`), this process reads the file's date
  evidence and decides, and the spans that stopped are read again. A span read to its end
  before the decision holds no such date, so any order reads it the same.

Each process reads in ingestion's memory mode (:mod:`~stockout_sk.ingest.memory`) and, when
the processes take every core, reads its blocks in line: a read-ahead thread beside each
(:func:`~stockout_sk.ingest.reader._read_ahead`) then finds no idle core.

Only a file valid UTF-8 throughout is split (one whose bytes may not decode is refused or kept
by whole-file counts one span cannot see); any other file, and a sales file shorter than two
spans, is read in this process as before. The chain, report and rejects are the single
process's, to the row and the bit (``tests/unit/test_ingest_parallel.py``).
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from stockout_sk.config import INGEST_WORKERS_ENV, available_cores
from stockout_sk.ingest.aggregate import _SOLD, _SOLD_DTYPES
from stockout_sk.ingest.encoding import _all_utf8, _Encoding
from stockout_sk.ingest.memory import _keep_pages
from stockout_sk.ingest.reader import _read_in_line, _Span
from stockout_sk.ingest.scan import _FileScan
from stockout_sk.ingest.span_tasks import (
    _requarantine_span,
    _sales_span,
    _SpanMerger,
    _SpanResult,
)
from stockout_sk.ingest.spans import _absorb, _count_lines, _cuts, _spans_between
from stockout_sk.ingest.tables import _DayCounts, _load_movements, _MovementStats
from stockout_sk.ingest.transactions import _FlowReader, _Flows

__all__ = ["SPAN_BYTES"]

logger = logging.getLogger(__name__)

#: Bytes of ``sales_transactions.csv`` per span read by one process.
SPAN_BYTES = 32 * 2**20

#: Handed to the processes by :meth:`_PoolFlows.start`: the movements' read, the sales file's
#: spans and their reads, in file order.
_Started = tuple[
    Future[tuple[pd.DataFrame, _MovementStats, _FileScan]],
    list[_Span],
    deque[Future[_SpanResult | None]],
]


def _movements_whole(
    scan: _FileScan, min_rows: int
) -> tuple[pd.DataFrame, _MovementStats, _FileScan]:
    """``tables._load_movements`` on the whole file, in a worker; the scan travels back."""
    transfers, stats = _load_movements(scan, min_rows)
    return transfers, stats, scan


def _lines_and_utf8(path: Path, encoding: _Encoding, start: int, stop: int) -> tuple[int, bool]:
    """The line feeds in bytes ``[start, stop)`` of a file, and whether they are valid UTF-8."""
    return _count_lines(path, encoding, start, stop), _all_utf8(path, start, stop)


def _adopt(scan: _FileScan, read: _FileScan) -> None:
    """Make ``scan`` the scan a worker ran on its copy of it (counts, findings, decisions)."""
    vars(scan).update(vars(read))


@contextmanager
def _worker_deaths(scan: _FileScan) -> Iterator[None]:
    """A worker process that died (killed for memory, most likely) said in plain words."""
    try:
        yield
    except BrokenProcessPool as exc:
        raise RuntimeError(
            f"an ingestion worker process died while reading {scan.path.parent} (killed for "
            "lack of memory?); read the exports in one process with --ingest-workers 1 "
            f"(or {INGEST_WORKERS_ENV}=1), or give the machine more memory"
        ) from exc


def _worker_started(read_ahead: bool) -> None:
    """A worker process's setup: ingestion's memory mode (a fresh interpreter is not in it
    yet), and its files' blocks read in line unless some core is left for a read-ahead thread
    (:func:`~stockout_sk.ingest.reader._read_in_line`)."""
    _keep_pages()
    if not read_ahead:
        _read_in_line()


def _may_fork() -> bool:
    """Whether worker processes may be copies of this one: Linux (macOS's system libraries are
    not safe to copy) and no other thread in this process."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class _PoolFlows(_FlowReader):
    """:class:`~stockout_sk.ingest.transactions._FlowReader` with the transaction files read by
    ``workers`` processes of this machine (the module docstring); the processes start with the
    first file worth splitting and stop at :meth:`close`."""

    def __init__(self, workers: int, span_bytes: int | None = None) -> None:
        self.workers = workers
        self.span_bytes = SPAN_BYTES if span_bytes is None else span_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._lines: tuple[Path, list[int], list[int]] | None = None  # a file's cuts, their lines
        self._spans: list[_Span | None] = []  # the sales file's spans as read, in file order
        self._days: list[_DayCounts] = []  # and their rows per day
        self._started: _Started | None = None  # what start() handed to the processes

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # A copy of this process is ready at once (no imports: about a second of CPU per
            # worker) but is only safe while no other thread may hold a lock it copies; a
            # Prefect task runs beside threads of its own, so there the workers start afresh.
            method = "fork" if _may_fork() else "spawn"
            logger.info("starting %d ingestion processes (%s)", self.workers, method)
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context(method),
                initializer=_worker_started,
                initargs=(self.workers < available_cores(),),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _may_split(self, scan: _FileScan) -> bool:
        """Whether ``scan``'s file is large enough to read in spans, and in UTF-8."""
        return (
            self.workers > 1
            and scan.header.encoding.is_utf8
            and os.path.getsize(scan.path) >= 2 * self.span_bytes
        )

    def _splits(self, scan: _FileScan) -> bool:
        """Whether ``scan``'s file is read in spans (the module docstring)."""
        return self._may_split(scan) and bool(scan._valid_utf8)  # checked by decide_dates

    def decide_dates(self, scan: _FileScan) -> None:
        """A file worth splitting is cut first: the processes count each span's lines (its
        first line's number) and check its bytes as UTF-8 — what the file's decision needs,
        in one read of each span, on every core."""
        if not self._may_split(scan):
            super().decide_dates(scan)
            return
        pool = self._executor()
        with _worker_deaths(scan):
            cuts = _cuts(scan, self.span_bytes)
            encoding = scan.header.encoding
            read = [
                pool.submit(_lines_and_utf8, scan.path, encoding, a, b)
                for a, b in itertools.pairwise(cuts)
            ]
            valid = _all_utf8(scan.path, encoding.skip, cuts[0])  # the header
            lines, spans_valid = zip(*(r.result() for r in read), strict=True)
        self._lines = (scan.path, cuts, list(lines))
        scan._valid_utf8 = valid and all(spans_valid)
        scan.decide_dates()

    def start(self, movements: _FileScan, sales: _FileScan, min_rows: int) -> None:
        """The movements and every span of the sales file handed to the processes at once."""
        if not self._splits(sales) or self._lines is None or self._lines[0] != sales.path:
            return
        pool = self._executor()
        spans = _spans_between(sales, *self._lines[1:])
        logger.info(
            "%s: %d spans of about %d MiB on %d processes",
            sales.schema.filename,
            len(spans),
            self.span_bytes >> 20,
            self.workers,
        )
        with _worker_deaths(sales):
            moved = pool.submit(_movements_whole, movements, min_rows)
            tried = deque(pool.submit(_sales_span, sales, span, min_rows) for span in spans)
        self._started = (moved, spans, tried)

    def flows(self, movements: _FileScan, sales: _FileScan, min_rows: int) -> _Flows:
        if self._started is None:
            self.start(movements, sales, min_rows)
        if self._started is None:
            return super().flows(movements, sales, min_rows)
        moved, spans, tried = self._started
        self._started = None
        pool = self._executor()
        with _worker_deaths(sales):
            sold, returns, days = self._sales(pool, sales, spans, tried, min_rows)
            transfers, stats, read = moved.result()
        _adopt(movements, read)
        return transfers, stats, sold, returns, days

    def _sales(
        self,
        pool: ProcessPoolExecutor,
        scan: _FileScan,
        spans: list[_Span],
        tried: deque[Future[_SpanResult | None]],
        min_rows: int,
    ) -> tuple[pd.DataFrame, int, _DayCounts]:
        """The sales file's ``spans`` as ``tried`` (their futures, in file order) reads them."""
        n = len(spans)
        merged = _SpanMerger(scan, list(_SOLD_DTYPES)[:3], _SOLD, _SOLD_DTYPES)
        start, line = spans[0].start, spans[0].first_line
        for i, span in enumerate(spans):
            # Taken off the queue: a span's result is let go once merged.
            result = self._settled(pool, scan, span, tried.popleft(), start, line, min_rows)
            merged.add(result)
            self._spans.append(result.part.span)
            self._days.append(result.days)
            assert result.part.consumed is not None
            last_line, start = result.part.consumed
            line = last_line + 1
            if (i + 1) % 8 == 0 or i + 1 == n:
                logger.info("%s: %d of %d spans read", scan.schema.filename, i + 1, n)
        return merged.result(), merged.returns, merged.days

    def _settled(
        self,
        pool: ProcessPoolExecutor,
        scan: _FileScan,
        span: _Span,
        future: Future[_SpanResult | None],
        start: int,
        line: int,
        min_rows: int,
    ) -> _SpanResult:
        """The span's result, read again from ``start`` (on physical line ``line``) where its
        cut fell inside a record, or after the file's dates are decided where it stopped."""
        result = future.result()
        while result is None or (result.part.span.start, result.part.span.first_line) != (
            start,
            line,
        ):
            if result is None:
                logger.info(
                    "%s: a slashed day-month-year date; reading the date evidence first",
                    scan.schema.filename,
                )
                scan.settle_dates()
            result = pool.submit(
                _sales_span, scan, _Span(start, span.stop, line), min_rows
            ).result()
        return result

    def requarantine(self, scan: _FileScan, reasons: pd.Series, *, movements: bool) -> None:
        if movements or not self._spans or self._pool is None:
            super().requarantine(scan, reasons, movements=movements)
            return
        with _worker_deaths(scan):
            futures = [
                self._pool.submit(_requarantine_span, scan, span, reasons, None)
                for span, days in zip(self._spans, self._days, strict=True)
                if days.series().index.isin(reasons.index).any()  # only spans holding such rows
            ]
            for future in futures:
                result = future.result()
                _absorb(scan, result.part, result.rejects)
