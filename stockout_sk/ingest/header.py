"""The header of one file: its encoding, its delimiter, and contract columns → file columns.

The first bytes decide the encoding (:func:`~stockout_sk.ingest.encoding._detect_encoding`); the
header record is split with each candidate delimiter and the one that yields the most contract
columns wins (a semicolon export is read as such, not reported as missing every column). A
contract column is matched exactly first, then loosely (without case, spaces or underscores),
and the loose match is reported as a finding. A missing required column is fatal; a missing
optional one is filled with empty strings; a column outside the contract is ignored.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from stockout_sk.config import CsvFormat
from stockout_sk.ingest.encoding import _detect_encoding, _Encoding, _not_decodable_message
from stockout_sk.ingest.records import MAX_RECORD_LINES, _split_record
from stockout_sk.ingest.report import DataContractError, Finding
from stockout_sk.schemas import FileSchema

#: Bytes read to find the encoding, the header and the typical line length.
_HEAD_BYTES = 1 << 16
#: Delimiters tried on the header when the run names none, in order of preference on a tie.
_CANDIDATES = (",", ";", "\t", "|")


@dataclass
class _Header:
    """The header of one file, mapped onto its schema.

    Attributes
    ----------
    names : list of str
        Stripped header names, unique the way pandas makes them.
    fields : list of str
        The header's fields as written (stripped): a data row equal to them is a repeated header.
    encoding : _Encoding
    delimiter : str
    lines : int
        Physical lines of the header record.
    line_bytes : float
        Typical bytes per line (from the head of the file), to size the blocks read.
    colmap : dict of str to str
        Contract column → file column, for the contract columns present.
    missing_optional : list of str
        Optional contract columns absent from the header.
    extra_columns : list of str
        Header columns outside the contract.
    findings : list of Finding
        Encoding and delimiter detected, loose matches, extra columns, absent optional columns.
    """

    names: list[str]
    fields: list[str] = field(default_factory=list)
    encoding: _Encoding = field(default_factory=lambda: _Encoding("utf-8"))
    delimiter: str = ","
    lines: int = 1
    line_bytes: float = 100.0
    colmap: dict[str, str] = field(default_factory=dict)
    missing_optional: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _read_header(schema: FileSchema, path: Path, csv_format: CsvFormat | None = None) -> _Header:
    """Detect the file's encoding and delimiter and map its header onto ``schema``.

    Raises
    ------
    DataContractError
        The header does not decode (the error names the likely encoding), the file is empty or
        starts with a blank line, or a required column is missing.
    """
    csv_format = csv_format or CsvFormat()
    fn = schema.filename
    # Only the head is read: a broken row further down must not hide a missing column, and a
    # huge file costs nothing here.
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    encoding = _detect_encoding(head, csv_format.encoding)
    text = _decode_head(fn, path, head, encoding)
    values, delimiter, names = _split_header(schema, text, csv_format.delimiter)
    if not any(v.strip() for v in values):
        raise DataContractError(
            f"{fn}: the file is empty or starts with a blank line ({path}); it must start "
            f"with a header row containing at least {list(schema.required)!r}."
        )
    out = _Header(names=names, fields=[v.strip() for v in values], encoding=encoding)
    out.delimiter = delimiter
    out.lines = max(1, text.count("\n", 0, _header_end(text, delimiter)))
    out.line_bytes = len(head) / max(1, head.count(b"\n"))
    if encoding.note:
        out.findings.append(Finding("encoding", f"read as {encoding.note}", file=fn))
    if delimiter != ",":
        how = "as asked" if csv_format.delimiter else "detected from the header"
        out.findings.append(
            Finding("delimiter", f"fields delimited by {delimiter!r} ({how})", file=fn)
        )
    _map_columns(schema, path, out, csv_format.delimiter, text)
    return out


def _decode_head(fn: str, path: Path, head: bytes, encoding: _Encoding) -> str:
    """The head as text (line feeds only), as far as it decodes; an undecodable header is fatal."""
    body = head[encoding.skip :]
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="strict")
    try:
        text = decoder.decode(body, final=len(head) < _HEAD_BYTES)
    except UnicodeDecodeError as exc:
        text = body[: exc.start].decode(encoding.codec, errors="replace")
        if "\n" not in text and len(head) >= exc.start:
            raise DataContractError(
                _not_decodable_message(
                    fn,
                    str(path),
                    codec=encoding.codec,
                    line=1,
                    column=exc.start + 1,
                    offset=exc.start + encoding.skip if encoding.is_utf8 else None,
                    snippet=body[max(exc.start - 8, 0) : exc.start + 8],
                    sample=body[: body.find(b"\n") + 1 or len(body)],
                    detail=f"{exc.reason}, in the header",
                )
            ) from exc
    return text.replace("\r\n", "\n")


def _split_header(
    schema: FileSchema, text: str, requested: str | None
) -> tuple[list[str], str, list[str]]:
    """The header's values, the delimiter and the unique names: the delimiter asked for, or the
    candidate that yields the most contract columns (the first candidate on a tie)."""
    best: tuple[int, list[str], str] | None = None
    for delimiter in (requested,) if requested else _CANDIDATES:
        values = _split_record(text, 0, delimiter)[0] or [""]
        score = len(_matches(schema, _header_names(values)))
        if best is None or score > best[0]:
            best = (score, values, delimiter)
    assert best is not None
    return best[1], best[2], _header_names(best[1])


def _header_end(text: str, delimiter: str) -> int:
    """Position after the header record's line end (quoted line breaks stay inside it)."""
    lines = text.split("\n", MAX_RECORD_LINES)
    return _split_record("\n".join(lines[:MAX_RECORD_LINES]) + "\n", 0, delimiter)[1]


