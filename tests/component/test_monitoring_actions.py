"""Monitoring (CME) against a real MLflow store, a real Prefect flow and the running API.

One simulated chain (6 branches × 40 items × 150 days) is split by date: the first 110 days train
two versions with the ``run-pipeline`` flow (30 trees, a low gate, same data: version 2 ties with
version 1 and is promoted over it, recording it as the previous production version); the last 40
days are "the next period". A copy of that period with demand doubled and safety stock doubled
is the forced shift. The tests then go from "no drift" through dry run, rollback, fallback and
idempotency, and finally check that a running API falls back without a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pandas as pd
import pytest

from stockout_sk.config import MONITORING_EXPERIMENT, Settings
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.component

MODEL = "stockout-classifier"
START = pd.Timestamp("2024-01-01")
DAYS, NEW_DAYS = 150, 40
SPLIT = START + pd.Timedelta(days=DAYS - NEW_DAYS)
BIN = Path(sys.executable).parent


# --------------------------------------------------------------------------------------------------
# Data: one chain split by date, and a shifted copy of the later period
# --------------------------------------------------------------------------------------------------


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def split_chain(full: Path, split: pd.Timestamp, before: Path, after: Path) -> None:
    """Write the days before ``split`` and the days from it on as two chains of six CSVs.

    The later period keeps the snapshot (``stock_current`` at the end of the history); the
    earlier one gets a snapshot of the stock at the end of its last day, reconstructed from the
    full chain's flows exactly as the labels are.
    """
    from stockout_sk.ingest import load_chain
    from stockout_sk.labels import reconstruct_stock

    for folder in (before, after):
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("branches.csv", "item_master.csv", "employees.csv"):
            shutil.copy(full / name, folder / name)
    for name in ("stock_movement.csv", "sales_transactions.csv"):
        frame = _read(full / name)
        day = pd.to_datetime(frame["Date"]).dt.normalize()
        frame[day < split].to_csv(before / name, index=False)
        frame[day >= split].to_csv(after / name, index=False)
    shutil.copy(full / "stock_current.csv", after / "stock_current.csv")

    panel = reconstruct_stock(load_chain(full))
    last = panel.days.get_loc(split - pd.Timedelta(days=1))
    stock = pd.DataFrame(
        {
            "BranchID": panel.keys["BranchID"].to_numpy(),
            "ItemCode": panel.keys["ItemCode"].to_numpy(),
            "stock": panel.stock[:, last],
        }
    )
    current = _read(full / "stock_current.csv").merge(
        stock, on=["BranchID", "ItemCode"], how="left", validate="1:1"
    )
    current["CurrentQuantity"] = current.pop("stock").round().astype(int).astype(str)
    current["LastUpdatedAt"] = (split - pd.Timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    current.to_csv(before / "stock_current.csv", index=False)


def shift(source: Path, out: Path, *, demand: float = 2.0, safety: float = 2.0) -> Path:
    """A copy of ``source``: every sale times ``demand``, every safety stock times ``safety``."""
    shutil.copytree(source, out)
    sales = _read(out / "sales_transactions.csv")
    sales["QuantitySold"] = (sales["QuantitySold"].astype(float) * demand).round().astype(int)
    sales.to_csv(out / "sales_transactions.csv", index=False)
    current = _read(out / "stock_current.csv")
    current["SafetyStockLevel"] = (current["SafetyStockLevel"].astype(float) * safety).round(1)
    current.to_csv(out / "stock_current.csv", index=False)
    return out


@pytest.fixture(scope="module")
def chains(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("monitoring-chains")
    generate_chain(root / "full", branches=6, items=40, days=DAYS, seed=5, start=str(START.date()))
    split_chain(root / "full", SPLIT, root / "train", root / "next")
    return SimpleNamespace(
        train=root / "train", next=root / "next", shifted=shift(root / "next", root / "shifted")
    )


@pytest.fixture(scope="module")
def settings(
    prefect_harness: None, chains: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """A store where version 2 holds ``production`` and records version 1 as the previous one."""
    from flows.run_pipeline import run
    from stockout_sk import registry

    store = tmp_path_factory.mktemp("monitoring-mlflow")
    settings = Settings(
        tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
        model_name=MODEL,
        artifacts_dir=store / "artifacts",
    )
    for expected in ("1", "2"):
        summary = run(
            data_dir=str(chains.train),
            out_dir=str(tmp_path_factory.mktemp(f"run-{expected}")),
            model_overrides={"n_estimators": 30, "refit": False},  # one version per run
            min_f1=0.2,
            model_name=MODEL,
            tracking_uri=settings.tracking_uri,
        )
        assert (summary["version"], summary["decision"]) == (expected, "promoted"), summary
    shown = registry.show(settings)
    assert shown.aliases["production"] == "2"
    assert shown.versions[0].previous_production == "1"
    return settings


def _state(settings: Settings) -> dict[str, Any]:
    """What an action could change: aliases, serving mode, each version's decision tags."""
    from stockout_sk import registry

    shown = registry.show(settings)
    return {
        "aliases": shown.aliases,
        "serving_mode": shown.serving_mode,
        "versions": [(v.version, v.decision, v.reason) for v in shown.versions],
    }


