"""Bad settings stop a command before any work: nothing read, trained, stored or registered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Workspace

pytestmark = pytest.mark.acceptance

BIN = Path(sys.executable).parent
#: A refusal is immediate; anything near this means the command started working.
REFUSAL_SECONDS = 60


def _train(workspace: Workspace, cwd: Path, *args: str, **env: str):
    command = [str(BIN / "stockout-sk"), "train", "--data", str(workspace.path / "sample_data")]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env={**workspace.env, **env},
        capture_output=True,
        text=True,
        timeout=REFUSAL_SECONDS,
        check=False,
    )


def test_an_invalid_option_is_refused_at_once_naming_the_option(
    workspace: Workspace, tmp_path: Path
) -> None:
    done = _train(workspace, tmp_path, "--min-f1", "2")
    assert done.returncode == 2, done.stderr
    assert "argument --min-f1: must be a number in [0, 1], got '2'" in done.stderr
    assert not (tmp_path / "mlflow.db").exists()
    assert not (tmp_path / "artifacts").exists()


def test_an_invalid_environment_variable_is_refused_before_any_work_naming_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    done = _train(workspace, tmp_path, STOCKOUT_MIN_F1="2")
    assert done.returncode == 1, done.stderr
    assert "STOCKOUT_MIN_F1 must be a number in [0.0, 1.0], got '2'" in done.stderr
    assert "--min-f1" not in done.stderr
    # No run, no version: not even a store was created.
    assert not (tmp_path / "mlflow.db").exists()
    assert not (tmp_path / "artifacts").exists()
