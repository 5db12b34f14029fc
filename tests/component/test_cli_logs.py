"""What a person sees when a run fails: the reason once, in one line, and where the full log is.

Reproduces the report of issue 17: ``stockout-sk train`` on a one-day history (real Prefect, its
temporary server started by the command, as a user runs it offline) printed one ``ValueError``
five times with two tracebacks, Prefect's INFO lines despite ``-q``, and ``ERROR … Failed to send
telemetry``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.component

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAY = "2024-07-28"
REASON = "not longer than the horizon 7: no label can mature"


@pytest.fixture(scope="module")
def one_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's exports cut to the sales and movements of its last day."""
    folder = tmp_path_factory.mktemp("one-day")
    sample = REPO / "sample_data"
    for name in ("item_master", "employees", "branches", "stock_current"):
        shutil.copy(sample / f"{name}.csv", folder / f"{name}.csv")
    for name in ("sales_transactions", "stock_movement"):
        frame = pd.read_csv(sample / f"{name}.csv", dtype=str, keep_default_na=False)
        frame[frame["Date"].str[:10] == DAY].to_csv(folder / f"{name}.csv", index=False)
    return folder


def _train(one_day: Path, workdir: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLFLOW_", "STOCKOUT_", "PREFECT_"))
    }
    env.update(
        PREFECT_HOME=str(workdir / ".prefect"),
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90",
        PYTHONPATH=str(REPO),
    )
    return subprocess.run(
        [str(BIN / "stockout-sk"), *flags, "train", "--data", str(one_day), "--out", "run"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _check_failure(done: subprocess.CompletedProcess[str], workdir: Path) -> list[str]:
    assert done.returncode == 1, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    # The reason once, on one line, then where the full log is.
    assert sum(REASON in line for line in lines) == 1, done.stderr
    error = next(i for i, line in enumerate(lines) if REASON in line)
    assert lines[error].startswith("error: the observed history has")
    assert lines[error + 1].startswith("full log: ")
    assert "Traceback" not in done.stderr
    assert "telemetry" not in done.stderr.lower()
    log = workdir / lines[error + 1].removeprefix("full log: ")
    assert log.parent == workdir / "run" / "logs"
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text  # everything is kept, in the file
    assert REASON in text
    return lines


def test_a_failed_quiet_run_says_why_once(one_day: Path, tmp_path: Path) -> None:
    """One run (Prefect's temporary server takes a while to start): ``-q``, which shows
    Prefect's ERROR records if they are not held back, and must hide its INFO lines.
    The default verbosity's console filter is covered by tests/unit/test_logs.py."""
    lines = _check_failure(_train(one_day, tmp_path, "-q"), tmp_path)
    logged = [line for line in lines if re.match(r"\d\d:\d\d:\d\d ", line)]
    assert logged  # the quarantined rows and the negative stock are warnings
    assert all(re.match(r"\d\d:\d\d:\d\d (WARNING|ERROR)", line) for line in logged), logged
    assert not any("Starting temporary server" in line for line in lines)
    assert not any("Finished in state" in line for line in lines)
