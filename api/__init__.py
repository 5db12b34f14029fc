"""The HTTP API: a thin FastAPI shell over :mod:`stockout_sk.serving`.

``api.main`` builds the app and its lifespan, ``api.dependencies`` hands the settings, the model
holder and the coalescer to the endpoints, ``api.errors`` shapes error bodies,
``api.middleware`` guards requests (API key, body size), ``api.schemas`` holds the request and
response bodies and ``api.routers`` the endpoints.
"""
