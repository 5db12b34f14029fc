"""The acceptance suite's workspace: a clean folder holding a copy of ``sample_data/``.

Every command runs as a subprocess from that folder, as a user runs it after ``make setup``: the
embedded MLflow store (``mlflow.db`` + ``mlartifacts/``), Prefect's home and every report land
in the workspace, and no ``MLFLOW_*``/``STOCKOUT_*``/``PREFECT_*`` variable of the calling shell
leaks in. The main job runs once per session (:func:`trained`); the API runs once per session
(:func:`api_url`).

Run with ``--basetemp=DIR`` to keep the workspace (CI does, to keep the plots and reports).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _load_server_helpers() -> ModuleType:
    """The component suite's server helpers (bounded polls, process groups), reused as is.

    Test folders are not packages, so the module is loaded from its path; only its plain
    functions are used here (its fixtures stay the component suite's).
    """
    path = REPO / "tests" / "component" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_component_server_helpers", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the component suite's helpers from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_servers = _load_server_helpers()


@pytest.fixture(scope="session")
def servers() -> ModuleType:
    """The component suite's server helpers (``free_port``, ``subprocess_server``, ...)."""
    return _servers


@dataclass(frozen=True)
class Workspace:
    """A user's working folder: ``sample_data/`` copied in, commands run from here."""

    path: Path
    env: dict[str, str]

    def command(self, tool: str, *args: str) -> list[str]:
        """``tool ARGS`` (from this venv) started in the workspace.

        ``env -C`` changes directory and then execs the tool, so a server started this way is
        still the leader of its process group (the component helpers stop it by group).
        """
        return ["env", "-C", str(self.path), str(BIN / tool), *args]

    def log(self, name: str) -> Path:
        """Where a server's output goes (kept with the workspace)."""
        return self.path / f"{name}.log"

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> CommandResult:
        """Run ``stockout-sk ARGS`` here; with ``check``, fail with its output unless exit 0."""
        command = [str(BIN / "stockout-sk"), *args]
        done = subprocess.run(
            command,
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = CommandResult(command, done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{result.tail()}")
        return result


@dataclass(frozen=True)
class CommandResult:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """The ``--json`` payload: the last line on stdout."""
        lines = self.stdout.strip().splitlines()
        assert lines, f"no stdout from {self.command}:\n{self.tail()}"
        return json.loads(lines[-1])

    def tail(self, chars: int = 4000) -> str:
        return f"--- stdout\n{self.stdout[-chars:]}\n--- stderr\n{self.stderr[-chars:]}"


def clean_env(workdir: Path) -> dict[str, str]:
    """The caller's environment without the project's knobs; tools from this venv first."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLFLOW_", "STOCKOUT_", "PREFECT_"))
    }
    return {
        **env,
        # `mlflow models serve` starts `uvicorn` by name: the venv's bin must be on PATH, as it is
        # for a user who activated the venv (or in the Docker image).
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PREFECT_HOME": str(workdir / ".prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "MPLBACKEND": "Agg",
    }


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    path = tmp_path_factory.mktemp("workspace", numbered=False)
    shutil.copytree(REPO / "sample_data", path / "sample_data")
    return Workspace(path=path, env=clean_env(path))


@pytest.fixture(scope="session")
def trained(workspace: Workspace) -> dict[str, Any]:
    """``stockout-sk run --data sample_data --json`` (what ``make run`` runs), once."""
    result = workspace.run("run", "--data", "sample_data", "--out", "artifacts/run", "--json")
    return result.json()


@pytest.fixture(scope="session")
def api_url(workspace: Workspace, servers: ModuleType, trained: dict[str, Any]) -> Iterator[str]:
    """``stockout-sk serve`` on a free loopback port, from the workspace; ready when yielded."""
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    command = workspace.command("stockout-sk", "serve", "--host", "127.0.0.1", "--port", str(port))
    with servers.subprocess_server(command, workspace.env, f"{url}/ready", workspace.log("serve")):
        yield url


@pytest.fixture(scope="session")
def sample_rows(workspace: Workspace) -> list[dict[str, Any]]:
    """Real request rows: branch×items of ``stock_current.csv`` as of their snapshot day, and
    the same keys a week earlier (the six raw fields, JSON-ready)."""
    from stockout_sk.ingest import load_chain

    current = load_chain(workspace.path / "sample_data").stock_current
    week_before = (current["LastUpdatedAt"].max() - pd.Timedelta(days=7)).strftime("%Y-%m-%d")
    rows = [
        {
            "BranchID": str(r.BranchID),
            "ItemCode": str(r.ItemCode),
            "Date": r.LastUpdatedAt.strftime("%Y-%m-%d"),
            "CurrentQuantity": float(r.CurrentQuantity),
            "ReservedQuantity": float(r.ReservedQuantity),
            "SafetyStockLevel": float(r.SafetyStockLevel),
        }
        for r in current.iloc[::7].itertuples(index=False)
    ]
    return rows + [dict(row, Date=week_before) for row in rows[:10]]
