"""A ``train`` killed with ``kill -9`` leaves nothing running and nothing undecided unseen.

* The real command, killed while its MLflow run is open: Prefect's temporary server (its child)
  stops within seconds, and the next start marks the run ``FAILED``, saying so.
* A registry as a run killed right after registration leaves it — a ``RUNNING`` run of a process
  that is gone and a version without a decision, F1 or threshold — is put right on the next
  start, and ``registry promote`` refuses that version without ``--force``, saying why.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stockout_sk.config import Settings
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.component

REPO = Path(__file__).resolve().parents[2]
SERVER_MARKER = b"prefect.server.api.server:create_app"
#: Prefect's temporary server and a small training run, on a busy 2-core machine.
START_SECONDS = 240


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` and whose command line is Prefect's temporary server."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            if ppid == pid and SERVER_MARKER in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists()


def _running_runs(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            rows = connection.execute("SELECT run_uuid FROM runs WHERE status = 'RUNNING'")
            return [row[0] for row in rows]
    except sqlite3.Error:  # not created yet, or locked by the writer: look again
        return []


def _env(workdir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "STOCKOUT_", "PREFECT_"))
    }
    return {
        **env,
        "PYTHONPATH": str(REPO),
        "PREFECT_HOME": str(workdir / ".prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "MPLBACKEND": "Agg",
    }


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_kill_9_of_train_leaves_no_prefect_server_and_the_next_start_fails_the_run(
    tmp_path: Path, helpers: Any
) -> None:
    from stockout_sk import registry

    generate_chain(tmp_path / "chain", branches=3, items=15, days=120, seed=1)
    log = (tmp_path / "train.log").open("wb")
    train = subprocess.Popen(
        [sys.executable, "-m", "stockout_sk", "train", "--data", "chain"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    servers: list[int] = []
    try:
        servers = helpers.wait_until(
            lambda: _children(train.pid) or (train.poll() is not None and [-1]),
            START_SECONDS,
            "train to start Prefect's temporary server",
            interval=0.2,
        )
        assert servers != [-1], (tmp_path / "train.log").read_text()[-3000:]
        db = tmp_path / "mlflow.db"
        running = helpers.wait_until(
            lambda: _running_runs(db) or (train.poll() is not None and ["exited"]),
            START_SECONDS,
            "the training run to be logged",
            interval=0.05,
        )
        assert running != ["exited"], (tmp_path / "train.log").read_text()[-3000:]
        os.kill(train.pid, signal.SIGKILL)
        train.wait(30)

        # The temporary server dies with its parent (the watchdog stops it), within seconds.
        helpers.wait_until(
            lambda: not any(_running(pid) for pid in servers),
            30,
            f"Prefect's temporary server {servers} to stop after kill -9 of its parent",
        )
        assert _running_runs(db) == running  # the run was left open

        settings = Settings(tracking_uri=f"sqlite:///{db}")
        said = registry.recover_interrupted(settings)
        assert any(f"run {running[0]}" in line and "marked FAILED" in line for line in said), said
        assert _running_runs(db) == []
        assert registry.recover_interrupted(settings) == []  # once is enough
    finally:
        log.close()
        if train.poll() is None:
            os.killpg(train.pid, signal.SIGKILL)
        for pid in servers:
            if pid > 0 and _running(pid):
                os.kill(pid, signal.SIGKILL)  # only on failure: the test must not leak it


# --------------------------------------------------------------------------------------------------
# The registry a run killed right after registration leaves
# --------------------------------------------------------------------------------------------------


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def _interrupted(settings: Settings, tmp_path: Path, pid: int) -> tuple[str, str]:
    """A RUNNING training run of process ``pid`` and a version it registered, untagged."""
    import socket

    import mlflow
    import skops.io
    from mlflow import MlflowClient

    from stockout_sk import registry

    tracking = registry.configure_tracking(settings)
    client = MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    skops.io.dump({"weights": [1, 2]}, folder / "model.skops")
    (folder / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.skops\n    serialization_format: skops\n"
    )
    run = client.create_run(
        tracking.experiment_id,
        tags={
            "stockout.kind": "training",
            "stockout.pid": str(pid),
            "stockout.host": socket.gethostname(),
        },
    )
    client.log_artifacts(run.info.run_id, str(folder), "model")
    with contextlib.suppress(mlflow.exceptions.MlflowException):  # already registered
        client.create_registered_model(settings.model_name)
    version = client.create_model_version(
        settings.model_name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    return run.info.run_id, str(version.version)


def test_the_next_start_marks_a_dead_run_failed_and_its_version_unevaluated(
    tmp_path: Path,
) -> None:
    from mlflow import MlflowClient

    from stockout_sk import registry

    settings = Settings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", model_name="killed")
    dead_run, dead_version = _interrupted(settings, tmp_path, _dead_pid())
    live_run, live_version = _interrupted(settings, tmp_path, os.getpid())

    said = registry.recover_interrupted(settings)
    assert f"run {dead_run} left RUNNING by pid" in " ".join(said)
    assert f"killed version {dead_version}: never decided by the gate" in " ".join(said)
    assert live_run not in " ".join(said)  # its process runs: maybe still deciding

    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    assert client.get_run(dead_run).info.status == "FAILED"
    assert "is gone" in client.get_run(dead_run).data.tags["stockout.interrupted"]
    assert client.get_run(live_run).info.status == "RUNNING"
    tags = client.get_model_version("killed", dead_version).tags
    assert tags["stockout.decision"] == "unevaluated"
    assert "ended before the promotion gate decided" in tags["stockout.reason"]
    assert "stockout.decision" not in client.get_model_version("killed", live_version).tags

    shown = {v.version: v for v in registry.show(settings).versions}
    assert not shown[dead_version].evaluated

    with pytest.raises(registry.UnevaluatedVersionError, match="--force"):
        registry.promote(dead_version, settings)
    assert registry.production_version(settings) is None
    forced = registry.promote(dead_version, settings, force=True)
    assert forced.aliases["production"] == dead_version
    assert "forced: never evaluated" in forced.reason


def test_registry_promote_of_an_unevaluated_version_needs_force_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stockout_sk import registry
    from stockout_sk.cli import main

    settings = Settings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", model_name="killed")
    _, version = _interrupted(settings, tmp_path, _dead_pid())
    registry.recover_interrupted(settings)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", settings.tracking_uri)
    monkeypatch.setenv("STOCKOUT_MODEL_NAME", "killed")
    assert main(["-q", "registry", "promote", version]) == 1
    refused = capsys.readouterr().err
    assert f"killed version {version} was never evaluated by the gate" in refused
    assert "--force" in refused
    assert main(["-q", "registry", "promote", version, "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["aliases"] == {
        "production": version,
        "staging": None,
    }
