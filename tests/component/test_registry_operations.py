"""Operating the registry on a real MLflow store: what reads create, rollback, history, locks.

* Commands that only read (``registry show|history``, ``score``, ``monitor --dry-run``,
  ``serve``) never create a store where there is none: they say which store they looked at and
  fail, or fall back to the rule baseline, saying so.
* ``registry rollback`` returns to the last version that held ``production`` and was not rolled
  back from — after a manual fix it does not re-install the version just removed — and
  ``registry history`` shows every move, who, when and why.
* Two first-time trainings in one folder, started together: the store is created once and
  works, both versions are registered, and each promotion decision reads ``production`` after
  the other one moved it (one move per decision, none lost).
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockout_sk.cli import main
from stockout_sk.config import Settings
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.component

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ops-chain")
    generate_chain(out, branches=3, items=15, days=120, seed=1)
    return out


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A user's empty folder with no store settings: the default store would be ./mlflow.db."""
    for key in list(os.environ):
        if key.startswith(("MLFLOW_", "STOCKOUT_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------------------------------
# Read-only commands create nothing
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["show", "history"])
def test_registry_reads_in_an_empty_folder_fail_and_create_no_store(
    clean_env: Path, action: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "registry", action]) == 1
    err = capsys.readouterr().err
    assert f"store: sqlite:///{clean_env / 'mlflow.db'}" in err
    assert f"error: no MLflow store at {clean_env / 'mlflow.db'}" in err
    assert not (clean_env / "mlflow.db").exists()


def test_score_without_a_store_falls_back_to_the_rule_and_creates_none(
    clean_env: Path, chain_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "score", "--data", str(chain_dir), "--out", "list/at_risk.csv"]) == 0
    err = capsys.readouterr().err
    assert f"store: sqlite:///{clean_env / 'mlflow.db'}" in err
    assert "by the rule baseline (no MLflow store at" in err
    assert (clean_env / "list" / "at_risk.csv").is_file()
    assert not (clean_env / "mlflow.db").exists()


def test_monitor_dry_run_without_a_store_fails_clearly_and_creates_none(
    clean_env: Path, chain_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "monitor", "--data", str(chain_dir), "--dry-run"]) == 1
    assert "error: no MLflow store at" in capsys.readouterr().err
    assert not (clean_env / "mlflow.db").exists()


def test_serve_without_a_store_says_so_serves_the_rule_and_creates_none(
    tmp_path: Path, helpers: Any
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))}
    env["PYTHONPATH"] = str(REPO)
    port = helpers.free_port()
    # `env -C` starts it in the empty folder and still leaves it the leader of its group.
    command = ["env", "-C", str(tmp_path), sys.executable, "-m", "stockout_sk", "serve"]
    command += ["--host", "0.0.0.0", "--port", str(port)]
    log = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    with helpers.subprocess_server(command, env, f"{url}/ready", log):
        ready = httpx.get(f"{url}/ready", timeout=10).json()
    banner = log.read_text()
    assert f"store: sqlite:///{tmp_path / 'mlflow.db'}" in banner
    assert "no MLflow store there yet (nothing created by serving)" in banner
    assert "API key: none" in banner
    assert "WARNING: listening on 0.0.0.0, beyond loopback, without an API key" in banner
    assert ready["source"] == "rule-baseline"
    assert "no MLflow store at" in ready["fallback_reason"]
    assert not (tmp_path / "mlflow.db").exists()


def test_serve_says_when_an_api_key_is_active(tmp_path: Path, helpers: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))}
    env.update(PYTHONPATH=str(REPO), STOCKOUT_API_KEY="k" * 32)
    port = helpers.free_port()
    command = ["env", "-C", str(tmp_path), sys.executable, "-m", "stockout_sk", "serve"]
    command += ["--host", "0.0.0.0", "--port", str(port)]
    log = tmp_path / "serve.log"
    with helpers.subprocess_server(command, env, f"http://127.0.0.1:{port}/health", log):
        pass
    banner = log.read_text()
    assert "API key: active" in banner
    assert "beyond loopback" not in banner


# --------------------------------------------------------------------------------------------------
# Rollback and the alias history
# --------------------------------------------------------------------------------------------------


