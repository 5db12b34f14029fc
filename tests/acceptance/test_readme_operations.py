"""The README's operations commands, run for real from the acceptance workspace.

Each test takes its command line from ``README.md`` itself (a changed command breaks the test),
points ``.venv/bin/`` at this venv, adds only a free loopback port where the command starts a
server, and runs it from the workspace with the clean environment a user has (see
``conftest.py``): ``build-dataset`` writes the labelled table, ``mlflow ui`` shows the training
experiment and the production model, ``uvicorn api.main:app`` (the README's alternative to
``stockout-sk serve``) answers the README's ``curl`` request, and the Prefect block — a real
``prefect server start``, ``python -m flows.deploy`` and ``prefect deployment run`` — retrains
and registers a new version in the workspace's store. The Docker commands need an engine this
machine does not have; ``tests/unit/test_delivery.py`` checks them.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx
import pandas as pd
import pytest

from stockout_sk.contract import LABEL, RAW_FIELDS

if TYPE_CHECKING:
    from conftest import Workspace

pytestmark = pytest.mark.acceptance

README = Path(__file__).resolve().parents[2] / "README.md"
VENV_BIN = ".venv/bin/"
MODEL_NAME = "stockout-classifier"
EXPERIMENT = "stockout-training"
#: Prefect's server start-up (its first start creates the database and the UI files).
PREFECT_START_SECONDS = 120
#: A whole training run on the sample, triggered through the deployment, on a busy 2-core box.
FLOW_RUN_SECONDS = 300
#: How often ``python -m flows.deploy`` asks the server for runs to start (Prefect's runner
#: default: 10 s, a wait of up to that long after ``prefect deployment run`` for nothing).
RUNNER_POLL_SECONDS = "1"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


# --------------------------------------------------------------------------------------------------
# The README's command lines
# --------------------------------------------------------------------------------------------------


def readme_command_lines() -> list[str]:
    """Every line of the README's ``bash`` blocks, continuations joined, alternatives split.

    ``cmd &   # or: other`` gives two commands, ``cmd`` and ``other``.
    """
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    lines: list[str] = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            first, _, alternative = line.partition("# or:")
            lines += [part.strip() for part in (first, alternative) if part.strip()]
    return lines


def readme_command(*start: str) -> list[str]:
    """The first README command whose words begin with ``start`` (comments and ``&`` dropped)."""
    for line in readme_command_lines():
        words = shlex.split(line, comments=True)
        if words and words[-1] == "&":
            words = words[:-1]
        if tuple(words[: len(start)]) == start:
            return words
    pytest.fail(f"README.md has no command starting with {' '.join(start)!r}")


def readme_export(variable: str) -> str:
    """The value the README's ``export VARIABLE=...`` line gives."""
    for line in readme_command_lines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"] and words[1].startswith(f"{variable}="):
            return words[1].split("=", 1)[1]
    pytest.fail(f"README.md exports no {variable}")


def readme_curl_body() -> dict[str, Any]:
    """The JSON body of the README's first ``curl ... /predict`` line."""
    words = readme_command("curl", "-s", "-X", "POST", "http://127.0.0.1:8000/predict")
    return json.loads(words[words.index("-d") + 1])


def venv_tool(words: list[str]) -> str:
    """``.venv/bin/TOOL`` → ``TOOL`` (the README runs every tool from the project's venv)."""
    assert words[0].startswith(VENV_BIN), f"not a venv command: {words}"
    return words[0].removeprefix(VENV_BIN)


