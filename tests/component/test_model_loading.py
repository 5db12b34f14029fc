"""The registry is not a way into our processes: only skops models with our trusted types load.

Versions are registered the way an attacker with write access to the registry would: an
artifact folder logged to a run and registered by hand, with an ``MLmodel`` file of their
choosing. Each "model" would write a marker file when deserialised. Whatever they declare, the
marker must never appear — in ``load_production`` (the API, ``score``, ``monitor``) or in the
gate's re-scoring — and the API must answer from the rule baseline saying why. The loads of a
real model must leave ``sys.path`` as it was.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockout_sk.config import Settings

pytestmark = pytest.mark.component


class Payload:
    """Writes a marker file when unpickled: what a malicious pickle does (harmlessly here)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('payload ran')",))


class SkopsPayload:
    """Writes a marker file when skops rebuilds it (its ``__setstate__`` runs on load)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __getstate__(self) -> dict[str, Any]:
        return {"marker": self.marker}

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).write_text("payload ran")
        self.marker = state["marker"]


def _mlmodel(file_name: str, fmt: str, trusted: list[str] | None = None) -> str:
    lines = [
        "flavors:",
        "  python_function:",
        "    loader_module: mlflow.sklearn",
        f"    model_path: {file_name}",
        "    predict_fn: predict_proba",
        "    python_version: 3.11.7",
        "  sklearn:",
        f"    pickled_model: {file_name}",
        f"    serialization_format: {fmt}",
        "    sklearn_version: 1.9.0",
        "    code: null",
    ]
    if trusted:
        lines.append("    skops_trusted_types:")
        lines += [f"    - {name}" for name in trusted]
    return "\n".join(lines) + "\n"


def _register(settings: Settings, folder: Path) -> str:
    """Log ``folder`` as a run's ``model`` artifact and register it: a new version, by hand."""
    import mlflow
    from mlflow import MlflowClient

    from stockout_sk.registry import configure_tracking

    tracking = configure_tracking(settings)
    client = MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)
    with mlflow.start_run(experiment_id=tracking.experiment_id) as run:
        mlflow.log_artifacts(str(folder), artifact_path="model")
    with contextlib.suppress(mlflow.exceptions.MlflowException):  # already registered
        client.create_registered_model(settings.model_name)
    version = client.create_model_version(
        settings.model_name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    client.set_registered_model_alias(settings.model_name, "production", version.version)
    return str(version.version)


@pytest.fixture
def store(tmp_path: Path) -> Settings:
    return Settings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", model_name="attacked")


@pytest.fixture
def pickled(store: Settings, tmp_path: Path) -> dict[str, Any]:
    marker = tmp_path / "pickle-payload-ran"
    folder = tmp_path / "pickle-model"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps(Payload(marker)))
    (folder / "MLmodel").write_text(_mlmodel("model.pkl", "cloudpickle"))
    return {"version": _register(store, folder), "marker": marker}


def test_the_payload_is_real(tmp_path: Path) -> None:
    """The fixture's pickle does run code when unpickled (so its absence below means something)."""
    marker = tmp_path / "proof"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.read_text() == "payload ran"


def test_a_pickle_model_is_refused_without_running_its_payload(
    store: Settings, pickled: dict[str, Any]
) -> None:
    from stockout_sk import registry

    with pytest.raises(registry.UnsafeModelError, match="stored as 'cloudpickle', not 'skops'"):
        registry.load_production(store)
    with pytest.raises(registry.UnsafeModelError, match="refused without opening it"):
        registry.load_pipeline(store.model_name, pickled["version"], store.tracking_uri)
    assert not pickled["marker"].exists()


