"""How the CSV exports are encoded and delimited: :class:`CsvFormat`, per run.

By default ingestion detects both: the encoding from a byte-order mark or the NUL-byte pattern of
UTF-16 (else UTF-8), the delimiter from the header row (the one that splits it into the contract's
columns). A chain whose exports are cp1256 (Arabic Windows) or latin-1, or whose header cannot
tell, says so once: ``--encoding`` / ``--delimiter`` on the command line, or the environment
variables below; the command line wins.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Mapping
from dataclasses import dataclass

from stockout_sk.config import _env

__all__ = ["DELIMITER_ENV", "DELIMITER_NAMES", "ENCODING_ENV", "CsvFormat", "load_csv_format"]

ENCODING_ENV = "STOCKOUT_CSV_ENCODING"
DELIMITER_ENV = "STOCKOUT_CSV_DELIMITER"
#: Names a delimiter may be given by (a shell makes a literal tab awkward to type).
DELIMITER_NAMES = {
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "\\t": "\t",
    "pipe": "|",
}


@dataclass(frozen=True)
class CsvFormat:
    """The encoding and the delimiter of the six CSV files; ``None`` detects each per file.

    Environment variables (read by :func:`load_csv_format`)
    -----------------------------------------------------
    STOCKOUT_CSV_ENCODING
        A Python codec name: ``utf-8``, ``cp1256`` (Arabic Windows), ``utf-16``, ``latin-1`` …
        Unset: a byte-order mark or the NUL pattern of UTF-16 decides, else UTF-8.
    STOCKOUT_CSV_DELIMITER
        One character, or ``comma``, ``semicolon``, ``tab`` (``\\t``), ``pipe``. Unset: the
        character that splits each file's header into the contract's columns.

    Attributes
    ----------
    encoding : str or None
        Codec name, normalised by :func:`codecs.lookup` (``"cp1256"``, ``"utf-8"`` …).
    delimiter : str or None
        The one-character field delimiter.
    """

    encoding: str | None = None
    delimiter: str | None = None

    def describe(self) -> str:
        """``encoding utf-8, delimiter ';'`` — what was asked for, for messages."""
        enc = self.encoding or "detected"
        delim = "detected" if self.delimiter is None else repr(self.delimiter)
        return f"encoding {enc}, delimiter {delim}"


def load_csv_format(
    environ: Mapping[str, str] | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> CsvFormat:
    """The :class:`CsvFormat` of a run: command-line values over the environment's.

    Parameters
    ----------
    environ : mapping, optional
        Defaults to ``os.environ``.
    encoding, delimiter : str, optional
        The command line's ``--encoding`` / ``--delimiter`` (``None`` or ``""``: not given).

    Raises
    ------
    ValueError
        An unknown encoding or a delimiter that is not one character (or a known name); the
        message names the option or variable the value came from.

    Examples
    --------
    >>> load_csv_format({}, delimiter="semicolon")
    CsvFormat(encoding=None, delimiter=';')
    >>> load_csv_format({"STOCKOUT_CSV_ENCODING": "CP1256"})
    CsvFormat(encoding='cp1256', delimiter=None)
    """
    env = os.environ if environ is None else environ
    enc_source, enc = (
        ("--encoding", encoding) if encoding else (ENCODING_ENV, _env.text(env, ENCODING_ENV))
    )
    delim_source, delim = (
        ("--delimiter", delimiter) if delimiter else (DELIMITER_ENV, env.get(DELIMITER_ENV) or None)
    )
    return CsvFormat(
        encoding=None if enc is None else _check_encoding(enc, enc_source),
        delimiter=None if delim is None else _check_delimiter(delim, delim_source),
    )


def _check_encoding(value: str, source: str) -> str:
    try:
        return codecs.lookup(value.strip()).name
    except LookupError as exc:
        raise ValueError(
            f"{source}: unknown encoding {value!r}; give a Python codec name such as 'utf-8', "
            "'cp1256' (Arabic Windows), 'utf-16' or 'latin-1'."
        ) from exc


def _check_delimiter(value: str, source: str) -> str:
    delimiter = DELIMITER_NAMES.get(value.strip().lower(), value)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(
            f"{source}: the delimiter must be one character other than a quote or a line break "
            f"(or one of {sorted(DELIMITER_NAMES)}), got {value!r}."
        )
    return delimiter
