"""Physical lines → records, before any parser sees them: field counts, quotes, line numbers.

pandas' tokenizer decides on its own what a record is, and when it is wrong it says little: a
first data row with one field too many switches it to a mode that shifts later rows silently, an
unbalanced quote merges the lines after it into one record, and its line numbers drift after a
quoted line break. So the lines of a block are classified here first, vectorised over its bytes,
and the parser only ever sees records already known to hold the header's number of fields.

* A line is **simple** when every quote on it sits where RFC 4180 allows it (opening a field,
  closing one before a delimiter or the line end, or doubled inside one) and their number is
  even: then the delimiters outside quotes — even quote parity — count its fields exactly.
* Any other line (a literal quote inside a field, a quoted line break, an unbalanced quote) is
  split by :func:`_split_record`, one regular expression per field, which also tells a legitimate
  multi-line record (the header's number of fields, line breaks only in free-text columns) from
  an unbalanced quote that would swallow the lines after it. Such a quote costs its own line
  only: the lines after it are read on their own.
* Lines with the wrong number of fields, unbalanced or malformed quoting, or bytes that do not
  decode are handed back as :class:`_BadLine` with the physical line number and the text.
* Most blocks hold none of that. When every quote of a block sits where RFC 4180 puts it (one
  comparison over its bytes) and it holds no empty line, the parser reads it unclassified and
  checks each record's number of fields itself (:func:`_simple_block`); anything it refuses is
  classified as above.

Everything here is pure: bytes in, arrays and frames out (:mod:`~stockout_sk.ingest.reader`
does the file I/O).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa

from stockout_sk.ingest.parse import (
    _Distinct,
    _read_checked,
    _read_distinct,
    _read_good_lines,
    _Shape,
)

_NL, _CR, _QUOTE = 10, 13, 34
#: A quoted field may hold line breaks, but a record never spans more physical lines than this:
#: beyond it the quote is taken as unbalanced.
MAX_RECORD_LINES = 50
#: Characters of a bad line kept in the rejects file.
_TEXT_LIMIT = 2000

#: Statuses of :func:`_split_record`.
_OK, _UNCLOSED, _JUNK_AFTER_QUOTE = "ok", "unclosed", "junk"


@dataclass(frozen=True)
class _BadLine:
    """One physical line quarantined before parsing: where, why, and its text as read."""

    line: int
    reason: str
    text: str


@dataclass
class _Parsed:
    """What one block of lines held.

    Attributes
    ----------
    frame : pd.DataFrame
        Good records (the requested columns, strings), in line order.
    lines : np.ndarray
        First physical line (1-based) of each good record.
    bad : list of _BadLine
        Lines quarantined here, in line order.
    blank : int
        Empty or whitespace-only lines (not records).
    physical : int
        Physical lines the block consumed (those carried to the next block excluded).
    multiline : list of (int, int)
        First and last line of good records that span several lines.
    unbalanced : list of (int, int)
        Line of an unbalanced quote and the last line it would have merged into its record.
    undecodable : list of (int, int, int)
        Line, byte within the line and byte within the block of bytes that do not decode.
    clean : bool
        Every line of the block became a record through the fast path (no bad, blank or
        multi-line record, nothing carried): reading the block again needs no classification.
    distinct : _Distinct or None
        A clean block read for :attr:`_Shape.distinct`: those columns as distinct values and
        codes, in place of ``frame`` (empty then).
    """

    frame: pd.DataFrame
    lines: np.ndarray
    bad: list[_BadLine] = field(default_factory=list)
    blank: int = 0
    physical: int = 0
    multiline: list[tuple[int, int]] = field(default_factory=list)
    unbalanced: list[tuple[int, int]] = field(default_factory=list)
    undecodable: list[tuple[int, int, int]] = field(default_factory=list)
    clean: bool = False
    distinct: _Distinct | None = None


@lru_cache(maxsize=8)
def _field_re(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    # A quoted field must close right before a delimiter or a line end; an unquoted one may hold
    # a literal quote anywhere but at its start (what pandas and the csv module both do).
    return re.compile(rf'"(?P<q>(?:[^"]|"")*)"(?={d}|\n|$)|(?!")(?P<p>[^{d}\n]*)')


_QUOTED_RE = re.compile(r'"(?:[^"]|"")*"')


def _split_record(text: str, pos: int, delimiter: str) -> tuple[list[str], int, str]:
    r"""The fields of the record starting at ``text[pos]``.

    Returns
    -------
    fields : list of str
        Unquoted field values (as far as they could be read).
    end : int
        Position after the record's line end (``len(text)`` at the end of the text); for a bad
        status, the position of the field's opening quote.
    status : str
        ``"ok"``; ``"unclosed"`` when a quote opens a field that does not close before the end
        of ``text``; ``"junk"`` when a closing quote is followed by something else than a
        delimiter or the line end.

    Examples
    --------
    >>> _split_record('a,"b, ""c"" d",e\nnext', 0, ",")
    (['a', 'b, "c" d', 'e'], 17, 'ok')
    >>> _split_record('a,"b\nc",d\n', 0, ",")
    (['a', 'b\nc', 'd'], 10, 'ok')
    >>> _split_record('a,"b,c\n', 0, ",")[2], _split_record('a,"b"c,d', 0, ",")[2]
    ('unclosed', 'junk')
    """
    rx = _field_re(delimiter)
    fields: list[str] = []
    n = len(text)
    while True:
        m = rx.match(text, pos)
        if m is None:
            closed = _QUOTED_RE.match(text, pos)
            return fields, pos, _UNCLOSED if closed is None else _JUNK_AFTER_QUOTE
        quoted = m.group("q")
        fields.append(quoted.replace('""', '"') if quoted is not None else m.group("p"))
        pos = m.end()
        if pos >= n:
            return fields, n, _OK
        if text[pos] == "\n":
            return fields, pos + 1, _OK
        pos += len(delimiter)


def _strip_cr(body: bytes) -> bytes:
    """``body`` without the carriage return of CRLF line ends (other CRs are data)."""
    if b"\r" not in body:
        return body
    return body.replace(b"\r\n", b"\n")


def _classify(buf: np.ndarray, delimiter: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line ends, the field count of every line (exact for simple lines), the lines not simple.

    One pass over the bytes finds every line feed, delimiter and quote; everything else is
    arithmetic on those few events: a line's delimiters are its events that are neither its
    line feed nor quotes, and the delimiters before a quote are the events before it less the
    line feeds and quotes before it.
    """
    pos = np.flatnonzero((buf == _NL) | (buf == delimiter) | (buf == _QUOTE))
    kind = buf[pos]
    nl_at = np.flatnonzero(kind == _NL)
    nl = pos[nl_at]
    n = len(nl)
    inner = np.diff(nl_at, prepend=-1) - 1  # events between a line's start and its line feed
    q_at = np.flatnonzero(kind == _QUOTE)
    if not len(q_at):
        return nl, inner + 1, np.zeros(n, dtype=bool)
    q = pos[q_at]
    per_line = np.diff(np.searchsorted(q_at, nl_at), prepend=0)  # quotes before each line feed
    q_line = np.repeat(np.arange(n), per_line)
    rank = np.arange(len(q))
    k = rank - (np.cumsum(per_line) - per_line)[q_line]  # rank on its line
    starts = np.concatenate([[0], nl[:-1] + 1])
    prev = buf[np.maximum(q - 1, 0)]
    nxt = buf[q + 1]  # a quote is never the last byte: the block ends with a line feed
    opens = (k & 1) == 0
    valid_open = (q == starts[q_line]) | (prev == delimiter) | ((prev == _QUOTE) & (k > 0))
    valid_close = (nxt == delimiter) | (nxt == _NL) | (nxt == _QUOTE)
    valid = np.where(opens, valid_open, valid_close)
    not_simple = ((per_line & 1) == 1) | (np.bincount(q_line[~valid], minlength=n) > 0)
    # Delimiters between an opening quote and the next quote of its line are text.
    pair = np.flatnonzero(opens[:-1] & (q_line[1:] == q_line[:-1]))
    before = q_at - q_line - rank
    inside = np.bincount(q_line[pair], weights=before[pair + 1] - before[pair], minlength=n)
    return nl, inner - per_line + 1 - inside.astype(np.int64), not_simple


