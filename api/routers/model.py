"""The model being served: ``GET /model`` and ``POST /model/reload``."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter

from api.dependencies import CoalescerDep, Holder

__all__ = ["router"]

router = APIRouter(tags=["model"])


@router.get("/model")
async def model(holder: Holder, coalescer: CoalescerDep) -> dict[str, Any]:
    """The model being served: name, version, alias, run, training time, horizon, threshold,
    holdout metrics, the fallback reason if any, the registry poller's state and how many
    single-row requests were scored together (``coalescing``)."""
    return {**holder.status(), "coalescing": coalescer.stats()}


@router.post("/model/reload")
async def reload(holder: Holder) -> dict[str, Any]:
    """Poll the registry now and swap to the alias's version if it changed."""
    changed = await anyio.to_thread.run_sync(holder.refresh)
    return {"changed": changed, "model": holder.status()}
