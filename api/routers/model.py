"""The model being served: ``GET /model`` and ``POST /model/reload`` (rate-limited)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.dependencies import CoalescerDep, Holder
from api.errors import documented

__all__ = ["ReloadLimiter", "router"]

router = APIRouter(tags=["model"])


class ReloadLimiter:
    """At most one reload per ``min_seconds`` in this process.

    A reload downloads and warms a model; many clients asking at once would slow every request
    (measured in issue #16: 40 clients, 928 reloads in 8 s, batch p50 3.8 → 12.8 ms). Used from
    the event loop only: :meth:`admit` has no ``await``, so it needs no lock.

    Parameters
    ----------
    min_seconds : float
        ``STOCKOUT_RELOAD_MIN_SECONDS``; ``0`` admits every call.
    clock : callable
        Monotonic seconds (tests pass a fake).
    """

    def __init__(self, min_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.min_seconds = float(min_seconds)
        self._clock = clock
        self._last: float | None = None

    def admit(self) -> float:
        """``0.0`` when a reload may run now (and it is counted), else the seconds to wait."""
        now = self._clock()
        if self._last is not None and now - self._last < self.min_seconds:
            return self.min_seconds - (now - self._last)
        self._last = now
        return 0.0


@router.get("/model", responses=documented(401))
async def model(holder: Holder, coalescer: CoalescerDep) -> dict[str, Any]:
    """The model being served: name, version, alias, run, training time, horizon, threshold,
    holdout metrics, the fallback reason if any, the registry poller's state (the store's
    credentials redacted) and how many single-row requests were scored together
    (``coalescing``)."""
    return {**holder.status(), "coalescing": coalescer.stats()}


@router.post("/model/reload", responses=documented(401, 429))
async def reload(request: Request, holder: Holder) -> Any:
    """Poll the registry now and swap to the alias's version if it changed. At most once per
    ``STOCKOUT_RELOAD_MIN_SECONDS`` per server process (429 with ``Retry-After`` sooner)."""
    limiter: ReloadLimiter = request.app.state.reload_limiter
    wait = limiter.admit()
    if wait > 0:
        retry = max(1, math.ceil(wait))
        return JSONResponse(
            status_code=429,
            content={
                "detail": f"a reload ran less than {limiter.min_seconds:g} s ago "
                f"(STOCKOUT_RELOAD_MIN_SECONDS); try again in {retry} s. The registry is also "
                "polled on its own every STOCKOUT_POLL_SECONDS"
            },
            headers={"Retry-After": str(retry)},
        )
    changed = await anyio.to_thread.run_sync(holder.refresh)
    return {"changed": changed, "model": holder.status()}
