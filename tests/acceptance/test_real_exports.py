"""Real exports as a user meets them (issue #13): short histories, the windows, the backtest.

From the acceptance workspace (``sample_data/`` copied in, the CLI run as a subprocess):
exports of a few weeks train with the defaults or say what they lack, the window options and
their environment variables are honoured, and ``stockout-sk backtest`` writes its table, JSON and
plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Workspace

pytestmark = pytest.mark.acceptance

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL = ("--n-estimators", "20")


def _synth(workspace: Workspace, name: str, days: int) -> str:
    folder = workspace.path / name
    if not folder.exists():
        workspace.run(
            "synth", "--out", name, "--branches", "2", "--items", "8", "--days", str(days),
            "--seed", "4",
        )  # fmt: skip
    return name


def test_an_eight_week_export_trains_with_the_defaults(workspace: Workspace) -> None:
    data = _synth(workspace, "export-56", 56)
    result = workspace.run("evaluate", "--data", data, *SMALL, "--json")
    payload = result.json()
    windows = payload["windows"]
    assert windows["asof_days"] == 49
    assert windows["purge_days"] == 7
    assert windows["needed_days"] <= windows["asof_days"]
    assert payload["rows"]["holdout"] > 0
    assert "windows: holdout 8 (scaled)" in result.stderr
    assert "threshold" in result.stderr


def test_a_shorter_export_says_what_it_needs(workspace: Workspace) -> None:
    data = _synth(workspace, "export-45", 45)
    result = workspace.run("evaluate", "--data", data, *SMALL, check=False)
    assert result.returncode == 1, result.tail()
    assert "not enough history to train" in result.stderr
    assert "38 as-of day(s)" in result.stderr
    assert "at least 49 days" in result.stderr
    assert "--holdout-days" in result.stderr
    # Below the floors, on purpose: the user's sizes are used as given.
    forced = workspace.run(
        "evaluate", "--data", data, *SMALL, "--holdout-days", "5", "--validation-days", "5",
        "--json",
    ).json()  # fmt: skip
    assert (forced["windows"]["holdout_days"], forced["windows"]["validation_days"]) == (5, 5)


def test_window_options_and_their_environment_variables(workspace: Workspace) -> None:
    data = _synth(workspace, "export-90", 90)
    env = {**workspace.env, "STOCKOUT_HOLDOUT_DAYS": "10", "STOCKOUT_VALIDATION_DAYS": "8"}
    from_env = type(workspace)(path=workspace.path, env=env)
    payload = from_env.run("evaluate", "--data", data, *SMALL, "--json").json()
    assert payload["windows"]["holdout_days"] == 10
    assert payload["windows"]["validation_days"] == 8
    assert payload["windows"]["chosen"]["holdout_days"] == "set"
    # The option wins over the environment.
    option = from_env.run("evaluate", "--data", data, *SMALL, "--holdout-days", "12", "--json")
    assert option.json()["windows"]["holdout_days"] == 12
    bad_env = type(workspace)(path=workspace.path, env={**env, "STOCKOUT_HOLDOUT_DAYS": "zero"})
    failed = bad_env.run("evaluate", "--data", data, *SMALL, check=False)
    assert failed.returncode == 1
    assert "STOCKOUT_HOLDOUT_DAYS must be a whole number" in failed.stderr
    usage = workspace.run("train", "--data", data, "--holdout-days", "0", check=False)
    assert usage.returncode == 2
    assert "--holdout-days: must be a whole number ≥ 1, got '0'" in usage.stderr


def test_backtest_writes_a_table_a_json_summary_and_one_plot(workspace: Workspace) -> None:
    out = Path("artifacts/backtest")
    result = workspace.run(
        "backtest", "--data", "sample_data", "--folds", "2", *SMALL, "--out", str(out), "--json",
    )  # fmt: skip
    payload = result.json()
    assert [fold["fold"] for fold in payload["folds"]] == [1, 2]
    assert set(payload["models"]) == {"model", "plain", "velocity", "rule"}
    for fold in payload["folds"]:
        # Each fold scores its origin's morning list: every branch×item as of that day.
        assert fold["scored"] == [fold["origin"], fold["origin"]]
        assert fold["rows"] == 240
        assert fold["fit_rows"]["refit"] is True
        for block in fold["metrics"].values():
            assert {"pr_auc", "f1", "recall_at_top"} <= set(block)
    versus = payload["summary"]["versus"]
    assert set(versus) == {"plain", "velocity", "rule"}
    assert versus["plain"]["pr_auc"]["folds"] == 2
    assert "pipeline − plain LightGBM" in result.stdout
    folder = workspace.path / out
    assert (folder / "backtest.png").read_bytes()[:8] == PNG_SIGNATURE
    assert "plain LightGBM" in (folder / "backtest.md").read_text(encoding="utf-8")
    assert (folder / "backtest.json").stat().st_size > 1000
