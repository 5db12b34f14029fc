"""Ingestion's memory mode (:mod:`stockout_sk.ingest.memory`): freed pages kept for reuse while
it runs, everything as before once it ends.

glibc's state is read back through ``mallinfo2`` (glibc 2.33+): ``hblkhd`` counts the bytes of
blocks mapped apart, so a large array allocated in the mode must not add to it, and one
allocated after it must.
"""

from __future__ import annotations

import ctypes
import platform
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pytest

from stockout_sk.ingest.memory import (
    _glibc,
    _hugepage_advice,
    _keep_pages,
    _release_freed_memory,
    _reused_pages,
)

GLIBC = platform.libc_ver()[0] == "glibc"
#: The mode's allocator part is read back from glibc's own counters (``mallinfo2``, glibc
#: 2.33+). Elsewhere — macOS, Windows, musl, an older glibc — there is nothing to read it from,
#: and the mode leaves the C allocator alone (``_glibc()`` is None): only numpy's part applies,
#: which the tests without this mark check everywhere.
HAS_MALLINFO2 = GLIBC and _glibc() is not None and hasattr(_glibc(), "mallinfo2")
needs_mallinfo2 = pytest.mark.skipif(
    not HAS_MALLINFO2,
    reason="the allocator part exists only with glibc, and is read back through its mallinfo2 "
    "(2.33+); on other C libraries the mode does not touch the allocator",
)
BIG = 96 * 2**20  # above glibc's largest adaptive mmap threshold (32 MiB)


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mapped_apart() -> int:
    """Bytes glibc holds in blocks mapped apart (``mallinfo2().hblkhd``)."""
    libc = _glibc()
    libc.mallinfo2.restype = _MallInfo2
    return libc.mallinfo2().hblkhd


def _mapped_by_big_array() -> int:
    before = _mapped_apart()
    block = np.ones(BIG // 8)
    grown = _mapped_apart() - before
    del block
    return grown


def _hugepages_advised() -> bool:
    advise = _hugepage_advice()
    was = advise(True)
    advise(was)
    return was


@needs_mallinfo2
def test_large_arrays_come_from_the_heap_inside_and_are_mapped_apart_after() -> None:
    assert _mapped_by_big_array() >= BIG  # outside: mapped apart, unmapped when freed
    with _reused_pages():
        assert _mapped_by_big_array() == 0
        with _reused_pages():  # nested blocks act as one
            assert _mapped_by_big_array() == 0
        assert _mapped_by_big_array() == 0  # the inner block's end changes nothing
    assert _mapped_by_big_array() >= BIG


def test_numpy_huge_page_advice_is_off_inside_and_restored_after() -> None:
    if _hugepage_advice() is None:
        pytest.skip(
            "numpy before 1.20 has no huge-page switch (_set_madvise_hugepage), so the mode "
            "leaves numpy alone; the pinned numpy 2.4 has it and runs this test"
        )
    advise = _hugepage_advice()
    for before in (True, False):
        was = advise(before)
        try:
            with _reused_pages():
                assert _hugepages_advised() is False
            assert _hugepages_advised() is before
        finally:
            advise(was)


@needs_mallinfo2
def test_arrow_allocates_through_glibc_inside_and_through_its_own_pool_after() -> None:
    import pyarrow as pa

    before = pa.default_memory_pool().backend_name
    with _reused_pages():
        assert pa.default_memory_pool().backend_name == "system"
        column = pa.array(["a", "bb"] * 1000)
        assert column.take(pa.array([1, 0])).to_pylist() == ["bb", "a"]
    assert pa.default_memory_pool().backend_name == before
    del column  # freed to the pool it came from, whichever is the default now


def test_the_block_ends_cleanly_when_its_body_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"), _reused_pages():
        raise RuntimeError("boom")
    if HAS_MALLINFO2:
        assert _mapped_by_big_array() >= BIG
    if _hugepage_advice() is not None:
        assert _hugepages_advised() is True


def _worker_maps_big_arrays() -> int:
    return _mapped_by_big_array()


@needs_mallinfo2
def test_a_fresh_worker_process_enters_the_mode_through_its_initializer() -> None:
    """Ingestion's workers start as fresh interpreters beside a Prefect task's threads."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_keep_pages) as pool:
        assert pool.submit(_worker_maps_big_arrays).result() == 0
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        assert pool.submit(_worker_maps_big_arrays).result() >= BIG


def test_freed_memory_is_given_back_where_the_c_library_can() -> None:
    """What ingestion freed is handed back at its end (``malloc_trim``) where the C library
    is glibc; elsewhere nothing is called and nothing fails."""
    assert _release_freed_memory() is GLIBC


def test_build_dataset_reads_and_labels_in_one_block(tmp_path, monkeypatch) -> None:
    """``stockout-sk build-dataset``: the labels reuse the pages ingestion freed; the freed
    memory goes back to the system once, after both, not in between."""
    import stockout_sk.labels as labels
    from stockout_sk.cli import main
    from stockout_sk.ingest import memory

    events: list[str] = []
    real_release, real_build = memory._release_freed_memory, labels._build_dataset
    monkeypatch.setattr(
        memory, "_release_freed_memory", lambda: events.append("release") or real_release()
    )

    def build(chain, horizon):
        events.append(f"labels in a block opened {memory._active} time(s)")
        return real_build(chain, horizon)

    monkeypatch.setattr(labels, "_build_dataset", build)
    out = tmp_path / "table.parquet"
    assert main(["build-dataset", "--data", "sample_data", "--out", str(out)]) == 0
    assert events == ["labels in a block opened 2 time(s)", "release"]
    assert out.stat().st_size > 0
