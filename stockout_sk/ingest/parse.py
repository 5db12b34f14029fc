"""Records already known to be well-formed → a frame of strings, by a CSV parser.

:mod:`~stockout_sk.ingest.records` decides what a record is; the parser here only splits lines
it was told hold the header's number of fields and RFC-valid quotes, so it is never asked to
guess. Arrow's reader does it straight into the Arrow strings pandas keeps text in (pandas' C
tokenizer builds Python objects first, which pandas then converts); the C tokenizer is kept for
what Arrow reads differently.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv


@dataclass(frozen=True)
class _Shape:
    """What a record must look like: the file's delimiter, columns and where line breaks fit."""

    delimiter: str
    names: list[str]
    newline_ok: np.ndarray  # per column: may a quoted line break sit in it (free text)?
    usecols: list[int] | None = None
    distinct: list[int] | None = None  # columns a clean block gives as distinct values (below)
    unique: tuple[int, ...] = ()  # of those, the ones read as text: a value per row (a key)


@dataclass(frozen=True)
class _Distinct:
    """A clean block's columns :attr:`_Shape.distinct` as distinct values (first appearance
    order, pandas' strings) and each row's code into them; the block's bytes kept, should a
    chunk of it need every field as text after all (a row to reject)."""

    columns: dict[str, tuple[np.ndarray | None, pd.Series]]  # codes None: every row's text
    payload: bytes
    shape: _Shape
    rows: int


#: Arrow text → pandas' own string dtype (what ``dtype=str`` gives).
_STRING_TYPES = {
    pa.string(): pd.StringDtype(na_value=np.nan),
    pa.large_string(): pd.StringDtype(na_value=np.nan),
}


def _arrow_parse_options(delimiter: str) -> pa_csv.ParseOptions:
    """How Arrow splits lines already checked: RFC 4180 quotes, one line per record."""
    return pa_csv.ParseOptions(
        delimiter=delimiter,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=False,
        ignore_empty_lines=False,
    )


