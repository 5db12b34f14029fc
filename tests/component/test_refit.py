"""The deployed model learns from the latest weeks: the refit after the gate (issue #13).

Two runs of the real flow (real Prefect, real MLflow SQLite store) on one small chain:

1. the first version passes the gate; its refit on every matured row is registered as the next
   version and takes ``production``; the run keeps the evaluated version's holdout metrics;
2. the second run's candidate is compared with production's *evaluated* version re-scored on the
   new holdout, never with the refit (which trained on those rows).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from stockout_sk.config import Settings
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.component

MODEL = "stockout-refit-test"
OVERRIDES = {"n_estimators": 30}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    store = tmp_path_factory.mktemp("refit-mlflow")
    return Settings(tracking_uri=f"sqlite:///{store / 'mlflow.db'}", model_name=MODEL)


@pytest.fixture(scope="module")
def runs(
    prefect_harness: None, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    from flows.run_pipeline import run_pipeline

    chain_dir = tmp_path_factory.mktemp("refit-chain")
    generate_chain(chain_dir, branches=3, items=15, days=100, seed=2)
    # The second run sets its holdout through the flow's parameter (the CLI's --holdout-days).
    return {
        name: run_pipeline(
            data_dir=str(chain_dir),
            out_dir=str(tmp_path_factory.mktemp(name)),
            model_overrides=OVERRIDES,
            min_f1=0.2,
            model_name=MODEL,
            tracking_uri=settings.tracking_uri,
            holdout_days=holdout_days,
        )
        for name, holdout_days in (("first", None), ("second", 10))
    }


@pytest.fixture(scope="module")
def client(settings: Settings):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def test_the_refit_of_a_promoted_version_takes_production(runs, client) -> None:
    import mlflow

    first = runs["first"]
    assert first["decision"] == "promoted", first["reason"]
    assert first["version"] == "1"
    deployed = first["deployed"]
    assert deployed["version"] == "2"
    assert deployed["refit_of"] == "1"
    assert first["aliases"]["production"] == "2"

    evaluated = client.get_model_version(MODEL, "1").tags
    refit = client.get_model_version(MODEL, "2").tags
    assert evaluated["stockout.refit_version"] == "2"
    assert refit["stockout.refit_of"] == "1"
    assert refit["stockout.decision"] == "promoted"
    assert "refit of version 1 on every matured row" in refit["stockout.reason"]
    assert refit["stockout.previous_production"] == ""
    # The refit says which rows it was fitted on: every matured row, up to the latest.
    rows = deployed["fit_rows"]
    assert refit["stockout.fit_rows"] == str(rows["rows"])
    assert refit["stockout.fit_end"] == rows["end"] > evaluated["stockout.fit_end"]
    assert int(refit["stockout.fit_rows"]) > int(evaluated["stockout.fit_rows"])
    run = client.get_run(first["run_id"])
    assert run.data.params["window_holdout_days"] == str(first["windows"]["holdout_days"])
    # The holdout metrics stay the evaluated version's, on the run and on both versions.
    assert run.data.metrics["model_f1"] == pytest.approx(first["metrics"]["f1"])
    assert refit["stockout.holdout.f1"] == evaluated["stockout.holdout.f1"]
    assert run.data.tags["stockout.refit_version"] == "2"
    # Both pipelines are logged under the one run; each carries the cut chosen on its own first
    # morning list (the evaluated one: the holdout's first day; the refit: the snapshot).
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        output_format="list",
    )
    assert sorted(m.name for m in models) == ["model", "model-refit"]
    pipelines = {v: mlflow.sklearn.load_model(f"models:/{MODEL}/{v}") for v in ("1", "2")}
    assert pipelines["1"][-1].threshold == pytest.approx(float(evaluated["stockout.threshold"]))
    assert pipelines["2"][-1].threshold == pytest.approx(float(refit["stockout.threshold"]))
    assert refit["stockout.threshold_method"] == "expected"
    assert "chosen on the morning list of" in refit["stockout.reason"]
    record = mlflow.artifacts.load_dict(
        f"{run.info.artifact_uri}/model-refit/threshold_validation.json"
    )
    assert record["threshold"] == pytest.approx(pipelines["2"][-1].threshold)
    # The snapshot's day: the export's last, a horizon after the last matured row.
    assert record["morning"]["as_of"] > rows["end"]
    assert f"morning list of {record['morning']['as_of']}" in refit["stockout.reason"]


def test_the_gate_rescores_production_s_evaluated_version_not_its_refit(runs, client) -> None:
    import mlflow

    second = runs["second"]
    assert second["version"] == "3"
    assert second["windows"]["holdout_days"] == 10
    assert second["windows"]["chosen"]["holdout_days"] == "set"
    params = client.get_run(second["run_id"]).data.params
    assert params["window_holdout_days"] == "10"
    assert (
        client.get_run(second["run_id"])
        .data.tags["stockout.windows"]
        .startswith("windows: holdout 10 (set)")
    )
    assert client.get_model_version(MODEL, "3").tags["stockout.compared_with"] == "2"
    production_f1 = float(client.get_model_version(MODEL, "3").tags["stockout.production_f1"])
    holdout = pd.read_csv(
        mlflow.artifacts.download_artifacts(
            run_id=second["run_id"], artifact_path="predictions/holdout.csv"
        ),
        dtype={"BranchID": str, "ItemCode": str},
    )
    X, y = holdout.drop(columns=["label", "proba"]), holdout["label"].to_numpy()

    def f1(version: str) -> float:
        from stockout_sk.evaluate import classification_metrics

        pipeline = mlflow.sklearn.load_model(f"models:/{MODEL}/{version}")
        proba = pipeline.predict_proba(X)[:, 1]
        return classification_metrics(y, proba, threshold=pipeline[-1].threshold)["f1"]

    assert production_f1 == pytest.approx(f1("1"), rel=1e-5)
    # The refit has trained on these rows: its F1 here is not the one compared.
    assert not np.isclose(f1("2"), f1("1"))
    if second["decision"] == "promoted":
        assert second["deployed"]["version"] == "4"
        assert client.get_model_version(MODEL, "4").tags["stockout.previous_production"] == "2"