def _matches(schema: FileSchema, names: list[str]) -> set[str]:
    loose = {_loose(n) for n in names}
    return {c for c in schema.columns if c in names or _loose(c) in loose}


def _map_columns(
    schema: FileSchema, path: Path, out: _Header, requested: str | None, text: str
) -> None:
    """Fill ``out.colmap`` and the findings; a missing required column is fatal."""
    fn = schema.filename
    loose = {_loose(n): n for n in reversed(out.names)}
    missing = []
    for col in schema.columns:
        if col in out.names:
            out.colmap[col] = col
        elif _loose(col) in loose:
            out.colmap[col] = loose[_loose(col)]
            out.findings.append(
                Finding(
                    "column_renamed",
                    f"column {loose[_loose(col)]!r} read as {col!r} (case/spacing differs)",
                    file=fn,
                )
            )
        elif col in schema.required:
            missing.append(col)
        else:
            out.missing_optional.append(col)
    if missing:
        hint = ""
        if requested:
            other = _split_header(schema, text, None)[1]
            if other != requested:
                hint = (
                    f" The header splits into the contract's columns with {other!r}: re-run "
                    f"with --delimiter {other!r}."
                )
        raise DataContractError(
            f"{fn}: missing required column(s) {missing!r}; found columns {out.names!r} in "
            f"{path}. The header must contain {list(schema.required)!r} (optional: "
            f"{list(schema.optional)!r}); fix the export or rename the column.{hint}"
        )
    used = set(out.colmap.values())
    out.extra_columns = [n for n in out.names if n not in used]
    if out.extra_columns:
        out.findings.append(
            Finding(
                "extra_columns",
                f"columns not in the contract are ignored: {out.extra_columns!r}",
                file=fn,
                count=len(out.extra_columns),
            )
        )
    if out.missing_optional:
        out.findings.append(
            Finding(
                "optional_columns_absent",
                f"optional columns absent, filled with empty strings: {out.missing_optional!r}",
                file=fn,
                count=len(out.missing_optional),
            )
        )


def _header_names(header: list[str]) -> list[str]:
    """Stripped header names, made unique the way pandas does (``A``, ``A.1``, …)."""
    names: list[str] = []
    seen: Counter[str] = Counter()
    for i, raw in enumerate(header):
        name = raw.strip() or f"Unnamed: {i}"
        candidate = name
        while candidate in seen:
            candidate = f"{name}.{seen[name]}"
            seen[name] += 1
        seen[candidate] += 1
        names.append(candidate)
    return names


def _loose(name: str) -> str:
    """Header name compared without case, spaces or underscores."""
    return re.sub(r"[\s_]", "", name).casefold()