def _parse_block(
    body: bytes,
    *,
    first_line: int,
    shape: _Shape,
    final: bool,
    undecodable: tuple[tuple[int, int], ...] = (),
    clean_lines: int | None = None,
) -> tuple[_Parsed, int | None]:
    """Split a block of whole lines (UTF-8, ending with a line feed) into records.

    Parameters
    ----------
    body : bytes
        Whole physical lines.
    first_line : int
        Physical line number (1-based) of the block's first line.
    shape : _Shape
    final : bool
        No line follows the block (an open quote cannot close later).
    undecodable : tuple of (int, int)
        Byte spans of ``body`` that did not decode; their lines are quarantined.
    clean_lines : int, optional
        The block was found :attr:`_Parsed.clean`, with this many lines, when it was read
        before: its lines go to the parser unclassified.

    Returns
    -------
    parsed : _Parsed
    carry : int or None
        Byte offset in ``body`` from which lines must be read again with the next block (a
        quoted field still open at the block's end), or ``None``.
    """
    data = _strip_cr(body)
    if clean_lines is not None:
        return _clean_block(data, first_line, clean_lines, shape), None
    if not undecodable and (simple := _simple_block(data, first_line, shape)) is not None:
        return simple, None
    buf = np.frombuffer(data, dtype=np.uint8)
    delim = shape.delimiter
    nl, fields, not_simple = _classify(buf, ord(delim))
    starts = np.concatenate([[0], nl[:-1] + 1])
    raw_nl = nl if data is body else np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == _NL)
    raw_starts = np.concatenate([[0], raw_nl[:-1] + 1])
    n = len(nl)
    ncols = len(shape.names)

    def text(i: int, j: int | None = None, errors: str = "replace") -> str:
        return data[starts[i] : nl[i if j is None else j]].decode("utf-8", errors)

    out = _Parsed(frame=pd.DataFrame(), lines=np.empty(0, dtype=np.int64))
    bad: dict[int, _BadLine] = {}
    dead = nl == starts  # lines not parsed as simple lines: empty, bad, part of another record
    empty = dead.copy()
    for start, _end in undecodable:
        i = int(np.searchsorted(raw_nl, start))
        if i not in bad:
            out.undecodable.append((first_line + i, start - int(raw_starts[i]) + 1, start))
            bad[i] = _BadLine(first_line + i, "not valid UTF-8", text(i, errors="backslashreplace"))
            dead[i] = True

    carry_line: int | None = None
    slow: list[tuple[int, list[str]]] = []
    for i in (int(x) for x in np.flatnonzero(not_simple & ~dead)):
        if dead[i]:
            continue
        last = min(i + MAX_RECORD_LINES - 1, n - 1)
        chunk = text(i, last) + "\n"
        values, end, status = _split_record(chunk, 0, delim)
        if status == _UNCLOSED and last == n - 1 and not final and last - i < MAX_RECORD_LINES - 1:
            carry_line = i  # the quote may close in the next block
            break
        dead[i] = True
        line = first_line + i
        span = chunk.count("\n", 0, end - 1) + 1 if status == _OK else 1
        if status == _OK and span == 1:
            if len(values) == ncols:
                slow.append((line, values))
            else:
                bad[i] = _malformed(line, ncols, len(values), text(i))
        elif status == _OK and len(values) == ncols and _breaks_fit(values, shape.newline_ok):
            if any(j in bad for j in range(i + 1, i + span)):  # a line of it did not decode
                bad[i] = _BadLine(line, "not valid UTF-8", chunk[: end - 1][:_TEXT_LIMIT])
            else:
                slow.append((line, values))
                out.multiline.append((line, line + span - 1))
            dead[i + 1 : i + span] = True
            empty[i + 1 : i + span] = False  # an empty line inside a quoted field is text
        elif status == _JUNK_AFTER_QUOTE and "\n" not in _QUOTED_RE.match(chunk, end).group():
            bad[i] = _BadLine(line, "malformed quoting: text after a closing quote", text(i))
        else:
            # The last line the open quote would have swallowed into this record.
            if status == _OK:
                merged = line + span - 1
            elif status == _JUNK_AFTER_QUOTE:
                merged = line + chunk.count("\n", 0, _QUOTED_RE.match(chunk, end).end())
            else:
                merged = line + (last - i)
            out.unbalanced.append((line, merged))
            bad[i] = _BadLine(
                line,
                "unbalanced quote: a quoted field opened on this line does not close on it",
                text(i),
            )
    out.physical = n if carry_line is None else carry_line
    dead[out.physical :] = True
    ragged = ~dead & (fields != ncols)
    for i in (int(x) for x in np.flatnonzero(ragged)):
        if text(i).strip() == "":
            out.blank += 1
        else:
            bad[i] = _malformed(first_line + i, ncols, int(fields[i]), text(i))
    out.blank += int(empty[: out.physical].sum())
    out.bad = [bad[i] for i in sorted(bad) if i < out.physical]
    out.undecodable = [u for u in out.undecodable if u[0] - first_line < out.physical]
    good = ~dead & ~ragged
    if carry_line is None and not slow and good.all():  # every line a record, nothing else
        return _clean_block(data, first_line, n, shape), None
    out.frame, out.lines = _read_good_lines(data, starts, nl, good, first_line, shape, slow)
    carry = None if carry_line is None else int(raw_starts[carry_line])
    return out, carry