def test_a_skops_model_that_trusts_its_own_types_is_refused(
    store: Settings, tmp_path: Path
) -> None:
    import skops.io

    from stockout_sk import registry

    marker = tmp_path / "skops-payload-ran"
    folder = tmp_path / "skops-model"
    folder.mkdir()
    skops.io.dump(SkopsPayload(marker), folder / "model.skops")
    own_types = skops.io.get_untrusted_types(file=folder / "model.skops")
    assert own_types, "the payload's type must be one skops does not trust by default"
    # The artifact whitelists its own type in MLmodel, as MLflow's loader would honour.
    (folder / "MLmodel").write_text(_mlmodel("model.skops", "skops", trusted=own_types))
    _register(store, folder)
    with pytest.raises(
        registry.UnsafeModelError, match=r"outside stockout_sk\.registry\.TRUSTED_TYPES"
    ):
        registry.load_production(store)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["../../escape.skops", "/etc/passwd", "a/../../b.skops"])
def test_a_model_file_outside_the_artifact_is_refused(name: str) -> None:
    from stockout_sk import registry

    with pytest.raises(registry.UnsafeModelError, match="not a file inside the artifact"):
        registry.model_file(_mlmodel(name, "skops"), "v9")


def test_the_api_falls_back_to_the_rule_saying_why_and_logs_it_loudly(
    store: Settings,
    pickled: dict[str, Any],
    run_api,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from stockout_sk.config import ServingSettings

    settings = ServingSettings(registry=store, poll_seconds=0, startup_wait_seconds=120)
    row = {
        "BranchID": "B1",
        "ItemCode": "I1",
        "Date": "2024-04-01",
        "CurrentQuantity": 3,
        "ReservedQuantity": 0,
        "SafetyStockLevel": 5,
    }
    with caplog.at_level(logging.ERROR), run_api(settings) as url:
        answer = httpx.post(f"{url}/predict", json=row, timeout=30).json()
        model = httpx.get(f"{url}/model", timeout=30).json()
    assert answer["source"] == "rule-baseline"
    assert answer["prediction"] == 1  # 3 < 5: the rule's answer
    assert f"version {pickled['version']}" in answer["fallback_reason"]
    assert "stored as 'cloudpickle'" in answer["fallback_reason"]
    assert "stored as 'cloudpickle'" in model["registry"]["last_error"]
    refused = [r for r in caplog.records if r.levelno == logging.ERROR and "REFUSED" in r.message]
    assert refused, [r.message for r in caplog.records]
    assert not pickled["marker"].exists()


def test_the_gate_never_rescores_a_pickle_production_model(
    store: Settings, pickled: dict[str, Any], tmp_path: Path
) -> None:
    """A candidate compared with a pickle 'production' version stays in staging, payload unrun."""
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient

    from stockout_sk import registry

    candidate = _register(store, _harmless_skops_folder(tmp_path))
    client = MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)
    client.set_registered_model_alias(store.model_name, "production", pickled["version"])
    X = pd.DataFrame({"CurrentQuantity": [1.0]})
    decision = registry.decide_promotion(
        candidate,
        0.9,
        X,
        np.array([1]),
        store,
        baselines={"rule": 0.1},
        validation={"threshold": 0.5, "rows": 10, "flagged": 3},
    )
    assert decision.decision == "kept-staging"
    assert "UnsafeModelError" in decision.reason
    assert not pickled["marker"].exists()


def _harmless_skops_folder(tmp_path: Path) -> Path:
    import skops.io

    folder = tmp_path / "harmless"
    folder.mkdir()
    skops.io.dump({"nothing": 1}, folder / "model.skops")
    (folder / "MLmodel").write_text(_mlmodel("model.skops", "skops"))
    return folder


def test_loading_a_real_model_many_times_leaves_sys_path_alone(serving_store) -> None:
    import pandas as pd

    from stockout_sk import registry

    before = list(sys.path)
    settings = serving_store.registry_settings()
    for _ in range(5):
        pipeline = registry.load_pipeline(serving_store.model_name, "1", settings.tracking_uri)
        registry.load_production(settings)
    assert sys.path == before
    rows = serving_store.rows[:20]
    frame = pd.DataFrame(rows)
    expected = serving_store.proba("1", rows)
    assert pipeline.predict_proba(frame)[:, 1] == pytest.approx(expected, abs=0)