def with_option(words: list[str], option: str, value: str) -> list[str]:
    """``words`` with ``option``'s value replaced (or the option added)."""
    if option in words:
        at = words.index(option)
        return [*words[: at + 1], value, *words[at + 2 :]]
    return [*words, option, value]


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def run_tool(
    workspace: Workspace, words: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a README command (a venv tool) in the workspace; fail with its output unless exit 0."""
    done = subprocess.run(
        workspace.command(venv_tool(words), *words[1:]),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{words} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def registry_show(workspace: Workspace) -> dict[str, Any]:
    """``stockout-sk registry show --json`` in the workspace (its default store)."""
    return workspace.run("registry", "show", "--json").json()


def restore_production(
    workspace: Workspace, version: str, shown: dict[str, Any] | None = None
) -> None:
    """Move ``production`` back to ``version`` if a test moved it, the README's way.

    The rest of the session (the API, the morning list, monitoring) expects the version the
    main job promoted. ``shown``: a ``registry show --json`` the caller has just read (one
    command less); read here when ``None``.
    """
    if (shown or registry_show(workspace))["aliases"].get("production") == version:
        return
    workspace.run("registry", "rollback", "--reason", "acceptance: README scheduling test")
    if registry_show(workspace)["aliases"].get("production") != version:
        workspace.run("registry", "promote", version, "--reason", "acceptance: restore")
    assert registry_show(workspace)["aliases"].get("production") == version


def log_tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


# --------------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------------


def test_build_dataset_writes_the_labelled_point_in_time_table(workspace: Workspace) -> None:
    words = readme_command(".venv/bin/stockout-sk", "build-dataset")
    out = workspace.path / words[words.index("--out") + 1]
    assert out.suffix == ".parquet"
    result = workspace.run(*words[1:])

    # The CLI says what it wrote: rows, keys, the as-of range and the positive rate.
    said = re.search(
        r"wrote ([\d,]+) labelled rows \(([\d,]+) branch×item keys, as-of (\S+)\.\.(\S+), "
        r"horizon (\d+)\) to .*; positive rate ([\d.]+)",
        result.stderr,
    )
    assert said, result.tail()
    rows, keys = (int(said[i].replace(",", "")) for i in (1, 2))
    frame = pd.read_parquet(out)
    assert list(frame.columns) == [*RAW_FIELDS, LABEL]
    assert len(frame) == rows > 0
    assert frame[["BranchID", "ItemCode"]].drop_duplicates().shape[0] == keys > 0
    assert not frame.isna().any().any()
    # IDs stay strings; quantities are reconstructed stock, clipped at 0; labels are 0/1.
    assert all(isinstance(value, str) for value in frame["BranchID"].head(100))
    assert all(isinstance(value, str) for value in frame["ItemCode"].head(100))
    assert (frame[["CurrentQuantity", "ReservedQuantity", "SafetyStockLevel"]] >= 0).all().all()
    assert set(frame[LABEL].unique()) == {0, 1}
    rate = float(frame[LABEL].mean())
    assert 0.0 < rate < 1.0
    assert rate == pytest.approx(float(said[6]), abs=5e-4)
    assert int(said[5]) == 7
    dates = pd.to_datetime(frame["Date"])
    assert str(dates.min().date()) >= said[3]
    assert str(dates.max().date()) <= said[4]


def test_mlflow_ui_shows_the_experiment_and_the_production_model(
    workspace: Workspace, servers: ModuleType, trained: dict[str, Any]
) -> None:
    words = readme_command(".venv/bin/mlflow", "ui")
    assert words[words.index("--backend-store-uri") + 1] == "sqlite:///mlflow.db"
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    command = workspace.command(
        venv_tool(words), *words[1:], "--host", "127.0.0.1", "--port", str(port)
    )
    with servers.subprocess_server(command, workspace.env, f"{url}/", workspace.log("mlflow-ui")):
        home = httpx.get(f"{url}/", timeout=30)
        experiment = httpx.get(
            f"{url}/api/2.0/mlflow/experiments/get-by-name",
            params={"experiment_name": EXPERIMENT},
            timeout=30,
        )
        # The UI's own calls go to ajax-api: the same answer.
        ui_experiment = httpx.get(
            f"{url}/ajax-api/2.0/mlflow/experiments/get-by-name",
            params={"experiment_name": EXPERIMENT},
            timeout=30,
        )
        model = httpx.get(
            f"{url}/api/2.0/mlflow/registered-models/get", params={"name": MODEL_NAME}, timeout=30
        )
        production = httpx.get(
            f"{url}/api/2.0/mlflow/registered-models/alias",
            params={"name": MODEL_NAME, "alias": "production"},
            timeout=30,
        )
        experiment_id = experiment.json()["experiment"]["experiment_id"]
        runs = httpx.post(
            f"{url}/api/2.0/mlflow/runs/search",
            json={"experiment_ids": [experiment_id], "max_results": 100},
            timeout=30,
        )

    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert experiment.status_code == 200, experiment.text
    found = experiment.json()["experiment"]
    assert found["name"] == EXPERIMENT
    assert found["lifecycle_stage"] == "active"
    # The workspace's store: its artifacts live in the workspace's mlartifacts/.
    assert found["artifact_location"].startswith(f"file://{workspace.path / 'mlartifacts'}")
    assert ui_experiment.json() == experiment.json()

    assert runs.status_code == 200, runs.text
    by_id = {run["info"]["run_id"]: run["info"] for run in runs.json()["runs"]}
    assert by_id[trained["run_id"]]["status"] == "FINISHED"

    assert model.status_code == 200, model.text
    aliases = {a["alias"]: a["version"] for a in model.json()["registered_model"]["aliases"]}
    # Production is the promoted version's refit on every matured row, in the same run (#13).
    assert aliases["production"] == trained["deployed"]["version"]
    assert production.status_code == 200, production.text
    version = production.json()["model_version"]
    assert version["version"] == trained["deployed"]["version"]
    assert version["run_id"] == trained["run_id"]
    assert version["status"] == "READY"


def test_uvicorn_serves_the_production_model_to_the_readme_request(
    workspace: Workspace, servers: ModuleType, trained: dict[str, Any]
) -> None:
    """``uvicorn api.main:app`` from the workspace, no ``MLFLOW_TRACKING_URI``: the default
    store is ``sqlite:///$PWD/mlflow.db``, the workspace's."""
    words = readme_command(".venv/bin/uvicorn", "api.main:app")
    body = readme_curl_body()
    assert not any(key.startswith(("MLFLOW_", "STOCKOUT_")) for key in workspace.env)
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"  # uvicorn's default host is 127.0.0.1
    command = workspace.command(venv_tool(words), *with_option(words[1:], "--port", str(port)))
    with servers.subprocess_server(
        command, workspace.env, f"{url}/ready", workspace.log("uvicorn")
    ):
        ready = httpx.get(f"{url}/ready", timeout=30).json()
        model = httpx.get(f"{url}/model", timeout=30).json()
        response = httpx.post(f"{url}/predict", json=body, timeout=30)

    assert ready["source"] == "registry", ready
    assert model["registry"]["tracking_uri"] == f"sqlite:///{workspace.path / 'mlflow.db'}"
    assert model["version"] == trained["deployed"]["version"]
    assert model["run_id"] == trained["run_id"]
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["source"] == "registry"
    assert answer["fallback_reason"] is None
    assert answer["model_version"] == trained["deployed"]["version"]
    assert 0.0 <= answer["probability"] <= 1.0
    assert answer["threshold"] == pytest.approx(model["threshold"])
    assert answer["prediction"] == int(answer["probability"] >= answer["threshold"])


def test_prefect_deployment_run_retrains_and_registers_a_new_version(
    workspace: Workspace, servers: ModuleType, trained: dict[str, Any]
) -> None:
    """The README's scheduling block: a Prefect server, ``python -m flows.deploy`` serving the
    daily deployment, and ``prefect deployment run`` triggering it now from another shell."""
    server_words = readme_command(".venv/bin/prefect", "server", "start")
    readme_api = readme_export("PREFECT_API_URL")
    deploy_words = readme_command(".venv/bin/python", "-m", "flows.deploy")
    run_words = readme_command(".venv/bin/prefect", "deployment", "run")
    flow_name, deployment_name = run_words[3].split("/")
    assert readme_api == "http://127.0.0.1:4200/api"
    cron = deploy_words[deploy_words.index("--cron") + 1]

    port = servers.free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**workspace.env, "PREFECT_API_URL": api}
    versions_before = {v["version"] for v in registry_show(workspace)["versions"]}
    deploy_log = workspace.log("flows-deploy")
    shown = None
    try:
        with ExitStack() as stack:
            server = workspace.command(
                venv_tool(server_words), *server_words[1:], "--host", "127.0.0.1",
                "--port", str(port),
            )  # fmt: skip
            stack.enter_context(
                servers.subprocess_server(
                    server,
                    workspace.env,
                    f"{api}/health",
                    workspace.log("prefect-server"),
                    timeout=PREFECT_START_SECONDS,
                )
            )
            # The deploy process stays in the foreground: it answers once the deployment exists.
            # It polls for runs every RUNNER_POLL_SECONDS, not Prefect's 10 s (the only change
            # to the user's environment besides PREFECT_API_URL).
            deployment_url = f"{api}/deployments/name/{flow_name}/{deployment_name}"
            deploy = servers.start_server(
                workspace.command(venv_tool(deploy_words), *deploy_words[1:]),
                {**env, "PREFECT_RUNNER_POLL_FREQUENCY": RUNNER_POLL_SECONDS},
                deployment_url,
                deploy_log,
                timeout=PREFECT_START_SECONDS,
            )
            stack.callback(servers.stop_process_group, deploy)
            deployment = httpx.get(deployment_url, timeout=30).json()
            assert [s["schedule"]["cron"] for s in deployment["schedules"]] == [cron]
            assert deployment["parameters"]["data_dir"] == "sample_data"
            assert deployment["parameters"]["out_dir"] == "artifacts/run"

            triggered = run_tool(workspace, run_words, env)
            flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", triggered.stdout)
            assert flow_run_id, triggered.stdout
            flow_run = wait_for_flow_run(api, flow_run_id[1], deploy, deploy_log)
            artifacts = httpx.post(
                f"{api}/artifacts/filter",
                json={"artifacts": {"flow_run_id": {"any_": [flow_run_id[1]]}}},
                timeout=30,
            ).json()

        message = flow_run["state"].get("message") or ""
        assert flow_run["state_type"] == "COMPLETED", f"{message}\n{log_tail(deploy_log)}"
        assert flow_run["deployment_id"] == deployment["id"]

        # The flow's summary artifact (what the Prefect UI shows) names the version it
        # registered; the workspace's MLflow store holds it, new since the test started (by
        # name, not by count: a run the 05:00 UTC schedule starts meanwhile registers one too).
        described = [
            re.fullmatch(rf"{MODEL_NAME} v(\d+): (\S+)", a.get("description") or "")
            for a in artifacts
        ]
        summaries = [match.groups() for match in described if match]
        assert len(summaries) == 1, artifacts
        number, decision = summaries[0]
        assert number not in versions_before
        shown = registry_show(workspace)
        version = next(v for v in shown["versions"] if v["version"] == number)
        assert version["status"] == "READY"
        assert version["decision"] == decision
        assert decision in {"promoted", "kept-staging"}, version
    finally:
        restore_production(workspace, trained["deployed"]["version"], shown)


def wait_for_flow_run(
    api: str, flow_run_id: str, deploy: subprocess.Popen, deploy_log: Path
) -> dict[str, Any]:
    """Poll the flow run (bounded) until it reaches a final state; the deploy process runs it."""
    deadline = time.monotonic() + FLOW_RUN_SECONDS
    while True:
        flow_run = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=30).json()
        if flow_run.get("state_type") in FINAL_STATES:
            return flow_run
        if deploy.poll() is not None:
            tail = log_tail(deploy_log)
            pytest.fail(f"python -m flows.deploy exited {deploy.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"flow run {flow_run_id} still {flow_run.get('state_type')} after "
                f"{FLOW_RUN_SECONDS} s:\n{log_tail(deploy_log)}"
            )
        time.sleep(0.2)
