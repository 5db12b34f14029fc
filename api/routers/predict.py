"""Scoring: ``POST /predict`` (one row, ``?explain=true``) and ``POST /predict/batch``."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.dependencies import CoalescerDep, Holder, SettingsDep
from api.errors import documented, invalid_request
from api.schemas import BatchRequest, BatchResponse, PredictionResponse, StockRow
from stockout_sk import serving
from stockout_sk.coalescing import RowResult
from stockout_sk.vocabulary import Source

__all__ = ["router"]

router = APIRouter(tags=["predict"])

Explain = Annotated[
    bool, Query(description="Also return the top contributing features (LightGBM pred_contrib).")
]


def _json(body: dict[str, Any]) -> Response:
    # The bodies are built from our own values in the documented response_model's shape:
    # returning a Response skips FastAPI re-validating them against it. orjson writes the same
    # JSON as the standard library (shortest round-trip floats), several times faster on large
    # batches. Probabilities are always finite here.
    return Response(content=orjson.dumps(body), media_type="application/json")


def _prediction(
    result: RowResult,
    top_features: list[dict[str, Any]] | None,
    outlook: dict[str, Any] | None = None,
) -> Response:
    """The ``PredictionResponse`` body of one scored row."""
    return _json(
        {
            "prediction": result.prediction,
            "probability": result.probability,
            "model_version": result.version,
            "source": result.source,
            "threshold": result.threshold,
            "history_staleness_days": result.stale_days,
            "unknown_key": result.unknown_key,
            "history_missing": result.history_missing,
            "fallback_reason": result.reason,
            "top_features": top_features,
            "outlook": outlook,
        }
    )


@router.post("/predict", response_model=PredictionResponse, responses=documented(401, 413, 422))
async def predict(
    row: StockRow,
    holder: Holder,
    coalescer: CoalescerDep,
    settings: SettingsDep,
    explain: Explain = False,
) -> Any:
    """Score one row: the six raw fields (see the example)."""
    # `async def` on purpose: a sub-millisecond CPU-bound call that holds the GIL anyway
    # gains nothing from a worker thread and would pay for the hop on every request.
    if not explain:
        # Rows of concurrent requests are scored together, one snapshot per call: a
        # concurrent swap cannot mix two models (see stockout_sk.coalescing).
        return _prediction(await coalescer.score(row.__dict__), None)
    snapshot = holder.snapshot  # one snapshot for the whole request
    X = serving.to_frame([row.__dict__], snapshot.fields)
    scored, reasons = serving.score_rows(snapshot, X, explain_top=settings.explain_top)
    outlook = serving.outlook_rows(snapshot, X, 1)[0] if scored.source == Source.REGISTRY else None
    return _prediction(RowResult.of(scored, 0), None if reasons is None else reasons[0], outlook)


@router.post("/predict/batch", response_model=BatchResponse, responses=documented(401, 413, 422))
def predict_batch(
    batch: BatchRequest, holder: Holder, settings: SettingsDep, explain: Explain = False
) -> Any:
    """Score many rows; one result per record, in order, all from one model snapshot."""
    # A plain `def`: FastAPI runs it in a worker thread, so a 10,000-row batch does not
    # hold the event loop (LightGBM releases the GIL while it predicts).
    records = batch.records
    if len(records) > settings.max_batch:
        return invalid_request(
            [
                {
                    "field": "records",
                    "type": "too_long",
                    "message": f"at most {settings.max_batch} records per request",
                }
            ],
            summary=f"records: {len(records)} records, at most {settings.max_batch} per "
            "request (STOCKOUT_MAX_BATCH); split the batch",
        )
    snapshot = holder.snapshot
    X = serving.to_frame(records, snapshot.fields)
    scored, reasons = serving.score_rows(
        snapshot, X, explain_top=settings.explain_top if explain else None
    )
    n = len(records)
    stale = [None] * n if scored.stale_days is None else scored.stale_days.tolist()
    unknown = [None] * n if scored.unknown_key is None else scored.unknown_key.tolist()
    missing = [None] * n if scored.history_missing is None else scored.history_missing.tolist()
    items = [
        {
            "prediction": p,
            "probability": q,
            "history_staleness_days": s,
            "unknown_key": u,
            "history_missing": m,
        }
        for p, q, s, u, m in zip(
            scored.prediction.tolist(),
            scored.probability.tolist(),
            stale,
            unknown,
            missing,
            strict=True,
        )
    ]
    if scored.by_rule is not None and scored.by_rule.any():
        # Rows the staleness policy answered with the rule say so themselves.
        for i in np.flatnonzero(scored.by_rule).tolist():
            items[i].update(source=Source.RULE_BASELINE, fallback_reason=scored.rule_reason)
    if reasons is not None:
        outlooks = (
            serving.outlook_rows(snapshot, X, len(items))
            if scored.source == Source.REGISTRY
            else [None] * len(items)
        )
        for item, entries, outlook in zip(items, reasons, outlooks, strict=True):
            item["top_features"] = entries
            item["outlook"] = outlook
    body = {
        "model_version": scored.version,
        "source": scored.source,
        "threshold": scored.threshold,
        "fallback_reason": scored.reason,
        "predictions": items,
    }
    # Serialised here: re-validating every item against BatchResponse would cost about as much
    # as the prediction itself; the shape is the documented response_model.
    return _json(body)
