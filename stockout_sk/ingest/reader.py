"""One file, block by block: bytes → whole lines in UTF-8 → :class:`~.records._Parsed`.

A block is read, cut after its last line feed (the rest waits for the next block), and handed to
:func:`~stockout_sk.ingest.records._parse_block`; a quoted field still open at the cut sends its
lines back to be read again with the next block. UTF-8 files are scanned as they are: the bytes
that do not decode are located (line, byte of the line, byte of the file), their lines are
quarantined, and a file with more of them than a stray byte or two explains is refused with the
encoding it most likely is in. Any other encoding is decoded incrementally and re-encoded as
UTF-8 first, so the line scanner sees one encoding only.

A reader may also cover one :class:`_Span` of a file (bytes from a record's start to a line
end): the spans of a file read apart — on the workers of a cluster — give the records one read
of the whole file gives (:mod:`~stockout_sk.ingest.spans`).
"""

from __future__ import annotations

import codecs
import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from stockout_sk.ingest.encoding import _Encoding, _not_decodable_message, _undecodable
from stockout_sk.ingest.records import _parse_block, _Parsed, _Shape
from stockout_sk.ingest.report import DataContractError

#: Undecodable lines tolerated (quarantined) before the file is taken to be in another encoding:
#: this many, or one line in a hundred read so far, whichever is more.
MAX_UNDECODABLE_LINES = 10
_UNDECODABLE_SHARE = 100
#: Bytes of the undecodable lines kept to guess the encoding from.
_SAMPLE_BYTES = 4096
#: How often a reader thread blocked on a full queue looks whether its consumer has gone (s).
_POLL_SECONDS = 0.1

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Span:
    """Bytes ``[start, stop)`` of a file, ``start`` the first byte of a record on physical line
    ``first_line``; ``stop`` a line end (the file's size: to its end)."""

    start: int
    stop: int
    first_line: int


