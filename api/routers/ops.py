"""Operations: liveness (``GET /health``) and readiness (``GET /ready``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.dependencies import Holder
from api.errors import documented
from api.schemas import ReadyResponse

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers (no model needed, no API key)."""
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={
        503: {"model": ReadyResponse, "description": "The first model load has not finished."},
        **documented(401),
    },
)
async def ready(holder: Holder) -> Any:
    """Readiness: 200 once the model or the rule-baseline fallback is in place."""
    snapshot = holder.snapshot
    body = {
        "ready": holder.ready,
        "source": snapshot.source,
        "model_version": snapshot.version,
        "fallback_reason": snapshot.reason,
    }
    return body if holder.ready else JSONResponse(status_code=503, content=body)
