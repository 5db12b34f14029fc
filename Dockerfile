# syntax=docker/dockerfile:1
# stockout-sk: one image for the API, the Prefect flows, the CLI and `mlflow models serve`;
# a second target, `mlflow-server`, adds the PostgreSQL driver for the MLflow tracking server.
#
#   docker build -t stockout-sk .                                # the app (default, last stage)
#   docker build --target mlflow-server -t stockout-sk-mlflow .  # the tracking server
#   docker compose up --build                                    # the whole stack
#
# Nothing from the working tree but the code and the lock file goes in (see .dockerignore): no
# data, no MLflow store, no secrets. Data folders are mounted at run time (docker-compose.yml).

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# ------------------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first (their layer survives code changes). requirements.lock pins every package
# of the development environment, test and lint tools included; the image takes only what
# pyproject.toml's runtime dependencies and its `dask` extra (training on a Dask cluster, the
# compose profile `dask`) pull in, each at the version the lock pins (-c).
COPY pyproject.toml requirements.lock ./
RUN python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print(*p["dependencies"], *p["optional-dependencies"]["dask"], sep="\n")' \
        > runtime-requirements.txt \
    && pip install --no-cache-dir -r runtime-requirements.txt -c requirements.lock
COPY setup.cfg README.md ./
COPY stockout_sk ./stockout_sk
COPY flows ./flows
COPY api ./api
# The package itself (stockout_sk, flows, api) without touching the pinned dependencies.
RUN pip install --no-cache-dir --no-deps . \
    && pip check

# ---------------------------------------------------------------------------------------- base
FROM ${PYTHON_IMAGE} AS base
# libgomp1: LightGBM's OpenMP runtime (not part of the slim image, not bundled in its wheel).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app \
    && mkdir -p /srv/stockout/artifacts /home/app/.prefect /mlflow/artifacts \
    && chown -R app:app /srv/stockout /home/app /mlflow
COPY --from=builder /opt/venv /opt/venv
# PATH: `stockout-sk`, `prefect`, `mlflow` and the `uvicorn` that `mlflow models serve` starts by
# name all come from the venv. GIT_PYTHON_REFRESH: MLflow probes for git, absent here on purpose.
# PREFECT_UI_STATIC_DIRECTORY: `prefect server start` copies its UI into a writable folder before
# serving it; its default is inside the venv, which uid 10001 cannot write (the UI then 404s).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HOME=/home/app \
    GIT_PYTHON_REFRESH=quiet \
    MPLBACKEND=Agg \
    DO_NOT_TRACK=true \
    MLFLOW_DISABLE_TELEMETRY=true \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_UI_STATIC_DIRECTORY=/home/app/.prefect/ui \
    STOCKOUT_ARTIFACTS_DIR=artifacts
# Relative paths (artifacts/, the embedded mlflow.db when MLFLOW_TRACKING_URI is unset) land here.
WORKDIR /srv/stockout

# ------------------------------------------------------------------------------- mlflow-server
FROM base AS mlflow-server
# The PostgreSQL driver is the tracking server's alone: the app talks to MLflow over HTTP, so it
# stays out of the app image. Same pin as requirements.lock (the dev extra: the component tests
# run `mlflow server` on PostgreSQL with it); tests/unit/test_delivery.py keeps the two equal.
RUN pip install --no-cache-dir psycopg2-binary==2.9.13
USER 10001:10001
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=4)"]
CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000", "--serve-artifacts", "--artifacts-destination", "/mlflow/artifacts"]

# ----------------------------------------------------------------------------------------- app
FROM base AS app
USER 10001:10001
EXPOSE 8000
# /health answers as soon as the process does (no model needed); /ready says when a model (or
# the rule-baseline fallback) is in place. The check targets the API; containers of this image
# that run a flow or `mlflow models serve` instead set their own check (docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["stockout-sk", "serve", "--host", "0.0.0.0", "--port", "8000"]
