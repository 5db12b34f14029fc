"""What the endpoints and the middleware receive: the settings, the model holder, the coalescer.

:func:`get_settings` reads :class:`~stockout_sk.config.ServingSettings` from the environment
once; a test replaces it with ``app.dependency_overrides[get_settings]``. The lifespan resolves it
(override included, see :func:`resolve_settings`) and keeps the result, the
:class:`~stockout_sk.serving.ModelHolder` and the :class:`~stockout_sk.coalescing.Coalescer` on
``app.state``; the accessors below read them from there.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from stockout_sk.coalescing import Coalescer
from stockout_sk.config import ServingSettings, load_serving_settings
from stockout_sk.serving import ModelHolder

__all__ = [
    "CoalescerDep",
    "Holder",
    "SettingsDep",
    "api_key",
    "app_settings",
    "get_coalescer",
    "get_holder",
    "get_settings",
    "max_body_bytes",
    "resolve_settings",
]


@lru_cache
def get_settings() -> ServingSettings:
    """The serving settings from the environment (read once; tests override this dependency)."""
    return load_serving_settings()


def resolve_settings(app: FastAPI) -> ServingSettings:
    """:func:`get_settings`, or the override a test set on ``app.dependency_overrides``.

    The lifespan has no dependency injection, so it honours the override by hand.
    """
    return app.dependency_overrides.get(get_settings, get_settings)()


# Request-time dependencies are `async def`: FastAPI runs a plain `def` dependency in a worker
# thread, a hop that costs more than the lookup itself on every request.
async def get_holder(request: Request) -> ModelHolder:
    """The app's :class:`~stockout_sk.serving.ModelHolder` (set up by the lifespan)."""
    return request.app.state.holder


async def app_settings(request: Request) -> ServingSettings:
    """The settings the lifespan resolved through :func:`get_settings` (overrides included)."""
    return request.app.state.settings


async def get_coalescer(request: Request) -> Coalescer:
    """The app's :class:`~stockout_sk.coalescing.Coalescer` (set up by the lifespan)."""
    return request.app.state.coalescer


Holder = Annotated[ModelHolder, Depends(get_holder)]
SettingsDep = Annotated[ServingSettings, Depends(app_settings)]
CoalescerDep = Annotated[Coalescer, Depends(get_coalescer)]


def api_key(app: FastAPI) -> str | None:
    """The key :class:`~api.middleware.APIKeyMiddleware` requires (``None``: no key)."""
    return app.state.settings.api_key


def max_body_bytes(app: FastAPI) -> int:
    """The body size limit :class:`~api.middleware.BodyLimitMiddleware` enforces."""
    return app.state.settings.max_body_bytes
