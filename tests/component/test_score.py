"""The morning list from the registered production model: the CLI and the Prefect flow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.component

BIN = Path(sys.executable).parent


def _check_list(csv_path: Path, serving_store, version: str = "1") -> pd.DataFrame:
    from stockout_sk.ingest import load_chain

    frame = pd.read_csv(csv_path, dtype={"BranchID": str, "ItemCode": str, "as_of": str})
    current = load_chain(serving_store.chain_dir).stock_current
    assert len(frame) == len(current)
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    assert frame["probability"].is_monotonic_decreasing
    assert (frame["source"] == "registry").all()
    assert (frame["model_version"].astype(str) == version).all()
    rows = frame.rename(columns={"as_of": "Date"})[
        ["BranchID", "ItemCode", "Date", "CurrentQuantity", "ReservedQuantity", "SafetyStockLevel"]
    ].to_dict("records")
    # The CSV keeps 6 significant digits.
    np.testing.assert_allclose(
        frame["probability"], serving_store.proba(version, rows), rtol=1e-5, atol=1e-6
    )
    threshold = serving_store.pipelines[version][-1].threshold
    assert (
        frame["at_risk"].tolist() == (frame["probability"] >= threshold - 1e-6).astype(int).tolist()
    )
    # The reasons are the API's explain=true reasons, in a planner's words.
    explained = serving_store.explain(version, rows[:5])
    for k, entries in enumerate(explained):
        assert frame.loc[k, "reason_1"] == entries[0]["reason"]
    assert not frame["reason_1"].str.contains(r"[a-z]_[a-z]|\(raises|\(lowers").any()
    assert frame["days_of_cover"].notna().any()
    # The outlook: days to safety stock (0 when already below) and the shortfall.
    below = frame["headroom"] < 0
    assert (frame.loc[below, "days_to_safety_stock"] == 0).all()
    assert (frame["expected_shortfall"].dropna() >= 0).all()
    assert frame["expected_shortfall"].notna().any()
    return frame


def test_score_cli_writes_csv_and_html(serving_store, tmp_path: Path) -> None:
    out = tmp_path / "morning" / "list.csv"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))},
        "MLFLOW_TRACKING_URI": serving_store.tracking_uri,
    }
    done = subprocess.run(
        [
            str(BIN / "stockout-sk"),
            "score",
            "--data",
            str(serving_store.chain_dir),
            "--out",
            str(out),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["source"], summary["model_version"]) == ("registry", "1")
    assert summary["csv"] == str(out)
    frame = _check_list(out, serving_store)
    assert summary["at_risk"] == int(frame["at_risk"].sum())
    page = out.with_suffix(".html").read_text(encoding="utf-8")
    assert "version <b>1</b>" in page
    data = json.loads(
        page.split('<script type="application/json" id="morning-data">')[1].split("</script>")[0]
    )
    assert len(data["rows"]) == summary["rows"] == len(frame)
    assert sum(row[4] for row in data["rows"]) == summary["at_risk"]
    assert "at risk" in done.stderr
    # Run again: yesterday's list is not replaced without --force.
    again = subprocess.run(
        [
            str(BIN / "stockout-sk"),
            "score",
            "--data",
            str(serving_store.chain_dir),
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 1
    assert "already exist" in again.stderr
    assert "--force" in again.stderr


def test_score_cli_rejects_a_bad_out_path(serving_store, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(BIN / "stockout-sk"),
            "score",
            "--data",
            str(serving_store.chain_dir),
            "--out",
            str(tmp_path / "list.xlsx"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "--out must name a .csv or .html file" in done.stderr


def test_score_flow(prefect_harness, serving_store, tmp_path: Path) -> None:
    from flows.score import score

    out = tmp_path / "flow" / "morning_list.csv"
    summary = score(
        data_dir=str(serving_store.chain_dir),
        out=str(out),
        tracking_uri=serving_store.tracking_uri,
        model_name=serving_store.model_name,
    )
    assert (summary["source"], summary["model_version"]) == ("registry", "1")
    assert Path(summary["html"]).is_file()
    _check_list(out, serving_store)