def _monitoring_runs(settings: Settings) -> list[Any]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri)
    experiment = client.get_experiment_by_name(MONITORING_EXPERIMENT)
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


# --------------------------------------------------------------------------------------------------
# Tests, in the order they change the registry
# --------------------------------------------------------------------------------------------------


def test_next_period_of_the_same_chain_shows_no_drift(
    settings: Settings, chains: SimpleNamespace, tmp_path: Path
) -> None:
    import mlflow

    from stockout_sk.monitoring import run_cme

    before = _state(settings)
    report = run_cme(chains.next, settings=settings, out_dir=tmp_path / "report")

    print("PSI same family:", {k: round(v, 4) for k, v in report.psi.items()})
    assert report.decision in ("ok", "warn"), report.reasons
    assert not report.verdict.act_reasons
    assert max(report.psi.values()) < report.config.psi_warn, report.psi
    assert max(report.kl.values()) < report.config.kl_warn, report.kl
    assert report.action == "none"
    assert _state(settings) == before

    # Rolling windows on every matured day: 40 days, horizon 7 → 33 as-of days → 27 windows.
    assert report.data["first_asof"] == str(SPLIT.date())
    assert len(report.rolling) == 33 - 7 + 1
    latest = report.rolling[-1]
    assert latest.judged
    assert latest.f1 > latest.rule_f1
    assert report.holdout_f1 is not None
    assert report.holdout_f1 - latest.f1 < report.config.f1_margin
    # Scored as served: the model's history ends before the new period.
    assert report.data["history_end"] < report.data["first_asof"]
    assert report.data["staleness_days"]["min"] >= 1

    # Logged to MLflow, with the report as an artifact.
    run = mlflow.MlflowClient(tracking_uri=settings.tracking_uri).get_run(report.mlflow_run_id)
    assert run.data.tags["stockout.monitoring.decision"] == report.decision
    assert run.data.tags["stockout.monitoring.action"] == "none"
    assert run.data.metrics["psi.prediction"] == pytest.approx(report.psi["prediction"])
    assert run.data.metrics["psi.SafetyStockLevel"] == pytest.approx(0.0, abs=1e-9)
    assert "kl.velocity" in run.data.metrics
    assert run.data.params["model_version"] == "2"
    artifacts = mlflow.artifacts.list_artifacts(run_id=report.mlflow_run_id, artifact_path="report")
    names = {Path(a.path).name for a in artifacts}
    assert {"monitoring_report.html", "psi.png", "rolling_f1.png"} <= names
    page = report.report_path.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert "<td>days_of_cover</td>" in page


