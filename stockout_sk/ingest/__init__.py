"""Chunked, validating ingestion of the six CSV exports into :class:`ChainData`.

What it guarantees (see ``docs/ARCHITECTURE.md`` for the output contract):

* **Fail fast on the contract.** Every file must exist and its header must carry the required
  columns of :mod:`stockout_sk.schemas`; all six headers are checked before any row is read, and a
  violation raises :class:`DataContractError` naming the file, the column and the columns found.
* **Nothing disappears silently.** Every record is accepted or rejected with a reason; rejected
  rows go to ``<out_dir>/rejects/<file>.csv`` (all original columns + ``reason`` + ``line``, the
  physical line, + ``raw`` for a line that could not be split into columns), and
  ``read == accepted + rejected`` is checked for every file, as is the count of physical lines.
* **Lines before records.** A line with the wrong number of fields, an unbalanced quote or
  undecodable bytes is quarantined on its own, wherever it is; the CSV parser only sees lines
  already checked (:mod:`~stockout_sk.ingest.records`).
* **Real export formats.** Encoding (BOM, UTF-16, else UTF-8, or the run's) and delimiter (the
  one that splits the header into the contract's columns, or the run's) per file
  (:class:`~stockout_sk.config.CsvFormat`).
* **One history.** Dates after today, stretches cut off by long runs without activity and flows
  after the snapshot are quarantined (:mod:`~stockout_sk.ingest.timeline`).
* **Bounded memory.** Sales and movements are read in chunks and aggregated per chunk to daily
  branch×item sums; memory follows the number of distinct keys, not of lines.
* **Dates decided per column**, from the day/month evidence of the whole column.
* **Every core.** A large sales file is validated in spans by worker processes of the machine
  (``load_chain(workers=N)``, :mod:`~stockout_sk.ingest.parallel`), with the same result.

Modules: ``report`` (the report types and the contract error), ``chain`` (:class:`ChainData`),
``encoding``, ``records`` (lines → records), ``reader`` (one file, block by block), ``header``
(encoding, delimiter, header → column mapping), ``quantities`` (lenient numbers), ``scan`` (one
file, chunk by chunk) and ``scan_findings``, ``dedup`` (duplicate keys), ``aggregate`` (daily
sums and flows), ``tables`` (one typed table per file), ``timeline`` (the history's days),
``findings`` (cross-file checks), ``load`` (:func:`load_chain`), ``transactions`` (the steps
``load_chain`` leaves to a reader of the two transaction files), ``parallel`` (that reader on
worker processes), ``spans`` (a file read in spans of whole records that add up to the whole
file) and ``span_tasks`` (what the reader of one span does — a worker process here, or a worker
of :mod:`stockout_sk.distributed` — and the spans added up).
"""

from stockout_sk.ingest.chain import ChainData
from stockout_sk.ingest.load import load_chain, max_gap_days
from stockout_sk.ingest.report import (
    REJECT_LINE_COLUMN,
    REJECT_RAW_COLUMN,
    REJECT_REASON_COLUMN,
    REPORT_FILENAME,
    DataContractError,
    FileReport,
    Finding,
    ValidationReport,
)

__all__ = [
    "REJECT_LINE_COLUMN",
    "REJECT_RAW_COLUMN",
    "REJECT_REASON_COLUMN",
    "REPORT_FILENAME",
    "ChainData",
    "DataContractError",
    "FileReport",
    "Finding",
    "ValidationReport",
    "load_chain",
    "max_gap_days",
]
