"""Shared fixtures of the component tests (real MLflow store, real Prefect, real HTTP)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server and database for the whole session.

    Starting it costs 15–25 s on a busy machine, so tests share it; request this fixture (it is
    not autouse) in tests that run flows.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


# --------------------------------------------------------------------------------------------------
# Serving: one small registry with two model versions, and a uvicorn server on loopback
# --------------------------------------------------------------------------------------------------

SERVING_MODEL = "stockout-classifier"


@dataclass
class ServingStore:
    """A SQLite MLflow store holding two versions of ``stockout-classifier``.

    Version 1 (30 trees) holds ``production``; version 2 (8 small trees, different scores) holds
    ``staging``. ``pipelines`` are the versions as loaded back from the registry; ``rows`` are raw
    request rows (JSON-ready): every branch×item as of its snapshot date, older holdout rows, an
    unseen branch and item, and a date after the carried history.
    """

    tracking_uri: str
    model_name: str
    chain_dir: Path
    pipelines: dict[str, Any]
    rows: list[dict[str, Any]]

    def registry_settings(self, **overrides: Any):
        from stockout_sk.config import Settings

        return replace(
            Settings(tracking_uri=self.tracking_uri, model_name=self.model_name), **overrides
        )

    def serving_settings(self, **overrides: Any):
        """Serving settings for this store (fast polling, no grace) with ``overrides``."""
        from stockout_sk.config import ServingSettings

        registry = overrides.pop("registry", None) or self.registry_settings()
        base = {"poll_seconds": 0.2, "registry_grace_seconds": 0.0, "startup_wait_seconds": 120}
        return ServingSettings(registry=registry, **{**base, **overrides})

    def explain(self, version: str, rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """:func:`stockout_sk.serving.explain` of a version on ``rows`` (what explain=true says)."""
        from stockout_sk.serving import Snapshot, explain, to_frame

        pipeline = self.pipelines[version]
        snapshot = Snapshot(source="registry", pipeline=pipeline, version=version)
        return explain(snapshot, to_frame(rows, tuple(RAW_FIELDS_FOR_TESTS)), top=3)

    def proba(self, version: str, rows: list[dict[str, Any]]) -> np.ndarray:
        """``pipeline.predict_proba`` of a version on ``rows`` sent as a DataFrame (column 1)."""
        frame = pd.DataFrame(rows)[list(RAW_FIELDS_FOR_TESTS)]
        return self.pipelines[version].predict_proba(frame)[:, 1]

    def expected(
        self, version: str, rows: list[dict[str, Any]], max_staleness_days: int = 60
    ) -> tuple[np.ndarray, np.ndarray]:
        """What the API answers: :meth:`proba`, except rows dated more than
        ``max_staleness_days`` after the version's carried history, which the staleness policy
        gives to the rule baseline (0.0 / 1.0). Also returns that mask."""
        history_end = self.pipelines[version].named_steps["history"].history_end_
        stale = (pd.to_datetime([row["Date"] for row in rows]) - history_end).days
        by_rule = np.asarray(stale > max_staleness_days)
        rule = np.array([float(r["CurrentQuantity"] < r["SafetyStockLevel"]) for r in rows])
        return np.where(by_rule, rule, self.proba(version, rows)), by_rule


RAW_FIELDS_FOR_TESTS = (
    "BranchID",
    "ItemCode",
    "Date",
    "CurrentQuantity",
    "ReservedQuantity",
    "SafetyStockLevel",
)


@pytest.fixture(scope="session")
def serving_store(tmp_path_factory: pytest.TempPathFactory) -> ServingStore:
    """Train and register two small models once per session (about 30 s)."""
    import mlflow

    from stockout_sk import registry
    from stockout_sk.config import ModelConfig, Settings
    from stockout_sk.ingest import load_chain
    from stockout_sk.synth import generate_chain
    from stockout_sk.training import train_and_evaluate

    chain_dir = tmp_path_factory.mktemp("serving-chain")
    generate_chain(chain_dir, branches=3, items=15, days=120, seed=3)
    chain = load_chain(chain_dir)
    store = tmp_path_factory.mktemp("serving-mlflow")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    settings = Settings(tracking_uri=uri, model_name=SERVING_MODEL)
    configs = {
        "1": ModelConfig(n_estimators=30),
        "2": ModelConfig(n_estimators=8, num_leaves=7, learning_rate=0.2),
    }
    for version, config in configs.items():
        result = train_and_evaluate(chain, config, checkpoint_dir=None)
        logged = registry.log_training(result, chain.report, settings)
        assert logged.version == version
    registry.promote("1", settings, reason="serving tests")
    pipelines = {v: mlflow.sklearn.load_model(f"models:/{SERVING_MODEL}/{v}") for v in configs}

    current = chain.stock_current
    rows = [
        {
            "BranchID": str(r.BranchID),
            "ItemCode": str(r.ItemCode),
            "Date": r.LastUpdatedAt.strftime("%Y-%m-%d"),
            "CurrentQuantity": float(r.CurrentQuantity),
            "ReservedQuantity": float(r.ReservedQuantity),
            "SafetyStockLevel": float(r.SafetyStockLevel),
        }
        for r in current.itertuples(index=False)
    ]
    older = [dict(row, Date="2024-03-15") for row in rows[:10]]
    extra = [
        dict(rows[0], BranchID="B-NEW", ItemCode="ITM-NEW"),
        dict(rows[1], Date="2025-01-01"),
        dict(rows[2], CurrentQuantity=0.0, ReservedQuantity=0.0),
    ]
    return ServingStore(
        tracking_uri=uri,
        model_name=SERVING_MODEL,
        chain_dir=chain_dir,
        pipelines=pipelines,
        rows=rows + older + extra,
    )


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def serve_in_thread(app, timeout: float = 120) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True
    )
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), timeout, "uvicorn to start")
        assert server.started, "uvicorn stopped during start-up (see the log above)"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture(scope="session")
def run_api():
    """Factory: ``with run_api(settings) as url:`` serves a new app with those settings."""

    @contextmanager
    def run(settings) -> Iterator[str]:
        from api.main import create_app, get_settings

        app = create_app()
        app.dependency_overrides[get_settings] = lambda: settings
        with serve_in_thread(app) as url:
            yield url

    return run


def free_port() -> int:
    """A loopback port free right now (for servers that must be started by port number)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    command: list[str], env: dict[str, str], url: str, log: Path, timeout: float = 180
) -> subprocess.Popen:
    """Start a server process in its own process group; wait (bounded) until ``url`` answers 200.

    Stop it with :func:`stop_process_group` (``mlflow`` servers run uvicorn as a child process).
    """
    import httpx

    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def answered() -> bool:
        if process.poll() is not None:
            pytest.fail(f"{command[:3]} exited early:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answered, timeout, f"{url} to answer", interval=0.2)
    except BaseException:
        stop_process_group(process)
        raise
    return process


@contextmanager
def subprocess_server(
    command: list[str], env: dict[str, str], url: str, log: Path, timeout: float = 180
) -> Iterator[subprocess.Popen]:
    """:func:`start_server` for the duration of a ``with`` block."""
    process = start_server(command, env, url, log, timeout)
    try:
        yield process
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """Terminate a process started with ``start_new_session=True`` and its children."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    else:
        # The leader is gone; children of the group may remain.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)


@pytest.fixture(scope="session")
def helpers() -> Any:
    """The server helpers above, for test modules (conftest is not imported by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        wait_until=wait_until,
        serve_in_thread=serve_in_thread,
        subprocess_server=subprocess_server,
        start_server=start_server,
        stop_process_group=stop_process_group,
        free_port=free_port,
    )


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A real two-worker LocalCluster (one process and one thread each), started once."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
