"""Chunked, validating ingestion of the six CSV exports into :class:`ChainData`.

What it guarantees (see ``docs/ARCHITECTURE.md`` for the output contract):

* **Fail fast on the contract.** Every file must exist and its header must carry the required
  columns of :mod:`stockout_sk.schemas`; all six headers are checked before any row is read, and a
  violation raises :class:`DataContractError` naming the file, the column and the columns found.
* **Nothing disappears silently.** Every record is accepted or rejected with a reason; rejected
  rows go to ``<out_dir>/rejects/<file>.csv`` (all original columns + ``reason`` + ``line``), and
  ``read == accepted + rejected`` is checked for every file.
* **Bounded memory.** Sales and movements are read in chunks and aggregated per chunk to daily
  branch×item sums; memory follows the number of distinct keys, not of lines.
* **Dates decided per column**, from the day/month evidence of the whole column.

Modules: ``report`` (the report types and the contract error), ``chain`` (:class:`ChainData`),
``header`` (header → column mapping), ``quantities`` (lenient numbers), ``scan`` (one file,
chunk by chunk), ``dedup`` (duplicate keys), ``aggregate`` (daily sums and flows), ``tables``
(one typed table per file), ``findings`` (cross-file checks), ``load`` (:func:`load_chain`).
"""

from stockout_sk.ingest.chain import ChainData
from stockout_sk.ingest.load import load_chain
from stockout_sk.ingest.report import (
    REJECT_LINE_COLUMN,
    REJECT_REASON_COLUMN,
    REPORT_FILENAME,
    DataContractError,
    FileReport,
    Finding,
    ValidationReport,
)

__all__ = [
    "REJECT_LINE_COLUMN",
    "REJECT_REASON_COLUMN",
    "REPORT_FILENAME",
    "ChainData",
    "DataContractError",
    "FileReport",
    "Finding",
    "ValidationReport",
    "load_chain",
]