def _evaluated_version(client, settings: Settings, folder: Path) -> str:
    """A registered version with a harmless skops artifact and the gate's metrics recorded."""
    import contextlib

    import mlflow
    import skops.io

    from stockout_sk.registry import configure_tracking

    tracking = configure_tracking(settings)
    folder.mkdir(exist_ok=True)
    skops.io.dump({"weights": [1.0]}, folder / "model.skops")
    (folder / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.skops\n    serialization_format: skops\n"
    )
    run = client.create_run(tracking.experiment_id)
    client.log_artifacts(run.info.run_id, str(folder), "model")
    client.set_terminated(run.info.run_id)
    with contextlib.suppress(mlflow.exceptions.MlflowException):
        client.create_registered_model(settings.model_name)
    version = client.create_model_version(
        settings.model_name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    for key, value in {"stockout.holdout.f1": "0.8", "stockout.threshold": "0.5"}.items():
        client.set_model_version_tag(settings.model_name, version.version, key, value)
    return str(version.version)


def test_rollback_after_a_manual_fix_does_not_reinstall_the_bad_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow import MlflowClient

    from stockout_sk import registry

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = Settings(tracking_uri=uri, model_name="ops")
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for n in (1, 2, 3):
        _evaluated_version(client, settings, tmp_path / f"v{n}")
        registry.promote(str(n), settings, reason=f"version {n} is better")
    # Version 3 goes bad: monitoring falls back to the rule baseline while it holds production.
    registry.set_serving_mode(
        "rule-baseline", settings, reason="monitoring: drift", by="monitoring"
    )
    # The operator's fix: version 2 back, by hand (3's previous_production is 2; 2's becomes 3).
    registry.promote("2", settings, reason="operator: 3 is broken, back to 2")
    assert client.get_model_version("ops", "2").tags["stockout.previous_production"] == "3"

    # An undo of the last move would go to 3. The rollback passes over it, to 1.
    back = registry.rollback(settings, reason="2 drifts too")
    assert (back.from_version, back.to_version) == ("2", "1")
    assert back.skipped == [
        "version 3: was rolled back from (or fallen back from) after it held production"
    ]

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("STOCKOUT_MODEL_NAME", "ops")
    assert main(["-q", "registry", "history", "--json"]) == 0
    out = capsys.readouterr().out
    payload = json.loads(out.strip().splitlines()[-1])
    moves = [(m["action"], m["from_version"], m["to_version"]) for m in payload["history"]]
    assert moves == [
        ("manual-promotion", None, "1"),
        ("manual-promotion", "1", "2"),
        ("manual-promotion", "2", "3"),
        ("fallback", "3", "3"),
        ("manual-promotion", "3", "2"),
        ("rolled-back", "2", "1"),
    ]
    last = payload["history"][-1]
    assert last["reason"] == "2 drifts too"
    assert last["by"].startswith("operator (")
    assert socket.gethostname() in last["by"]
    assert payload["history"][3]["by"].startswith("monitoring (")
    assert payload["rollback_target"] is None  # 2 was rolled back from, 3 too
    table = out.split("{")[0]
    assert "rolled-back" in table
    assert "a rollback now returns to: none" in table


# --------------------------------------------------------------------------------------------------
# Two first-time trainings at once
# --------------------------------------------------------------------------------------------------

_TRAIN_AND_DECIDE = textwrap.dedent(
    """
    import json, pickle, sys, time
    from pathlib import Path
    from stockout_sk import registry
    from stockout_sk.config import Settings
    from stockout_sk.training import split_xy

    result = pickle.loads(Path(sys.argv[1]).read_bytes())
    settings = Settings(tracking_uri=sys.argv[2], model_name="race", min_f1=0.2)
    go = Path(sys.argv[3])
    while not go.exists():  # every process starts the race at the same moment
        time.sleep(0.01)
    logged = registry.log_training(result, None, settings, awaiting_gate=True)
    # Both decide at the same moment too: read production, re-score, move the alias.
    (go.parent / f"registered-{logged.version}").touch()
    while len(list(go.parent.glob("registered-*"))) < 2:
        time.sleep(0.01)
    X, y = split_xy(result.prepared.holdout)
    decision = registry.decide_promotion(
        logged.version, result.report.model["f1"], X, y, settings,
        baselines={k: b["f1"] for k, b in result.report.baselines.items()},
        validation=result.fitted.validation,
    )
    print(json.dumps(decision.to_dict()))
    """
)


def test_two_first_time_trainings_in_one_folder(chain_dir: Path, tmp_path: Path) -> None:
    from stockout_sk import registry
    from stockout_sk.config import ModelConfig
    from stockout_sk.ingest import load_chain
    from stockout_sk.training import train_and_evaluate

    chain = load_chain(chain_dir)
    result = train_and_evaluate(chain, ModelConfig(n_estimators=30), checkpoint_dir=None)
    assert result.report.model["f1"] > max(b["f1"] for b in result.report.baselines.values())
    trained = tmp_path / "result.pkl"
    trained.write_bytes(pickle.dumps(result))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    go = tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))}
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, "-c", _TRAIN_AND_DECIDE, str(trained), uri, str(go)]
    runs = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.touch()
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
    decisions = sorted(
        (json.loads(out.strip().splitlines()[-1]) for out, _ in outputs),
        key=lambda d: int(d["version"]),
    )

    # The store works, and holds no half-done migration.
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
    assert not [t for t in tables if t.startswith("_alembic_tmp")], tables
    settings = Settings(tracking_uri=uri, model_name="race")
    view = registry.show(settings)
    assert [v.version for v in view.versions] == ["2", "1"]  # both registered, none lost

    # One decision saw no production; the other one compared with the version it promoted.
    first, second = sorted(decisions, key=lambda d: d["compared_with"] is not None)
    assert first["decision"] == "promoted"
    assert "no production version yet" in first["reason"]
    assert second["compared_with"] == first["version"], (first, second)
    # Every move of production starts where the previous one ended: no lost update.
    production_moves = [m for m in view.history if m.action == "promoted"]
    assert len(production_moves) == sum(d["decision"] == "promoted" for d in decisions)
    for before, after in itertools.pairwise(production_moves):
        assert after.from_version == before.to_version
    assert view.aliases["production"] == production_moves[-1].to_version
    assert all(v.decision in ("promoted", "kept-staging") for v in view.versions)
