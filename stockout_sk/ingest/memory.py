"""Ingestion's memory: the pages it frees kept for its next arrays, given back when it ends.

Ingestion allocates and frees many arrays of tens to hundreds of megabytes: a chunk's columns,
a span's sums, the sides of the flows. Left to its defaults,

* glibc maps every block above 32 MiB apart (``mmap``) and unmaps it when freed, so the next
  array of that size is made of new pages again, which the kernel zeroes on first touch. On a
  virtual machine that is about a second per gigabyte, against a tenth of that for a page the
  process already holds (measured on a 2-core VM);
* numpy advises huge pages for every array of 4 MiB or more (``madvise(MADV_HUGEPAGE)``), and
  where the kernel's ``transparent_hugepage/defrag`` setting is ``madvise`` (the common
  default) each such fault may first compact memory to free a 2 MiB run.

While :func:`_reused_pages` is active, glibc serves every block from its heaps and keeps what is
freed (``mallopt(M_MMAP_MAX, 0)`` and a trim threshold of 2 GiB), Arrow allocates through it
too (its default pool, mimalloc, maps and unmaps on its own), and numpy advises no huge pages;
on leaving, numpy's advice and Arrow's pool are put back, glibc's thresholds are set to where
its own adaptive ones end after freeing large blocks (blocks from 32 MiB mapped apart, up to
64 MiB of free heap kept; ``mallopt`` ends the adaptive rule for the rest of the process), and
the freed memory is given back to the system (``malloc_trim(0)``).
:func:`stockout_sk.ingest.load_chain`, its worker processes and
:func:`stockout_sk.labels.build_dataset` run in this mode; on the 50×1000×365 chain it cut the
reading process's system time by about half (the labels': from 1.8–2.0 to 0.6–0.9 s), and the
results are the same bytes. ``stockout-sk build-dataset`` runs both in one block, so the labels
reuse the pages ingestion freed: their system time falls again, from about 0.6 to 0.2 s, for
0.1–0.3 GB more at the reading process's peak. Without glibc (macOS, Windows, musl) only
numpy's part applies.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

#: ``mallopt`` parameters (glibc's ``malloc.h``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
#: While active: free heap kept up to this (``mallopt`` takes an ``int``).
_KEEP_BYTES = 2**31 - 1
#: On leaving: glibc's default count of mapped blocks, and the thresholds its adaptive rule
#: reaches after freeing a mapped block of at least 32 MiB (``DEFAULT_MMAP_THRESHOLD_MAX``).
_MMAP_MAX_DEFAULT = 65536
_MMAP_THRESHOLD_AFTER = 32 * 2**20
_TRIM_THRESHOLD_AFTER = 2 * _MMAP_THRESHOLD_AFTER

_lock = threading.Lock()
_active = 0  # blocks of _reused_pages open in this process
_saved: _Saved | None = None  # what the first of them changed


@cache
def _glibc() -> ctypes.CDLL | None:
    """glibc, or None where the C library is another (no ``mallopt``/``malloc_trim``)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018  (both, or neither is used)
    except (OSError, AttributeError):
        return None
    return libc


def _hugepage_advice() -> Callable[[bool], bool] | None:
    """numpy's switch for its huge-page advice (returns the previous setting), if it has one."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:
        return None
    return _set_madvise_hugepage


@dataclass(frozen=True)
class _Saved:
    """What entering the mode changed: numpy's huge-page advice and Arrow's default pool."""

    advice: bool | None = None
    pool: object | None = None


def _keep_pages() -> _Saved:
    """Enter the mode (for good in a worker process that only reads); what it changed."""
    libc = _glibc()
    pool = None
    if libc is not None:
        libc.mallopt(_M_MMAP_MAX, 0)
        libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
        import pyarrow as pa

        # Arrow's own allocator (mimalloc) maps and unmaps apart from glibc's heaps.
        pool = pa.default_memory_pool()
        pa.set_memory_pool(pa.system_memory_pool())
    advise = _hugepage_advice()
    return _Saved(None if advise is None else advise(False), pool)


def _release_freed_memory() -> bool:
    """Give the memory freed so far back to the operating system; False where it cannot.

    glibc keeps freed heap memory for reuse, in one arena per thread that allocated it (the
    read-ahead thread has its own). What follows ingestion — labels, features — outside this
    mode allocates large arrays that do not reuse it, so the kept memory would only add to
    their peak.
    """
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


@contextmanager
def _reused_pages() -> Iterator[None]:
    """Freed pages kept for reuse inside the block, given back after it (the module
    docstring). Nested blocks act as one: the outermost gives the memory back."""
    global _active, _saved
    with _lock:
        _active += 1
        if _active == 1:
            _saved = _keep_pages()
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                _restore(_saved)


def _restore(saved: _Saved) -> None:
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_MAX, _MMAP_MAX_DEFAULT)
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_AFTER)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_AFTER)
    if saved.pool is not None:
        import pyarrow as pa

        pa.set_memory_pool(saved.pool)
    advise = _hugepage_advice()
    if advise is not None and saved.advice is not None:
        advise(saved.advice)
    _release_freed_memory()