def _clean_block(data: bytes, first_line: int, n: int, shape: _Shape) -> _Parsed:
    """A block found clean (now, or when it was read before): every line is a record, in
    order."""
    lines = np.arange(first_line, first_line + n, dtype=np.int64)
    frame, distinct, read = _read_clean(data, shape)
    if read != n:
        raise AssertionError(
            f"the CSV parser read {read} records from {n} lines found clean "
            f"(lines {first_line}..{first_line + n - 1}); please report this bug"
        )
    return _Parsed(frame, lines, physical=n, clean=True, distinct=distinct)


def _simple_block(data: bytes, first_line: int, shape: _Shape) -> _Parsed | None:
    """A block whose quotes all sit where RFC 4180 puts them, read without classifying its
    lines: the CSV parser checks every record's number of fields itself (it raises on the first
    that is wrong). ``None`` when that is not enough to call the block clean; the caller then
    classifies its lines (:func:`_classify`), which finds what is wrong and where.

    Taken in order, the quotes must alternate opening (at a field's start) and closing (before a
    delimiter or the line end); a doubled quote inside a field is a closing quote followed at
    once by an opening one. Then the parser reads the fields as :func:`_split_record` does, and
    a record holds one line exactly when the parser reads as many records as there are line
    feeds. An empty line is the one thing it would read as a record (of empty fields): a block
    holding one, or a carriage return, is classified.
    """
    if len(shape.names) < 2 or b"\r" in data or data[:1] == b"\n":
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    if _has_empty_line(buf):
        return None
    q = np.flatnonzero(buf == _QUOTE)
    if len(q):
        if len(q) & 1:
            return None
        opens, closes = q[0::2], q[1::2]
        before = buf[opens - 1] if opens[0] else buf[np.maximum(opens - 1, 0)]
        after = buf[closes + 1]  # a block ends with a line feed, never with a quote
        delim = ord(shape.delimiter)
        if not ((before == _NL) | (before == _QUOTE) | (before == delim)).all():
            return None
        if not ((after == _NL) | (after == _QUOTE) | (after == delim)).all():
            return None
    try:
        frame, distinct, n = _read_clean(data, shape)
    except pa.ArrowInvalid:  # a record of the wrong number of fields, or bytes not UTF-8
        return None
    if n != np.count_nonzero(buf == _NL):
        return None
    lines = np.arange(first_line, first_line + n, dtype=np.int64)
    return _Parsed(frame, lines, physical=n, clean=True, distinct=distinct)


