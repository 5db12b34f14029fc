"""``mlflow models serve`` of the registered model answers like ``/predict``.

``mlflow models serve -m models:/stockout-classifier@production --env-manager local`` runs as a
subprocess on a free loopback port; the same raw rows go to its ``/invocations`` as
``dataframe_records`` and to our API; the probabilities agree to 1e-9.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.component

BIN = Path(sys.executable).parent


def test_mlflow_models_serve_matches_predict(
    serving_store, run_api, helpers, tmp_path: Path
) -> None:
    port = helpers.free_port()
    command = [
        str(BIN / "mlflow"), "models", "serve",
        "-m", f"models:/{serving_store.model_name}@production",
        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1",
    ]  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))},
        "MLFLOW_TRACKING_URI": serving_store.tracking_uri,
        # `mlflow models serve` starts `uvicorn` by name.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    rows = serving_store.rows
    mlflow_url = f"http://127.0.0.1:{port}"
    with (
        helpers.subprocess_server(command, env, f"{mlflow_url}/ping", tmp_path / "serve.log"),
        run_api(serving_store.serving_settings(poll_seconds=0)) as api,
    ):
        served = httpx.post(
            f"{mlflow_url}/invocations", json={"dataframe_records": rows}, timeout=60
        )
        assert served.status_code == 200, served.text
        mlflow_proba = np.array(served.json()["predictions"], dtype=np.float64)
        assert mlflow_proba.shape == (len(rows), 2)

        batch = httpx.post(f"{api}/predict/batch", json={"records": rows}, timeout=60).json()
        assert batch["model_version"] == "1"
        ours = np.array([p["probability"] for p in batch["predictions"]])
        # The same model: the same probabilities, except where our staleness policy (which
        # `mlflow models serve` has not) gave a row dated long after the history to the rule.
        _, by_rule = serving_store.expected("1", rows)
        assert [p.get("source") == "rule-baseline" for p in batch["predictions"]] == list(by_rule)
        np.testing.assert_allclose(ours[~by_rule], mlflow_proba[~by_rule, 1], rtol=0, atol=1e-9)

        # One row at a time, as a client of each would send it.
        for row, expected in zip(rows[:8], mlflow_proba[:8, 1], strict=True):
            single = httpx.post(f"{api}/predict", json=row, timeout=30).json()
            assert single["probability"] == pytest.approx(expected, abs=1e-9)
            one = httpx.post(
                f"{mlflow_url}/invocations", json={"dataframe_records": [row]}, timeout=30
            ).json()
            assert one["predictions"][0][1] == pytest.approx(expected, abs=1e-9)
