"""The header of one file: required columns present, contract columns mapped to file columns.

A contract column is matched exactly first, then loosely (without case, spaces or underscores),
and the loose match is reported as a finding. A missing required column is fatal; a missing
optional one is filled with empty strings; a column outside the contract is ignored.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from stockout_sk.ingest.report import DataContractError, Finding
from stockout_sk.schemas import FileSchema


@dataclass
class _Header:
    """The header of one file, mapped onto its schema.

    Attributes
    ----------
    names : list of str
        Stripped header names, unique the way pandas makes them.
    colmap : dict of str to str
        Contract column → file column, for the contract columns present.
    missing_optional : list of str
        Optional contract columns absent from the header.
    extra_columns : list of str
        Header columns outside the contract.
    findings : list of Finding
        Loose matches, extra columns, absent optional columns.
    """

    names: list[str]
    colmap: dict[str, str] = field(default_factory=dict)
    missing_optional: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _read_header(schema: FileSchema, path: Path) -> _Header:
    """Check the file's header carries the required columns of ``schema``; map the names.

    Raises
    ------
    DataContractError
        The file is not UTF-8, its header is not readable CSV, it is empty or starts with a blank
        line, or a required column is missing.
    """
    fn = schema.filename
    # Only the header record is read (``csv`` stops there): a broken row further down must
    # not hide a missing column, and a huge file costs nothing here.
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), [])
    except UnicodeDecodeError as exc:
        raise _encoding_error(fn, path, exc) from exc
    except csv.Error as exc:
        raise DataContractError(
            f"{fn}: the header row cannot be read as CSV ({exc}) in {path}; check its quoting."
        ) from exc
    if not any(h.strip() for h in header):
        raise DataContractError(
            f"{fn}: the file is empty or starts with a blank line ({path}); it must start "
            f"with a header row containing at least {list(schema.required)!r}."
        )
    out = _Header(names=_header_names(header))
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
        raise DataContractError(
            f"{fn}: missing required column(s) {missing!r}; found columns {out.names!r} in "
            f"{path}. The header must contain {list(schema.required)!r} (optional: "
            f"{list(schema.optional)!r}); fix the export or rename the column."
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
    return out


def _encoding_error(filename: str, path: Path, exc: UnicodeDecodeError) -> DataContractError:
    """The error for a file that is not UTF-8, naming the byte at fault."""
    return DataContractError(
        f"{filename}: not valid UTF-8 ({exc.reason} at byte {exc.start}: "
        f"{exc.object[exc.start : exc.start + 4]!r}) in {path}; re-export the file as "
        "UTF-8 (with or without BOM)."
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