def test_cli_json_line(settings: Settings, chains: SimpleNamespace, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))},
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "STOCKOUT_MODEL_NAME": MODEL,
    }
    done = subprocess.run(
        [
            str(BIN / "stockout-sk"),
            "monitor",
            "--data",
            str(chains.shifted),
            "--dry-run",
            "--json",
            "--out",
            str(tmp_path / "cli"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"decision", "action", "reasons", "psi", "kl", "rolling", "report"} <= set(line)
    assert (line["decision"], line["action"], line["dry_run"]) == ("rollback", "none", True)
    assert line["psi"]["SafetyStockLevel"] >= 0.25
    assert set(line["rolling"][0]) >= {"window_end", "f1", "pr_auc"}
    assert line["report"] == str(tmp_path / "cli" / "monitoring_report.html")
    assert Path(line["report"]).is_file()
    assert "decision ROLLBACK" in done.stderr


def test_monitor_flow(prefect_harness: None, settings: Settings, chains: SimpleNamespace, tmp_path):
    from flows.monitor import run

    before = _state(settings)
    summary = run(
        data_dir=str(chains.next),
        dry_run=True,
        out_dir=str(tmp_path / "flow"),
        model_name=MODEL,
        tracking_uri=settings.tracking_uri,
    )
    assert summary["decision"] in ("ok", "warn")
    assert summary["model_version"] == "2"
    assert Path(summary["report"]).is_file()
    assert _state(settings) == before


def test_dry_run_changes_nothing(settings: Settings, chains: SimpleNamespace) -> None:
    from stockout_sk.monitoring import run_cme

    before = _state(settings)
    runs_before = len(_monitoring_runs(settings))
    report = run_cme(chains.shifted, settings=settings, dry_run=True)
    assert report.decision == "rollback"
    assert report.target_version == "1"
    assert report.action == "none"
    assert report.action_detail.startswith("dry run: would roll 'production' back from version 2")
    assert _state(settings) == before
    # A dry run logs no MLflow run ...
    assert report.mlflow_run_id is None
    assert len(_monitoring_runs(settings)) == runs_before
    # ... unless asked, and then it is marked as one.
    logged = run_cme(chains.shifted, settings=settings, dry_run=True, log_to_mlflow=True)
    assert logged.action == "none"
    runs = _monitoring_runs(settings)
    assert len(runs) == runs_before + 1
    assert runs[-1].info.run_id == logged.mlflow_run_id
    assert runs[-1].data.tags["stockout.monitoring.dry_run"] == "true"
    assert _state(settings) == before


def test_forced_shift_rolls_back_then_falls_back_then_does_nothing_new(
    settings: Settings, chains: SimpleNamespace
) -> None:
    from stockout_sk import registry
    from stockout_sk.monitoring import run_cme

    # 1. Version 2 breaches: production goes back to version 1.
    first = run_cme(chains.shifted, settings=settings)
    print("PSI shifted:", {k: round(v, 4) for k, v in first.psi.items()})
    assert (first.decision, first.action) == ("rollback", "rollback")
    assert first.psi["SafetyStockLevel"] >= first.config.psi_act
    assert first.psi["prediction"] >= first.config.psi_act
    assert any(r.startswith("drift of SafetyStockLevel") for r in first.verdict.act_reasons)
    state = registry.show(settings)
    assert (state.aliases["production"], state.serving_mode) == ("1", "model")
    demoted = next(v for v in state.versions if v.version == "2")
    assert demoted.decision == "rolled-back"
    assert f"monitoring run {first.mlflow_run_id}" in demoted.reason

    # 2. Version 1 breaches too and has nothing before it: serving falls back to the rule.
    second = run_cme(chains.shifted, settings=settings)
    assert (second.model_version, second.decision, second.action) == ("1", "fallback", "fallback")
    assert registry.get_serving_mode(settings) == "rule-baseline"
    assert registry.production_version(settings) == "1"

    # 3. The same state again: nothing new.
    before = _state(settings)
    third = run_cme(chains.shifted, settings=settings)
    assert (third.decision, third.action) == ("fallback", "none")
    assert "already on the rule baseline" in third.action_detail
    assert _state(settings) == before

    # 4. An operator switches serving back; the same evidence does not override them again.
    registry.set_serving_mode("model", settings, reason="operator: looked at it, keep serving")
    fourth = run_cme(chains.shifted, settings=settings)
    assert (fourth.decision, fourth.action) == ("fallback", "none")
    assert f"monitoring run {second.mlflow_run_id} already applied" in fourth.action_detail
    assert registry.get_serving_mode(settings) == "model"

    actions = [r.data.tags.get("stockout.monitoring.action") for r in _monitoring_runs(settings)]
    assert actions.count("rollback") == 1
    assert actions.count("fallback") == 1


# --------------------------------------------------------------------------------------------------
# The API honours the fallback switch without a restart
# --------------------------------------------------------------------------------------------------


def test_running_api_falls_back_when_monitoring_acts(
    serving_store, run_api, helpers, tmp_path: Path
) -> None:
    """Monitoring acts on the API's own store; the running server answers from the rule."""
    from stockout_sk import registry
    from stockout_sk.monitoring import run_cme

    # The serving chain (seed 3, 120 days from 2024-01-01) continued, with safety stock tripled.
    later = tmp_path / "later"
    generate_chain(later, branches=3, items=15, days=40, seed=3, start="2024-04-30")
    shifted = shift(later, tmp_path / "shifted", demand=1.0, safety=3.0)
    settings = replace(serving_store.registry_settings(), artifacts_dir=tmp_path / "artifacts")
    row = serving_store.rows[0]
    try:
        with run_api(serving_store.serving_settings()) as url, httpx.Client(base_url=url) as c:
            assert c.post("/predict", json=row).json()["source"] == "registry"
            # Earlier tests may have promoted version 2 over 1 and back: then the first act rolls
            # back to 2, and the next one — 1 was just rolled back — falls back.
            decisions = []
            for _ in range(2):
                report = run_cme(shifted, settings=settings)
                decisions.append((report.decision, report.action))
                if report.decision == "fallback":
                    break
            assert decisions[-1] == ("fallback", "fallback"), decisions
            assert registry.get_serving_mode(settings) == "rule-baseline"

            def answered_by_rule() -> dict[str, Any] | None:
                body = c.post("/predict", json=row).json()
                return body if body["source"] == "rule-baseline" else None

            body = helpers.wait_until(answered_by_rule, 30, "the API to serve the rule baseline")
            rule = int(row["CurrentQuantity"] < row["SafetyStockLevel"])
            assert (body["prediction"], body["model_version"]) == (rule, None)
            assert "serving mode 'rule-baseline'" in body["fallback_reason"]
    finally:
        # Back to the session's state for the other tests: version 1 serving.
        registry.promote("1", serving_store.registry_settings(), reason="monitoring test: restore")
    assert registry.get_serving_mode(serving_store.registry_settings()) == "model"
