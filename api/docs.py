"""The API's documentation pages, served with no network: Swagger UI at ``/docs``, ReDoc at
``/redoc``.

FastAPI's default pages load Swagger UI's and ReDoc's JavaScript and CSS from a CDN (and ReDoc's
fonts from Google), so on a server or a laptop without internet access ``/docs`` is a blank page.
Here the same pages load those files from the API itself, under :data:`ASSETS_URL`. The files come
from the pinned ``fastapi-offline`` package (Swagger UI 5, which renders OpenAPI 3.1, and ReDoc 2;
their licences travel with the package); only its static folder is used, not its app factory.
When ``STOCKOUT_API_KEY`` is set the pages and their assets need the key like every other path.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_DIR", "ASSETS_URL", "add_offline_docs"]

#: Where the JavaScript, CSS and favicon are read from.
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
#: Where the pages find them.
ASSETS_URL = "/docs-assets"
#: The one file ReDoc's bundle still fetches from the internet: the "API docs by Redocly" logo
#: in its sidebar. It is swapped for an empty inline image, so the page makes no request out.
_REDOC_REMOTE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_EMPTY_SVG = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


def add_offline_docs(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve Swagger UI at ``docs_url`` and ReDoc at ``redoc_url`` from local files.

    Create the app with ``docs_url=None, redoc_url=None`` (FastAPI's CDN pages), then call this.

    Parameters
    ----------
    app : FastAPI
    docs_url, redoc_url : str
        Paths of the two pages.
    """
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        if not (ASSETS_DIR / name).is_file():
            raise FileNotFoundError(
                f"{ASSETS_DIR / name} is missing: the fastapi-offline package is broken or of an "
                "unexpected version; reinstall the lock file (`make setup`)"
            )
    redoc_js = (ASSETS_DIR / "redoc.standalone.js").read_bytes()
    redoc_js = redoc_js.replace(_REDOC_REMOTE_LOGO, _EMPTY_SVG)

    # Before the mount, which would otherwise serve the file as shipped.
    @app.get(f"{ASSETS_URL}/redoc.standalone.js", include_in_schema=False)
    async def redoc_bundle() -> Response:
        return Response(redoc_js, media_type="text/javascript; charset=utf-8")

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or f"{docs_url}/oauth2-redirect"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{oauth2_redirect_url}",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
