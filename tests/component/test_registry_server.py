"""Alias moves on a server store: the registry lease other hosts see, and two racing decisions.

An ``mlflow server`` (SQLite behind it, artifacts served by it) stands for a shared registry.
There is no file both processes could lock, so every decision that moves an alias holds a lease:
the registered model ``<name>.lock``, created for the duration (MLflow's one atomic step).

* A second holder waits, then stops with "another run is in progress", naming the holder; an
  expired lease (its holder died) is broken; the next start deletes a dead holder's lease.
* Two trainings that register and decide at the same moment through the server: both versions
  are registered, and the second decision compares with the version the first one promoted.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from stockout_sk.config import Settings
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.component

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, helpers: Any):
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = helpers.free_port()
    command = [
        str(BIN / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination", str(folder / "artifacts"),
        "-h", "127.0.0.1", "-p", str(port), "-w", "1",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    # As docker-compose.yml runs it: MLflow 3's job runner (GenAI scorers) is off; it only adds
    # seconds to every start.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    url = f"http://127.0.0.1:{port}"
    with helpers.subprocess_server(command, env, f"{url}/health", folder / "server.log"):
        yield url


def _client(url: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=url, registry_uri=url)


def test_a_held_lease_stops_a_second_decision_naming_the_holder(server: str) -> None:
    from stockout_sk import registry

    settings = Settings(tracking_uri=server, model_name="leased", lock_wait_seconds=1)
    client = _client(server)
    assert registry.local_store_path(server) is None  # a server: the lease, not a file lock
    with registry.moves_lock(client, settings, "deciding version 7"):
        lease = client.get_registered_model("leased.lock")
        assert "deciding version 7" in lease.tags["stockout.lock.holder"]
        with pytest.raises(registry.RegistryBusyError) as busy:
            registry.promote("1", settings)
        message = str(busy.value)
        assert message.startswith("another run is in progress (pid ")
        assert "deciding version 7" in message
        assert "STOCKOUT_LOCK_WAIT_SECONDS" in message
    # Released: the lease is gone, and the next holder gets it at once.
    with pytest.raises(Exception, match="not found"):
        client.get_registered_model("leased.lock")
    with registry.moves_lock(client, settings, "again"):
        pass


def test_an_expired_lease_is_broken_and_a_dead_holders_lease_is_cleared(server: str) -> None:
    from stockout_sk import registry
    from stockout_sk.registry.locking import Holder, lease_of

    settings = Settings(tracking_uri=server, model_name="orphaned", lock_wait_seconds=5)
    client = _client(server)
    # A holder that died: its lease expired a minute ago.
    expired = {
        "stockout.lock.owner": "dead",
        "stockout.lock.holder": json.dumps(
            {"pid": 1, "host": "elsewhere", "purpose": "deciding", "since": "2026-01-01"}
        ),
        "stockout.lock.expires_at": "2026-01-01T00:00:00+00:00",
    }
    client.create_registered_model("orphaned.lock", tags=expired)
    with registry.moves_lock(client, settings, "taking over"):
        assert (
            "taking over"
            in client.get_registered_model("orphaned.lock").tags["stockout.lock.holder"]
        )
    # A lease left on this host by a process that is gone, not yet expired: the next start
    # (recover_interrupted) deletes it, and says so.
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    holder = Holder(int(done.stdout), socket.gethostname(), "deciding", "2026-01-01")
    client.create_registered_model(
        "orphaned.lock",
        tags={
            "stockout.lock.owner": "gone",
            "stockout.lock.holder": holder.to_json(),
            "stockout.lock.expires_at": "2999-01-01T00:00:00+00:00",
        },
    )
    said = registry.recover_interrupted(settings)
    assert any("promotion lease of orphaned" in line and "deleted" in line for line in said)
    assert lease_of(client, "orphaned") is None


_TRAIN_AND_DECIDE = textwrap.dedent(
    """
    import json, pickle, sys, time
    from pathlib import Path
    from stockout_sk import registry
    from stockout_sk.config import Settings
    from stockout_sk.training import split_xy

    result = pickle.loads(Path(sys.argv[1]).read_bytes())
    settings = Settings(tracking_uri=sys.argv[2], model_name="race", min_f1=0.2)
    barrier = Path(sys.argv[3])
    logged = registry.log_training(result, None, settings, awaiting_gate=True)
    (barrier / f"registered-{logged.version}").touch()
    deadline = time.monotonic() + 240  # the other process may have failed: never wait forever
    while len(list(barrier.glob("registered-*"))) < 2:  # decide at the same moment
        if time.monotonic() > deadline:
            sys.exit("the other process never registered its version")
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


def test_two_racing_decisions_through_the_server(server: str, tmp_path: Path) -> None:
    from stockout_sk import registry
    from stockout_sk.config import ModelConfig
    from stockout_sk.ingest import load_chain
    from stockout_sk.registry.locking import lease_of
    from stockout_sk.training import train_and_evaluate

    generate_chain(tmp_path / "chain", branches=3, items=15, days=120, seed=1)
    chain = load_chain(tmp_path / "chain")
    result = train_and_evaluate(chain, ModelConfig(n_estimators=30), checkpoint_dir=None)
    trained = tmp_path / "result.pkl"
    trained.write_bytes(pickle.dumps(result))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))}
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, "-c", _TRAIN_AND_DECIDE, str(trained), server, str(tmp_path)]
    runs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        outputs = [run.communicate(timeout=300) for run in runs]
    finally:  # a timed-out or failed run leaves no process behind
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.communicate()
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
    decisions = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]

    view = registry.show(Settings(tracking_uri=server, model_name="race"))
    assert sorted(v.version for v in view.versions) == ["1", "2"]
    first, second = sorted(decisions, key=lambda d: d["compared_with"] is not None)
    assert "no production version yet" in first["reason"]
    assert second["compared_with"] == first["version"], (first, second)
    moves = [m for m in view.history if m.action == "promoted"]
    for before, after in itertools.pairwise(moves):
        assert after.from_version == before.to_version
    assert lease_of(_client(server), "race") is None  # released