class _Reader:
    """Iterates the parsed blocks of one file, after its header lines (or of one span of it).

    Parameters
    ----------
    path : Path
    filename : str
        For messages.
    encoding : _Encoding
    shape : _Shape
    header_lines : int
        Physical lines of the header record (skipped).
    block_bytes : int
        Bytes read per block.
    clean : dict of int to int, optional
        Blocks found clean by an earlier read of the same file (block number → lines), shared
        between the reads: a clean block is handed to the parser without being classified
        again. Filled as blocks are found clean.
    span : _Span, optional
        Read only these bytes. The records begun before ``stop`` are read; a quoted field still
        open at ``stop`` leaves its record to the next span, which starts at :attr:`end`.
    valid_utf8 : bool, default=False
        Every byte of the file is known to be valid UTF-8: no block is searched for bytes
        that do not decode.

    Attributes
    ----------
    lines : int
        The last physical line read.
    end : int or None
        The file offset after the last line read, once the reader is exhausted.
    """

    def __init__(
        self,
        path: Path,
        filename: str,
        encoding: _Encoding,
        shape: _Shape,
        header_lines: int,
        block_bytes: int,
        clean: dict[int, int] | None = None,
        span: _Span | None = None,
        valid_utf8: bool = False,
    ) -> None:
        self.path = path
        self.filename = filename
        self.encoding = encoding
        self.shape = shape
        self.header_lines = header_lines
        self.block_bytes = block_bytes
        self.lines = header_lines if span is None else span.first_line - 1
        self.clean = {} if clean is None else clean
        self.span = span
        self.valid_utf8 = valid_utf8
        self.end: int | None = None
        self._undecodable = 0

    def __iter__(self) -> Iterator[_Parsed]:
        decoder = None
        if not self.encoding.is_utf8:
            decoder = codecs.getincrementaldecoder(self.encoding.codec)(errors="strict")
        span = self.span
        size = self.path.stat().st_size
        start = self.encoding.skip if span is None else span.start
        stop = size if span is None else min(span.stop, size)
        with self.path.open("rb") as f:
            f.seek(start)
            offset = start  # file offset of ``pending`` (UTF-8 files only)
            pending = b""
            skip = self.header_lines if span is None else 0
            block = 0
            while True:
                raw = f.read(min(self.block_bytes, max(stop - f.tell(), 0)))
                if not raw and stop < size:
                    # The span's end, not the file's: an open record is the next span's.
                    self.end = stop - self._encoded_length(pending)
                    return
                final = not raw
                data = pending + (raw if decoder is None else self._transcode(decoder, raw, final))
                cut = len(data) if final else data.rfind(b"\n") + 1
                body, pending = data[:cut], data[cut:]
                if final and body and not body.endswith(b"\n"):
                    body += b"\n"
                if skip:
                    body, skipped, skip = _skip_lines(body, skip)
                    offset += skipped
                if body:
                    known = self.clean.get(block)
                    spans = ()
                    if decoder is None and known is None and not self.valid_utf8:
                        spans = self._undecodable_spans(body, offset)
                    parsed, carry = _parse_block(
                        body,
                        first_line=self.lines + 1,
                        shape=self.shape,
                        final=final,
                        undecodable=spans,
                        clean_lines=known,
                    )
                    if parsed.clean:
                        self.clean[block] = parsed.physical
                    block += 1
                    if carry is not None:
                        pending, body = body[carry:] + pending, body[:carry]
                    self.lines += parsed.physical
                    self._undecodable += len(parsed.undecodable)
                    # The byte of the file, not of the block: the same whatever the blocks.
                    parsed.undecodable = [(ln, b, offset + at) for ln, b, at in parsed.undecodable]
                    offset += len(body)
                    yield parsed
                if final:
                    self.end = size
                    return

    def _encoded_length(self, text: bytes) -> int:
        """Bytes of the file that ``text`` (UTF-8, whole lines) was read from."""
        if self.encoding.is_utf8:
            return len(text)
        codec = self.encoding.codec
        decoded = text.decode("utf-8") + "\n"  # a BOM an encoder writes cancels out
        return len(decoded.encode(codec)) - len("\n".encode(codec))

    def _transcode(self, decoder: codecs.IncrementalDecoder, raw: bytes, final: bool) -> bytes:
        try:
            return decoder.decode(raw, final).encode("utf-8")
        except UnicodeDecodeError as exc:
            text = exc.object[: exc.start].decode(self.encoding.codec, errors="replace")
            raise DataContractError(
                _not_decodable_message(
                    self.filename,
                    str(self.path),
                    codec=self.encoding.codec,
                    line=self.lines + text.count("\n") + 1,
                    column=len(text) - text.rfind("\n"),
                    offset=None,
                    snippet=exc.object[exc.start : exc.start + 8],
                    sample=exc.object[exc.start : exc.start + _SAMPLE_BYTES],
                    detail=exc.reason,
                )
            ) from exc

    def _undecodable_spans(self, body: bytes, offset: int) -> tuple[tuple[int, int], ...]:
        """The bad UTF-8 spans of a block (one per line), or the file refused as not UTF-8.

        A few stray bytes are quarantined with their lines; more than
        :data:`MAX_UNDECODABLE_LINES` or one line in a hundred read so far means the file is in
        another encoding, and the error names the likely one.
        """
        try:
            body.decode("utf-8")
            return ()
        except UnicodeDecodeError:
            pass
        read = self.lines - self.header_lines + body.count(b"\n")
        allowed = max(MAX_UNDECODABLE_LINES, read // _UNDECODABLE_SHARE) - self._undecodable
        spans = _undecodable(body, max(allowed, 0) + 1)
        if len(spans) <= allowed:
            return tuple(spans)
        start = spans[0][0]
        line_start = body.rfind(b"\n", 0, start) + 1
        sample = b"".join(
            body[body.rfind(b"\n", 0, a) + 1 : body.find(b"\n", a) + 1] for a, _ in spans
        )[:_SAMPLE_BYTES]
        raise DataContractError(
            _not_decodable_message(
                self.filename,
                str(self.path),
                codec="UTF-8",
                line=self.lines + 1 + body.count(b"\n", 0, start),
                column=start - line_start + 1,
                offset=offset + start,
                snippet=body[max(start - 8, line_start) : start + 8],
                sample=sample,
                detail=f"{self._undecodable + len(spans):,} or more line(s) of {read:,} do not "
                "decode: more than a stray byte explains",
            )
        )


def _skip_lines(body: bytes, n: int) -> tuple[bytes, int, int]:
    """``body`` without its first ``n`` lines; the bytes dropped; the lines still to skip."""
    pos = 0
    while n and pos < len(body):
        end = body.find(b"\n", pos)
        if end < 0:
            break
        pos, n = end + 1, n - 1
    return body[pos:], pos, n


#: Whether :func:`_read_ahead` reads on a thread of its own (:func:`_read_in_line`).
_ahead = True


def _read_in_line() -> None:
    """From now on, blocks are read by their consumer's thread (:func:`_read_ahead`): in a
    worker process among as many as there are cores, no core is idle for a second thread, which
    only added switching (measured: 1.8 CPU seconds more over the 50×1000×365 chain's spans)."""
    global _ahead
    _ahead = False


def _read_ahead(blocks: Generator[_T, None, None], name: str) -> Iterator[_T]:
    """``blocks`` produced on a thread of their own, one ahead of their consumer.

    Reading, splitting and parsing a block (mostly Arrow and numpy, which release the GIL) then
    overlaps with what the consumer does with the previous one, on the second core, for one
    block's worth of memory. The consumer sees the same blocks in the same order, and an error
    raised while reading them at the same point: after the blocks read before it. A consumer
    that stops early stops the thread (within a block) and closes ``blocks``. After
    :func:`_read_in_line`, the blocks are simply passed on.
    """
    if not _ahead:
        yield from blocks
        return
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for block in blocks:
                if not put((False, block)):
                    return
            put((True, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((True, exc))
        finally:
            blocks.close()

    thread = threading.Thread(target=produce, name=f"read-ahead {name}", daemon=True)
    thread.start()
    try:
        while True:
            last, item = handoff.get()
            if isinstance(item, BaseException):
                raise item
            if last:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
