"""Which encoding a file is in, where its bytes fail to decode, and what they probably are.

* A byte-order mark decides (UTF-8, UTF-16 or UTF-32); without one, the NUL bytes of ASCII text
  written as UTF-16 (every other byte zero) give UTF-16 away; otherwise the file is read as UTF-8
  unless the run says otherwise (:class:`~stockout_sk.config.CsvFormat`).
* Bytes that are not valid UTF-8 are located by line and byte (:func:`_undecodable`), so that one
  stray byte quarantines one line, and a file in another encoding is refused with a guess of
  which (:func:`_guess_encoding`): cp1256 when the bytes read as Arabic letters under it (Arabic
  Windows exports), latin-1 / cp1252 otherwise.
"""

from __future__ import annotations

import codecs
import mmap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

#: Byte-order marks, longest first (the UTF-32 LE mark begins with the UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
#: Share of NUL bytes at odd (even) positions above which the head is UTF-16 LE (BE) text.
_NUL_SHARE = 0.4
#: Bytes of the head inspected for the NUL pattern.
_NUL_PROBE = 4096
#: Bytes of a file mapped at a time by :func:`_all_utf8` (a multiple of any page size).
_MAP_BYTES = 1 << 26
#: Arabic letters as cp1256 encodes them (0xC1–0xFE minus the few Latin letters it keeps).
_CP1256_ARABIC = frozenset(
    b for b in range(0xC1, 0xFF) if 0x0600 <= ord(bytes([b]).decode("cp1256")) <= 0x06FF
)


@dataclass(frozen=True)
class _Encoding:
    """How one file is decoded.

    Attributes
    ----------
    codec : str
        Python codec name (``utf-8``, ``utf-16-le``, ``cp1256`` …).
    skip : int
        Bytes of byte-order mark at the start of the file (not text).
    note : str or None
        What was detected, for a finding (``None``: plain UTF-8 as by default).
    """

    codec: str
    skip: int = 0
    note: str | None = None

    @property
    def is_utf8(self) -> bool:
        """UTF-8 files are scanned as bytes directly; any other codec is transcoded first."""
        return self.codec == "utf-8"


def _detect_encoding(head: bytes, requested: str | None) -> _Encoding:
    """The encoding of a file from its first bytes and the run's ``--encoding`` (if any).

    A byte-order mark of the requested encoding's family is skipped; a mark of another family
    than the one requested wins, and the note says so, since a BOM cannot be an accident; so
    does the NUL pattern of UTF-16, and valid UTF-8 over a single-byte encoding asked for.
    """
    for bom, codec, name in _BOMS:
        if head.startswith(bom):
            if requested is None or _family(requested) == _family(codec):
                note = None if codec == "utf-8" else f"{name} (byte-order mark)"
                return _Encoding(codec=codec, skip=len(bom), note=note)
            return _Encoding(
                codec=codec,
                skip=len(bom),
                note=f"{name} (byte-order mark), although {requested} was asked for",
            )
    nul = _utf16_without_bom(head[:_NUL_PROBE])
    if nul is not None:
        # Every other byte NUL is UTF-16 text whatever was asked for: no 8-bit export holds that.
        asked = "" if requested is None else f", although {requested} was asked for"
        return _Encoding(
            codec=nul, note=f"{nul.upper()} without byte-order mark (NUL bytes){asked}"
        )
    if requested is not None:
        if _family(requested) == "utf-8":
            return _Encoding(codec="utf-8")
        if not _family(requested).startswith("utf") and _is_utf8_text(head):
            # Non-ASCII bytes that happen to form valid UTF-8 are not cp1256 or latin-1 text:
            # a chain's master data may be exported apart from its transactions.
            return _Encoding(
                codec="utf-8",
                note=f"UTF-8 (its non-ASCII bytes are valid UTF-8), although {requested} was "
                "asked for",
            )
        return _Encoding(codec=requested, note=f"{requested} (as asked)")
    return _Encoding(codec="utf-8")


