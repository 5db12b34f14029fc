"""Pure ASGI middleware: the optional API key and the request-body size limit.

Pure ASGI, not ``BaseHTTPMiddleware`` (which wraps every request in a task and a stream). Both
read their setting through a callable (see :mod:`api.dependencies`), so the value resolved in the
app's lifespan (including a test's ``get_settings`` override) is the one enforced. The key is
checked here rather than in a dependency because it also guards ``/docs`` and ``/openapi.json``
and must refuse a request before its body is read.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]

#: Paths answered without the API key (liveness probes carry none).
OPEN_PATHS: tuple[str, ...] = ("/health",)


async def _send_json(send: Callable, status: int, payload: dict[str, Any], headers=()) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class APIKeyMiddleware:
    """Require ``X-API-Key`` on every path but the open ones, when a key is configured.

    Parameters
    ----------
    app : ASGI app
    get_key : callable
        Returns the expected key, or ``None`` for no authentication.
    open_paths : tuple of str
        Paths answered without a key (liveness probes carry none).
    """

    def __init__(self, app, *, get_key: Callable[[], str | None], open_paths=OPEN_PATHS):
        self.app = app
        self.get_key = get_key
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        expected = self.get_key()
        if expected:
            given = b""
            for name, value in scope["headers"]:
                if name == b"x-api-key":
                    given = value
                    break
            # Constant-time comparison: the key must not leak through response timing.
            if not hmac.compare_digest(given, expected.encode()):
                await _send_json(
                    send,
                    401,
                    {
                        "detail": "missing or wrong API key: send the header 'X-API-Key' with "
                        "the value of STOCKOUT_API_KEY"
                    },
                    headers=[(b"www-authenticate", b"APIKey")],
                )
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Answer 413 to a body larger than the limit, by its ``Content-Length`` or as it streams.

    The body is read here (up to the limit) and replayed to the app: the endpoints read it whole
    anyway, and a chunked upload without ``Content-Length`` is cut off as soon as it exceeds the
    limit instead of after it has been buffered.

    Parameters
    ----------
    app : ASGI app
    get_limit : callable
        Returns the limit in bytes.
    """

    def __init__(self, app, *, get_limit: Callable[[], int]):
        self.app = app
        self.get_limit = get_limit

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = int(self.get_limit())
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(
                        send, 400, {"detail": f"invalid Content-Length header {value!r}"}
                    )
                    return
                if declared > limit:
                    await self._too_large(send, limit, declared)
                    return
                break
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(send, limit, None)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(send: Callable, limit: int, declared: int | None) -> None:
        size = f"{declared} bytes" if declared is not None else "more than that"
        await _send_json(
            send,
            413,
            {
                "detail": f"request body too large ({size}); the limit is {limit} bytes "
                "(STOCKOUT_MAX_BODY_BYTES). Split the batch into smaller requests"
            },
        )
