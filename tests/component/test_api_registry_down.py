"""Registry down at start → rule baseline → up → model → down → rule → up → model again.

The registry is an ``mlflow server`` process over the session's SQLite store; the API runs as
``uvicorn api.main:app`` in its own process (configured by environment variables only, as in
production), with fast polling and no grace period. Stopping the MLflow server makes the next
polls fail; starting it again on the same port lets the API recover without a restart. The API
starts before the registry, so "unreachable at start" is covered too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.component

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


def test_registry_down_then_back(serving_store, helpers, tmp_path: Path) -> None:
    mlflow_port, api_port = helpers.free_port(), helpers.free_port()
    registry_url = f"http://127.0.0.1:{mlflow_port}"
    mlflow_cmd = [
        str(BIN / "mlflow"), "server", "--backend-store-uri", serving_store.tracking_uri,
        "-h", "127.0.0.1", "-p", str(mlflow_port), "-w", "1",
    ]  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))},
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    # The registry as docker-compose.yml runs it: MLflow 3's job runner (GenAI scorers) off; it
    # only adds seconds to each of the two starts. Not passed on to the API.
    mlflow_env = {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    api_env = {
        **env,
        "MLFLOW_TRACKING_URI": registry_url,
        "STOCKOUT_POLL_SECONDS": "0.5",
        "STOCKOUT_REGISTRY_GRACE_SECONDS": "0",
        # A refused connection fails at once instead of after MLflow's retries.
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    }
    api_cmd = [
        str(BIN / "python"), "-m", "uvicorn", "api.main:app",
        "--host", "127.0.0.1", "--port", str(api_port),
    ]  # fmt: skip
    api = f"http://127.0.0.1:{api_port}"
    row = serving_store.rows[0]
    rule = int(row["CurrentQuantity"] < row["SafetyStockLevel"])
    expected = float(serving_store.proba("1", [row])[0])

    def state() -> dict:
        return httpx.get(f"{api}/ready", timeout=5).json()

    registry = None
    try:
        with helpers.subprocess_server(
            api_cmd, {**api_env, "PYTHONPATH": str(REPO)}, f"{api}/ready", tmp_path / "api.log"
        ):
            # Started while the registry is down: the rule baseline answers, and says why.
            start = state()
            assert start["source"] == "rule-baseline"
            assert "unreachable" in start["fallback_reason"]
            body = httpx.post(f"{api}/predict", json=row, timeout=10).json()
            assert (body["source"], body["prediction"]) == ("rule-baseline", rule)

            # The registry comes up: the next poll loads the production model.
            registry = helpers.start_server(
                mlflow_cmd, mlflow_env, f"{registry_url}/health", tmp_path / "mlflow-server.log"
            )
            helpers.wait_until(
                lambda: state()["source"] == "registry", 60, "the first load", interval=0.2
            )
            body = httpx.post(f"{api}/predict", json=row, timeout=10).json()
            assert (body["source"], body["model_version"]) == ("registry", "1")
            assert body["probability"] == pytest.approx(expected, abs=1e-12)

            # The registry goes away: the next polls fail and the rule baseline takes over.
            helpers.stop_process_group(registry)
            down = helpers.wait_until(
                lambda: (s := state())["source"] == "rule-baseline" and s,
                60,
                "the fallback",
                interval=0.2,
            )
            assert "unreachable" in down["fallback_reason"]
            body = httpx.post(f"{api}/predict", json=row, timeout=10).json()
            assert (body["source"], body["model_version"]) == ("rule-baseline", None)
            assert body["prediction"] == rule
            assert "unreachable" in body["fallback_reason"]
            model = httpx.get(f"{api}/model", timeout=5).json()
            assert model["registry"]["last_error"]
            assert model["last_loaded_version"] == "1"

            # The registry comes back on the same address: the API recovers by itself.
            registry = helpers.start_server(
                mlflow_cmd, mlflow_env, f"{registry_url}/health", tmp_path / "mlflow-server-2.log"
            )
            helpers.wait_until(
                lambda: state()["source"] == "registry", 60, "the recovery", interval=0.2
            )
            body = httpx.post(f"{api}/predict", json=row, timeout=10).json()
            assert (body["source"], body["model_version"]) == ("registry", "1")
            assert body["probability"] == pytest.approx(expected, abs=1e-12)
            assert httpx.get(f"{api}/model", timeout=5).json()["registry"]["last_error"] is None
    finally:
        if registry is not None:
            helpers.stop_process_group(registry)
