"""Score concurrent single-row requests together: one pipeline call per event-loop turn.

A single-row ``predict_proba`` through the pipeline spends almost all of its time per call
(pipeline checks, column assembly, one LightGBM call) rather than per row: eight rows cost barely
more than one (``benchmarks/bench_api.py`` measures it). When requests arrive together — eight
clients, one uvicorn worker — the :class:`Coalescer` queues each row, and the first row of a turn
schedules one flush with ``loop.call_soon``. The flush runs after every request handler already
runnable in that turn has queued its row, scores them all with **one snapshot** (so a hot swap
never mixes two models inside one flush either) and hands each request its own row of the result.

Nothing waits on purpose: a lone request is flushed on the very next turn of the loop, so at
concurrency 1 the latency is that of scoring it directly. This is the same idea as the dynamic
batching of Triton or Ray Serve's ``@serve.batch``, without their wait window.

One failing row must not put its neighbours on the rule baseline: when the model fails on a
flushed batch of several rows, each row is scored again on its own and only the failing one is
answered by the rule baseline (with the reason, as :func:`stockout_sk.serving.predict` does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stockout_sk import serving
from stockout_sk.serving import Scored, Snapshot
from stockout_sk.vocabulary import Source

__all__ = ["Coalescer", "RowResult"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RowResult:
    """One request's answer, cut out of a flush's :class:`~stockout_sk.serving.Scored`."""

    probability: float
    prediction: int
    source: str
    version: str | None
    threshold: float | None
    reason: str | None
    stale_days: int | None
    unknown_key: bool | None = None
    history_missing: bool | None = None

    @classmethod
    def of(cls, scored: Scored, i: int) -> RowResult:
        """Row ``i`` of ``scored`` (a row the staleness policy gave to the rule says so)."""
        by_rule = scored.by_rule is not None and bool(scored.by_rule[i])
        return cls(
            probability=float(scored.probability[i]),
            prediction=int(scored.prediction[i]),
            source=Source.RULE_BASELINE if by_rule else scored.source,
            version=None if by_rule else scored.version,
            threshold=None if by_rule else scored.threshold,
            reason=scored.rule_reason if by_rule else scored.reason,
            stale_days=None if scored.stale_days is None else int(scored.stale_days[i]),
            unknown_key=None if scored.unknown_key is None else bool(scored.unknown_key[i]),
            history_missing=(
                None if scored.history_missing is None else bool(scored.history_missing[i])
            ),
        )


class Coalescer:
    """Queue single rows from concurrent requests and score each loop turn's rows in one call.

    Parameters
    ----------
    get_snapshot : callable
        Returns the :class:`~stockout_sk.serving.Snapshot` to answer with (read once per flush),
        e.g. ``lambda: holder.snapshot``.
    max_rows : int
        Most rows scored in one call; a full queue is flushed at once. ``1`` scores every
        request alone (no coalescing).

    Notes
    -----
    Use it from one event loop (one per server process); it is not thread-safe and needs no lock
    because everything runs on the loop's thread. :attr:`calls` and :attr:`rows` count the
    pipeline calls and the rows they scored (``rows / calls`` is the mean coalesced size).
    """

    def __init__(self, get_snapshot: Callable[[], Snapshot], *, max_rows: int = 64) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be ≥ 1, got {max_rows}")
        self._get_snapshot = get_snapshot
        self.max_rows = int(max_rows)
        self._pending: list[tuple[Mapping[str, Any], asyncio.Future]] = []
        self._scheduled = False
        self.calls = 0
        self.rows = 0

    def stats(self) -> dict[str, Any]:
        """Pipeline calls, rows scored and the mean rows per call so far."""
        return {
            "max_rows": self.max_rows,
            "calls": self.calls,
            "rows": self.rows,
            "mean_rows_per_call": round(self.rows / self.calls, 3) if self.calls else None,
        }

    async def score(self, row: Mapping[str, Any]) -> RowResult:
        """Score one validated raw row (as :func:`~stockout_sk.serving.to_frame` takes it)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._pending.append((row, future))
        if len(self._pending) >= self.max_rows:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            snapshot = self._get_snapshot()
            results = self._score(snapshot, [row for row, _ in batch])
        except Exception as error:  # not the model (predict never raises): hand it on
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a client that went away cancelled its future
                future.set_result(result)

    def _score(self, snapshot: Snapshot, rows: list[Mapping[str, Any]]) -> list[RowResult]:
        self.calls += 1
        self.rows += len(rows)
        scored = serving.predict(snapshot, serving.to_frame(rows, snapshot.fields))
        failed = snapshot.source == Source.REGISTRY and scored.source != Source.REGISTRY
        if not failed or len(rows) == 1:
            return [RowResult.of(scored, i) for i in range(len(rows))]
        # The model failed on this flush: find the row(s) it fails on, answer the others.
        logger.warning(
            "model version %s failed on a coalesced batch of %d rows; scoring them one by one",
            snapshot.version,
            len(rows),
        )
        out = []
        for row in rows:
            self.calls += 1
            self.rows += 1
            alone = serving.predict(snapshot, serving.to_frame([row], snapshot.fields))
            out.append(RowResult.of(alone, 0))
        return out
