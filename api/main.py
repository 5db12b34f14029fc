"""The app: :func:`create_app` and its :func:`lifespan`.

Run it with ``uvicorn api.main:app`` or ``stockout-sk serve``. Configuration comes from the
environment through :func:`~api.dependencies.get_settings` (see
:class:`stockout_sk.config.ServingSettings`); tests override that dependency. The model is loaded
in the lifespan — never at import — and a background thread polls the registry alias and swaps
new versions in atomically.

Endpoints: ``POST /predict`` (``?explain=true``), ``POST /predict/batch``, ``GET /health``,
``GET /ready``, ``GET /model``, ``POST /model/reload``; OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.dependencies import api_key, get_settings, max_body_bytes, resolve_settings
from api.docs import add_offline_docs
from api.errors import add_exception_handlers
from api.middleware import OPEN_PATHS, APIKeyMiddleware, BodyLimitMiddleware
from api.routers import model, ops, predict
from stockout_sk import __version__, serving
from stockout_sk.coalescing import Coalescer
from stockout_sk.contract import CURRENT_QUANTITY, SAFETY_STOCK_LEVEL
from stockout_sk.serving import ModelHolder

__all__ = ["app", "create_app", "get_settings", "lifespan"]

logger = logging.getLogger("stockout_sk.api")

DESCRIPTION = (
    "Which items at which branches fall below their safety stock in the next N days: "
    "predictions from the production model in the MLflow registry, or the rule baseline "
    f"`{CURRENT_QUANTITY} < {SAFETY_STOCK_LEVEL}` when no model can answer (`source` says which)."
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model (in a background thread that then polls the registry); stop it on exit."""
    settings = resolve_settings(app)
    serving.limit_registry_retries()
    holder = ModelHolder(settings)
    app.state.settings = settings
    app.state.holder = holder
    app.state.coalescer = Coalescer(lambda: holder.snapshot, max_rows=settings.coalesce_max_rows)
    app.state.reload_limiter = model.ReloadLimiter(settings.reload_min_seconds)
    holder.start()
    finished = await anyio.to_thread.run_sync(holder.wait_first, settings.startup_wait_seconds)
    if not finished:
        logger.warning(
            "the first model load did not finish within %.0f s (STOCKOUT_STARTUP_WAIT_SECONDS); "
            "serving the rule baseline and answering 503 on /ready until it does",
            settings.startup_wait_seconds,
        )
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(holder.stop)


def create_app() -> FastAPI:
    """A new app (one per server; tests create their own and override ``get_settings``).

    Returns
    -------
    FastAPI
        The app with its routers, error handlers and middleware; the model is loaded when its
        lifespan starts.
    """
    app = FastAPI(
        title="stockout-sk",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # the CDN pages; add_offline_docs serves them from local files
        redoc_url=None,
    )
    add_exception_handlers(app)
    # Added last = outermost: the key is checked before a large body is read.
    app.add_middleware(BodyLimitMiddleware, get_limit=partial(max_body_bytes, app))
    app.add_middleware(APIKeyMiddleware, get_key=partial(api_key, app))
    # FastAPI tries included routers in order: the scoring endpoints, the hot path, go first.
    for router in (predict.router, ops.router, model.router):
        app.include_router(router)
    add_offline_docs(app)  # after them: the docs are never on the hot path
    app.openapi = partial(_openapi, app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the API key as a security scheme when one is in force.

    Declared only then, so that the document tells the truth either way: with no key set,
    every endpoint is open. Built on first request, after the lifespan resolved the settings.
    """
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        if getattr(app.state, "settings", None) is not None and api_key(app):
            schema.setdefault("components", {})["securitySchemes"] = {
                "APIKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            }
            for path, operations in schema["paths"].items():
                if path in OPEN_PATHS:
                    continue
                for operation in operations.values():
                    operation["security"] = [{"APIKey": []}]
        app.openapi_schema = schema
    return app.openapi_schema


app = create_app()
