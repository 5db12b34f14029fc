"""Error bodies: what is wrong, where, with what value, and how to fix it.

A request the API cannot use is answered 422 with ``{"message", "detail": [{"field", "type",
"message"}]}``: ``field`` names the place (``records[1].Date``), ``message`` the value and a hint.
A bug is answered 500 without internals and logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import ErrorMessage, InvalidRequest
from stockout_sk.contract import RAW_FIELDS

__all__ = [
    "HINTS",
    "add_exception_handlers",
    "documented",
    "http_error",
    "invalid_request",
    "unexpected_error",
    "validation_error",
]

logger = logging.getLogger("stockout_sk.api")

#: How to fix each kind of validation error (pydantic error type → hint).
HINTS: dict[str, str] = {
    "missing": f"send this field; a row has exactly the fields {list(RAW_FIELDS)}",
    "extra_forbidden": f"unknown field: remove it; a row has exactly the fields {list(RAW_FIELDS)}",
    "string_type": 'send a JSON string (IDs are strings: "007", not the number 7)',
    "string_too_short": "send a non-empty value",
    "string_too_long": "send a shorter value",
    "float_type": "send a JSON number (not a string or a boolean)",
    "finite_number": "send a finite number",
    "greater_than_equal": "quantities cannot be negative",
    "json_invalid": "the body is not valid JSON",
    "model_attributes_type": "the body must be a JSON object",
    "dict_type": "the body must be a JSON object",
    "list_type": "'records' must be a JSON array of rows",
    "too_short": "send at least one record",
}

#: Problems named in the 422 message; the others are counted (all are in ``detail``).
_SUMMARISED = 3

#: Every error an endpoint may answer, as the OpenAPI document declares it.
_RESPONSES: dict[int, dict[str, Any]] = {
    401: {
        "model": ErrorMessage,
        "description": "STOCKOUT_API_KEY is set and the X-API-Key header is missing or wrong.",
    },
    413: {
        "model": ErrorMessage,
        "description": "The body is larger than STOCKOUT_MAX_BODY_BYTES.",
    },
    422: {
        "model": InvalidRequest,
        "description": "The request cannot be used: every problem, the field it is in, the "
        "value and how to fix it.",
    },
    429: {
        "model": ErrorMessage,
        "description": "Called again sooner than STOCKOUT_RELOAD_MIN_SECONDS after the last "
        "call; Retry-After says when to.",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before calling again.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route answering these error codes (declared, so that the
    OpenAPI document tells the truth: a 422 is :class:`~api.schemas.InvalidRequest`, not
    FastAPI's default)."""
    return {code: _RESPONSES[code] for code in codes}


def invalid_request(detail: list[dict[str, str]], summary: str | None = None) -> JSONResponse:
    """The 422 answer to a request the API cannot use.

    Parameters
    ----------
    detail : list of dict
        One ``{"field", "type", "message"}`` per problem.
    summary : str, optional
        The message after ``"invalid request — "``; default: the first problems as
        ``field: message``.
    """
    if summary is None:
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in detail[:_SUMMARISED])
        if len(detail) > _SUMMARISED:
            summary += f"; and {len(detail) - _SUMMARISED} more"
    return JSONResponse(
        status_code=422, content={"message": f"invalid request — {summary}", "detail": detail}
    )


def _field(loc: tuple[Any, ...], kind: str = "") -> str:
    if kind == "json_invalid":  # its location is a character position, not a field
        return "body"
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each invalid field, the value it got and how to fix it."""
    detail = []
    for error in exc.errors():
        kind = str(error.get("type", ""))
        field = _field(tuple(error.get("loc", ())), kind)
        message = str(error.get("msg", "invalid value"))
        if (
            "input" in error
            and kind not in ("missing", "json_invalid", "value_error")
            and (field != "body")
        ):
            message += f" (got {_short(error['input'])})"
        hint = HINTS.get(kind)
        if hint:
            message += f"; {hint}"
        detail.append({"field": field, "type": kind, "message": message})
    return invalid_request(detail)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's answer, except a body that is not UTF-8: 422 saying so (FastAPI: a bare 400)."""
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        message = f"the body is not UTF-8 text ({exc.__cause__.reason}); send a UTF-8 JSON object"
        return invalid_request([{"field": "body", "type": "body_encoding", "message": message}])
    return await http_exception_handler(request, exc)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """500 for a bug: logged with its traceback, answered without internals."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        status_code=500,
        content={"detail": f"internal error ({type(exc).__name__}); it was logged"},
    )


def add_exception_handlers(app: FastAPI) -> None:
    """Install the handlers above on ``app``."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
