"""The coalescer: concurrent single rows scored together, each request getting its own answer."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import numpy as np
import pytest

from stockout_sk.coalescing import Coalescer, RowResult
from stockout_sk.serving import model_snapshot, predict, to_frame
from stockout_sk.vocabulary import Source

pytestmark = pytest.mark.unit

REGISTRY, RULE_BASELINE = Source.REGISTRY, Source.RULE_BASELINE

FIELDS = (
    "BranchID",
    "ItemCode",
    "Date",
    "CurrentQuantity",
    "ReservedQuantity",
    "SafetyStockLevel",
)


class _Step:
    feature_names_in_ = np.asarray(FIELDS, dtype=object)


class _Head:
    def get_feature_names_out(self):
        return np.asarray(["CurrentQuantity", "hash_0"], dtype=object)


class _History:
    last_day_ = 19_814  # 2024-04-01

    def staleness_days(self, X):
        days = np.asarray(X["Date"], dtype="datetime64[D]").astype(np.int64)
        return np.clip(days - self.last_day_, 0, None)

    def coverage(self, X):
        rows = len(X["Date"])
        return np.ones(rows, dtype=bool), np.zeros(rows, dtype=bool)


class RowPipeline:
    """A pipeline whose probability is a function of the row (quantity / 1000), so a test can
    tell which answer went to which request; ``ItemCode == "boom"`` makes it fail."""

    steps = (("calendar", None), ("history", None), ("hashing", None), ("classifier", None))

    def __init__(self):
        self.named_steps = {"history": _History()}
        self.batch_sizes: list[int] = []

    def __getitem__(self, key):
        return _Head() if isinstance(key, slice) else _Step()

    def predict_proba(self, X):
        self.batch_sizes.append(len(X["ItemCode"]))
        if any(code == "boom" for code in X["ItemCode"]):
            raise ValueError("cannot score item 'boom'")
        p = np.asarray(X["CurrentQuantity"], dtype=np.float64) / 1000.0
        return np.column_stack([1 - p, p])


def _snapshot(version: str = "4", pipeline: RowPipeline | None = None):
    pipeline = pipeline or RowPipeline()
    production = SimpleNamespace(
        pipeline=pipeline, version=version, threshold=0.3, metadata=lambda: {"version": version}
    )
    snapshot = model_snapshot(production)
    pipeline.batch_sizes.clear()  # forget the warm-up call
    return snapshot


def _row(quantity: float, item: str = "ITM1", date: str = "2024-04-03") -> dict:
    return {
        "BranchID": "001",
        "ItemCode": item,
        "Date": date,
        "CurrentQuantity": float(quantity),
        "ReservedQuantity": 0.0,
        "SafetyStockLevel": 10.0,
    }


async def _score_all(coalescer: Coalescer, rows: list[dict]) -> list[RowResult]:
    return await asyncio.gather(*(coalescer.score(row) for row in rows))


def test_concurrent_rows_are_scored_in_one_call_each_getting_its_own_answer() -> None:
    snapshot = _snapshot()
    coalescer = Coalescer(lambda: snapshot)
    rows = [_row(q) for q in (100, 500, 250, 900, 0)]
    results = asyncio.run(_score_all(coalescer, rows))
    assert snapshot.pipeline.batch_sizes == [5]
    expected = predict(snapshot, to_frame(rows, FIELDS))
    assert [r.probability for r in results] == expected.probability.tolist()
    assert [r.prediction for r in results] == [0, 1, 0, 1, 0]  # threshold 0.3
    assert {(r.source, r.version, r.threshold, r.reason) for r in results} == {
        (REGISTRY, "4", 0.3, None)
    }
    assert [r.stale_days for r in results] == [2] * 5
    assert coalescer.stats() == {
        "max_rows": 64,
        "calls": 1,
        "rows": 5,
        "mean_rows_per_call": 5.0,
    }


def test_a_lone_request_is_not_held_back() -> None:
    snapshot = _snapshot()
    coalescer = Coalescer(lambda: snapshot)

    async def one_after_another() -> list[RowResult]:
        return [await coalescer.score(_row(q)) for q in (100, 200, 300)]

    results = asyncio.run(one_after_another())
    assert snapshot.pipeline.batch_sizes == [1, 1, 1]
    assert [r.probability for r in results] == [0.1, 0.2, 0.3]


def test_max_rows_bounds_one_call() -> None:
    snapshot = _snapshot()
    coalescer = Coalescer(lambda: snapshot, max_rows=4)
    results = asyncio.run(_score_all(coalescer, [_row(q) for q in range(10)]))
    assert snapshot.pipeline.batch_sizes == [4, 4, 2]
    assert [r.probability for r in results] == [q / 1000 for q in range(10)]


def test_max_rows_one_scores_every_request_alone() -> None:
    snapshot = _snapshot()
    coalescer = Coalescer(lambda: snapshot, max_rows=1)
    asyncio.run(_score_all(coalescer, [_row(q) for q in range(3)]))
    assert snapshot.pipeline.batch_sizes == [1, 1, 1]


def test_max_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_rows must be ≥ 1, got 0"):
        Coalescer(lambda: None, max_rows=0)


def test_one_failing_row_does_not_put_its_neighbours_on_the_rule(caplog) -> None:
    snapshot = _snapshot()
    coalescer = Coalescer(lambda: snapshot)
    rows = [_row(100), _row(5, item="boom"), _row(700)]
    with caplog.at_level(logging.WARNING):
        results = asyncio.run(_score_all(coalescer, rows))
    assert snapshot.pipeline.batch_sizes == [3, 1, 1, 1]
    assert [r.source for r in results] == [REGISTRY, RULE_BASELINE, REGISTRY]
    assert [r.probability for r in results] == [0.1, 1.0, 0.7]  # 5 < 10: the rule says 1
    assert "cannot score item 'boom'" in results[1].reason
    assert results[0].reason is None
    assert results[2].reason is None
    assert "failed on a coalesced batch of 3 rows" in caplog.text


def test_each_flush_reads_the_snapshot_once() -> None:
    """A swap between two flushes: each flush is wholly old or wholly new."""
    old, new = _snapshot("1"), _snapshot("2")
    current = [old]
    coalescer = Coalescer(lambda: current[0])

    async def two_turns() -> tuple[list[RowResult], list[RowResult]]:
        first = await _score_all(coalescer, [_row(1), _row(2)])
        current[0] = new
        second = await _score_all(coalescer, [_row(3), _row(4)])
        return first, second

    first, second = asyncio.run(two_turns())
    assert [r.version for r in first] == ["1", "1"]
    assert [r.version for r in second] == ["2", "2"]


def test_a_cancelled_request_does_not_break_the_others() -> None:
    snapshot = _snapshot()
    coalescer = Coalescer(lambda: snapshot)

    async def cancel_one() -> list:
        tasks = [asyncio.ensure_future(coalescer.score(_row(q))) for q in (100, 200, 300)]
        await asyncio.sleep(0)  # every task has queued its row; the flush is scheduled
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    first, second, third = asyncio.run(cancel_one())
    assert isinstance(second, asyncio.CancelledError)
    assert (first.probability, third.probability) == (0.1, 0.3)


def test_an_error_outside_the_model_reaches_every_waiting_request() -> None:
    snapshot = _snapshot()
    coalescer = Coalescer(lambda: snapshot)
    rows = [_row(1), {"BranchID": "001"}]  # a row without its fields: not a model failure

    async def both() -> list:
        waiting = asyncio.gather(*(coalescer.score(r) for r in rows), return_exceptions=True)
        return await asyncio.wait_for(waiting, 5)

    results = asyncio.run(both())
    assert all(isinstance(r, KeyError) for r in results)