def _is_utf8_text(head: bytes) -> bool:
    """The head holds non-ASCII bytes and decodes as UTF-8 (a sequence cut at its end aside)."""
    if head.isascii():
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _family(codec: str) -> str:
    """``utf-16-le`` → ``utf-16``, ``utf-8-sig`` → ``utf-8``: the codec without BOM/byte order."""
    name = codecs.lookup(codec).name
    for suffix in ("-sig", "-le", "-be"):
        name = name.removesuffix(suffix)
    return name


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` when every other byte of the head is NUL, else ``None``."""
    n = len(head) // 2 * 2
    if n < 4:
        return None
    pairs = np.frombuffer(head[:n], dtype=np.uint8).reshape(-1, 2)
    even_nul, odd_nul = (pairs == 0).mean(axis=0)
    if odd_nul >= _NUL_SHARE and even_nul < _NUL_SHARE / 4:
        return "utf-16-le"
    if even_nul >= _NUL_SHARE and odd_nul < _NUL_SHARE / 4:
        return "utf-16-be"
    return None


def _undecodable(data: bytes, limit: int) -> list[tuple[int, int]]:
    """``(start, end)`` byte spans of ``data`` that are not valid UTF-8: the first of each line.

    At most ``limit`` spans. Linear: each decode runs from the line after the previous bad span
    to the next one (the rest of a bad line does not matter: the line is quarantined whole).
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    while pos < len(data) and len(spans) < limit:
        try:
            data[pos:].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            spans.append((pos + exc.start, pos + exc.end))
            next_line = data.find(b"\n", pos + exc.start)
            pos = len(data) if next_line < 0 else next_line + 1
    return spans


def _all_utf8(path: Path, start: int = 0, stop: int | None = None) -> bool:
    """Whether every byte of the file (of bytes ``[start, stop)``: no sequence may straddle
    either end) is valid UTF-8, checked without reading it into memory.

    Arrow validates the bytes where the file is mapped, one window at a time (unmapped after
    it, so that the resident pages do not add up over a large file). A sequence cut by a
    window's end is checked again with the next window.
    """
    end = path.stat().st_size if stop is None else stop
    with path.open("rb") as f:
        while start < end:
            origin = start - start % mmap.ALLOCATIONGRANULARITY  # where a map may begin
            length = min(_MAP_BYTES, end - origin)
            with mmap.mmap(f.fileno(), length, offset=origin, access=mmap.ACCESS_READ) as window:
                upto = length if origin + length == end else _last_boundary(window, length)
                valid = _valid_utf8(window, start - origin, upto)
            if not valid:
                return False
            start = origin + upto
    return True


def _last_boundary(window: mmap.mmap, length: int) -> int:
    """The offset of the last byte of ``window`` that starts a UTF-8 sequence (the window's
    length when it ends with ASCII): no sequence straddles it."""
    for back in range(1, min(4, length) + 1):
        byte = window[length - back]
        if byte < 0x80:
            return length - back + 1
        if byte >= 0xC0:
            return length - back
    return length - 4  # no lead byte: invalid, found when these bytes are checked


def _valid_utf8(window: mmap.mmap, start: int, stop: int) -> bool:
    """Whether bytes ``[start, stop)`` of ``window`` are valid UTF-8 (Arrow checks them in
    place; every view of the window is released before it is unmapped)."""
    with memoryview(window) as whole, whole[start:stop] as view:
        offsets = pa.py_buffer(np.array([0, stop - start], dtype=np.int64))
        text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(view)])
        try:
            text.validate(full=True)
            return True
        except pa.ArrowInvalid:
            return False
        finally:
            del text


def _guess_encoding(sample: bytes) -> tuple[str, str]:
    """The likely codec of bytes that are not UTF-8, and how to say it to a person.

    Returns
    -------
    codec, description : str
        ``("cp1256", "cp1256 (Arabic Windows)")`` when most high bytes are Arabic letters under
        cp1256, else ``("latin-1", "latin-1 / cp1252 (Western European)")``.
    """
    if sample.count(0) > len(sample) // 4:
        return "utf-16", "UTF-16 (NUL bytes between the letters)"
    high = [b for b in sample if b >= 0x80]
    if high and sum(b in _CP1256_ARABIC for b in high) >= 0.6 * len(high):
        return "cp1256", "cp1256 (Arabic Windows)"
    return "latin-1", "latin-1 / cp1252 (Western European)"


def _not_decodable_message(
    filename: str,
    path: str,
    *,
    codec: str,
    line: int,
    column: int,
    offset: int | None,
    snippet: bytes,
    sample: bytes,
    detail: str,
) -> str:
    """A fatal encoding error: the line and byte, the bytes, the likely encoding and the fix."""
    where = f"line {line}, byte {column} of the line"
    if offset is not None:
        where += f" (byte {offset} of the file)"
    guess, description = _guess_encoding(sample)
    preview = sample.decode(guess, errors="replace").strip().splitlines()[:1]
    shown = f" — read as {guess}: {preview[0][:60]!r}" if preview else ""
    return (
        f"{filename}: not valid {codec} at {where}: {snippet!r} ({detail}) in {path}. The bytes "
        f"look like {description}{shown}. Re-run with --encoding {guess} (or set "
        f"STOCKOUT_CSV_ENCODING={guess}), or re-export the file as UTF-8."
    )