def _read_checked(payload: bytes, shape: _Shape) -> pd.DataFrame:
    """Lines known to hold the header's number of fields, as strings, in line order.

    Arrow's CSV reader splits them straight into the Arrow strings pandas keeps text in, where
    the C tokenizer builds Python objects first. It reads on one thread: its worker threads each
    keep freed memory of their own, which raised the peak more than they saved time on a block
    of ``chunksize`` lines. It ends a line at a lone carriage return too, which the C tokenizer
    — told ``\\n`` — keeps as data: a payload holding one goes to the C tokenizer.
    """
    if b"\r" in payload:
        return _read_checked_c(payload, shape)
    columns = [f"f{j}" for j in range(len(shape.names))]
    keep = range(len(shape.names)) if shape.usecols is None else shape.usecols
    table = pa_csv.read_csv(
        io.BytesIO(payload),
        read_options=pa_csv.ReadOptions(column_names=columns, use_threads=False),
        parse_options=_arrow_parse_options(shape.delimiter),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(columns, pa.string()),
            include_columns=[columns[j] for j in keep],
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    frame = table.to_pandas(types_mapper=_STRING_TYPES.get)
    frame.columns = [shape.names[j] for j in keep]
    return frame


_DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def _read_distinct(payload: bytes, shape: _Shape) -> _Distinct | None:
    """:func:`_read_checked` of the columns :attr:`_Shape.distinct`, each as its distinct
    values and the rows' codes (Arrow's dictionary encoding, one dictionary for the block):
    the few distinct dates, IDs and quantities of a block are then parsed and checked once
    each (:class:`~stockout_sk.ingest.validate._Values`). The columns :attr:`_Shape.unique`
    (a key: a value per row) are read as text, no codes. ``None`` where :func:`_read_checked`
    hands the payload to the C tokenizer (a carriage return)."""
    assert shape.distinct is not None
    if b"\r" in payload:
        return None
    columns = [f"f{j}" for j in range(len(shape.names))]
    keep = [columns[j] for j in shape.distinct]
    table = pa_csv.read_csv(
        io.BytesIO(payload),
        read_options=pa_csv.ReadOptions(
            column_names=columns, use_threads=False, block_size=max(len(payload), 1 << 20)
        ),
        parse_options=_arrow_parse_options(shape.delimiter),
        convert_options=pa_csv.ConvertOptions(
            column_types={
                columns[j]: pa.string() if j in shape.unique else _DICTIONARY
                for j in shape.distinct
            },
            include_columns=keep,
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    table = table.unify_dictionaries().combine_chunks()
    out = {}
    for name, j in zip(keep, shape.distinct, strict=True):
        encoded = table.column(name)
        array = encoded.chunk(0) if encoded.num_chunks else pa.array([], encoded.type)
        if j in shape.unique:
            out[shape.names[j]] = (None, array.to_pandas(types_mapper=_STRING_TYPES.get))
            continue
        values = array.dictionary.to_pandas(types_mapper=_STRING_TYPES.get)
        out[shape.names[j]] = (array.indices.to_numpy(zero_copy_only=False), values)
    return _Distinct(columns=out, payload=payload, shape=shape, rows=table.num_rows)


def _read_good_lines(
    data: bytes,
    starts: np.ndarray,
    nl: np.ndarray,
    good: np.ndarray,
    first_line: int,
    shape: _Shape,
    slow: list[tuple[int, list[str]]],
) -> tuple[pd.DataFrame, np.ndarray]:
    """The good simple lines parsed by the CSV parser, with the slow records merged in."""
    names = shape.names if shape.usecols is None else [shape.names[j] for j in shape.usecols]
    idx = np.flatnonzero(good)
    if len(idx):
        # Runs of consecutive good lines are contiguous bytes: one slice per run.
        breaks = np.flatnonzero(np.diff(idx) != 1)
        run_first = idx[np.concatenate([[0], breaks + 1])]
        run_last = idx[np.concatenate([breaks, [len(idx) - 1]])]
        if len(run_first) == 1 and run_first[0] == 0 and run_last[0] == len(nl) - 1:
            payload = data
        else:
            payload = b"".join(
                data[starts[a] : nl[b] + 1] for a, b in zip(run_first, run_last, strict=True)
            )
        frame = _read_checked(payload, shape)
        if len(frame) != len(idx):
            raise AssertionError(
                f"the CSV parser read {len(frame)} records from {len(idx)} checked lines "
                f"(lines {first_line + idx[0]}..{first_line + idx[-1]}); please report this bug"
            )
    else:
        frame = pd.DataFrame({c: pd.Series(dtype="str") for c in names})
    lines = first_line + idx.astype(np.int64)
    if slow:
        keep = range(len(shape.names)) if shape.usecols is None else shape.usecols
        extra = pd.DataFrame([[v[j] for j in keep] for _, v in slow], columns=names, dtype="str")
        frame = pd.concat([frame, extra], ignore_index=True)
        lines = np.concatenate([lines, np.array([ln for ln, _ in slow], dtype=np.int64)])
        order = np.argsort(lines, kind="stable")
        frame, lines = frame.iloc[order].reset_index(drop=True), lines[order]
    return frame, lines


def _read_checked_c(payload: bytes, shape: _Shape) -> pd.DataFrame:
    """:func:`_read_checked` by pandas' C tokenizer (line ends at line feeds only)."""
    frame = pd.read_csv(
        io.BytesIO(payload),
        header=None,
        names=shape.names,
        usecols=shape.usecols,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        sep=shape.delimiter,
        quotechar='"',
        lineterminator="\n",
        encoding="utf-8",
        engine="c",
        skip_blank_lines=False,
        index_col=False,
        on_bad_lines="error",
    )
    if shape.usecols is None:
        return frame
    return frame[[shape.names[j] for j in shape.usecols]]
