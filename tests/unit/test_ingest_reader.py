"""Unit tests of reading a file's blocks one ahead on a thread (:func:`~.reader._read_ahead`,
issue #14.4): the consumer sees what iterating the blocks itself would show, in order, errors
included, and a consumer that stops early leaves no thread and no open file behind."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from stockout_sk.ingest import DataContractError
from stockout_sk.ingest.reader import _read_ahead

pytestmark = pytest.mark.unit


def blocks(n: int, fail_at: int | None = None, log: list[str] | None = None) -> Generator[int]:
    log = [] if log is None else log
    try:
        for i in range(n):
            if i == fail_at:
                raise DataContractError(f"block {i} does not decode")
            log.append(f"read {i}")
            yield i
    finally:
        log.append("closed")


def threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("read-ahead")}


def test_the_blocks_in_order_then_the_end() -> None:
    assert list(_read_ahead(blocks(50), "f.csv")) == list(range(50))
    assert list(_read_ahead(blocks(0), "f.csv")) == []
    assert not threads()


def test_an_error_is_raised_after_the_blocks_read_before_it() -> None:
    ahead = _read_ahead(blocks(10, fail_at=3), "f.csv")
    assert [next(ahead) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(DataContractError, match="block 3 does not decode"):
        next(ahead)
    assert not threads()


def test_a_consumer_that_stops_early_stops_the_thread_and_closes_the_blocks() -> None:
    log: list[str] = []
    ahead = _read_ahead(blocks(1000, log=log), "f.csv")
    assert next(ahead) == 0
    ahead.close()
    assert not threads()
    assert log[-1] == "closed"
    assert len(log) <= 4  # read one (or two) ahead, not the whole file