def _has_empty_line(buf: np.ndarray) -> bool:
    """Two line feeds in a row anywhere in ``buf``: its bytes compared in pairs, from even
    offsets and from odd ones (much faster than a substring search for a frequent byte)."""
    pair = np.uint16(_NL * 0x101)
    even = buf[: len(buf) // 2 * 2].view(np.uint16)
    odd = buf[1 : 1 + (len(buf) - 1) // 2 * 2].view(np.uint16)
    return bool((even == pair).any() or (odd == pair).any())


def _read_clean(data: bytes, shape: _Shape) -> tuple[pd.DataFrame, _Distinct | None, int]:
    """A clean block's records: as distinct values where the shape asks for them (and no
    carriage return forbids it), else as strings; and how many there are."""
    distinct = _read_distinct(data, shape) if shape.distinct else None
    if distinct is not None:
        return pd.DataFrame(), distinct, distinct.rows
    frame = _read_checked(data, shape)
    return frame, None, len(frame)


def _malformed(line: int, expected: int, saw: int, text: str) -> _BadLine:
    reason = f"malformed line: expected {expected} fields, saw {saw}"
    return _BadLine(line, reason, text[:_TEXT_LIMIT])


def _breaks_fit(values: list[str], newline_ok: np.ndarray) -> bool:
    """Line breaks only in free-text columns: a merged record puts them in IDs and numbers."""
    return all(newline_ok[j] or "\n" not in v for j, v in enumerate(values))
