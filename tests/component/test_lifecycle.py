"""The model lifecycle against a real MLflow SQLite store and a real (temporary) Prefect server.

One small synthetic chain and one store per module; the flow runs three times:

1. a good model (60 trees) on an empty registry → ``production``;
2. a deliberately bad model (no split can satisfy ``min_child_samples``, so it scores every row
   alike) → stays ``staging``: worse than production re-scored on the same holdout;
3. the good configuration under a gate it cannot reach (``min_f1=0.99``), as the first version of
   another registered model → never promoted, although there is nothing to compare with.

The tests then read what the runs left behind, and exercise rollback, manual promotion and the
serving-mode switch on that registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stockout_sk.config import ModelConfig, Settings
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.component

MODEL = "stockout-classifier"
GATE_MODEL = "stockout-gate-test"
#: Low enough for a 60-tree model on a tiny chain; the gate itself is tested with 0.99.
LOW_GATE = 0.2
#: One version per run: the refit after the gate has its own test (test_refit.py).
GOOD = {"n_estimators": 60, "refit": False}
#: No leaf can hold 10^6 rows: LightGBM grows no split and every row gets the base rate.
BAD = {"n_estimators": 60, "min_child_samples": 1_000_000, "refit": False}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("chain")
    generate_chain(out, branches=3, items=15, days=120, seed=1)
    return out


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    store = tmp_path_factory.mktemp("mlflow")
    return Settings(tracking_uri=f"sqlite:///{store / 'mlflow.db'}", model_name=MODEL)


@pytest.fixture(scope="module")
def runs(
    prefect_harness: None,
    chain_dir: Path,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, Any]]:
    from flows.run_pipeline import run_pipeline

    def flow(
        out: str,
        overrides: dict[str, Any],
        min_f1: float,
        model_name: str = MODEL,
        log_checkpoints: bool = False,
    ):
        folder = tmp_path_factory.mktemp(out)
        summary = run_pipeline(
            data_dir=str(chain_dir),
            out_dir=str(folder),
            model_overrides=overrides,
            min_f1=min_f1,
            model_name=model_name,
            tracking_uri=settings.tracking_uri,
            log_checkpoints=log_checkpoints,
        )
        return {**summary, "out_dir": folder}

    return {
        "good": flow("good", GOOD, LOW_GATE, log_checkpoints=True),
        "bad": flow("bad", BAD, LOW_GATE),
        "gated": flow("gated", GOOD, 0.99, model_name=GATE_MODEL),
    }


@pytest.fixture(scope="module")
def client(settings: Settings):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def _tags(client, name: str, version: str, run_id: str) -> tuple[dict, dict]:
    return client.get_model_version(name, version).tags, client.get_run(run_id).data.tags


def test_first_good_model_becomes_production(runs, client) -> None:
    good = runs["good"]
    assert good["decision"] == "promoted"
    assert good["version"] == "1"
    assert good["aliases"] == {"production": "1", "staging": "1"}
    assert "no production version yet" in good["reason"]
    version_tags, run_tags = _tags(client, MODEL, "1", good["run_id"])
    for tags in (version_tags, run_tags):
        assert tags["stockout.decision"] == "promoted"
        assert tags["stockout.reason"] == good["reason"]
    # The summary carries evaluate's blocks, model and both baselines.
    assert set(good["metrics"]) == {
        "f1",
        "precision",
        "recall",
        "pr_auc",
        "roc_auc",
        "brier",
        "threshold",
    }
    assert set(good["baselines"]) == {"rule", "velocity"}
    json.dumps({k: v for k, v in good.items() if k != "out_dir"}, allow_nan=False)


def test_run_holds_params_metrics_reports_and_one_model(runs, client, settings) -> None:
    import mlflow

    run = client.get_run(runs["good"]["run_id"])
    assert run.data.params["n_estimators"] == "60"
    assert run.data.params["horizon"] == "7"
    assert "data_dir" in run.data.params
    for key in (
        "model_f1",
        "baseline_rule_f1",
        "baseline_velocity_f1",
        "dataset_rows",
        "dataset_label_rate",
        "train_rows",
        "holdout_rows",
        "duration_fit_s",
    ):
        assert key in run.data.metrics, key
    assert run.data.metrics["model_f1"] == pytest.approx(runs["good"]["metrics"]["f1"])

    def listed(path: str) -> set[str]:
        return {Path(a.path).name for a in client.list_artifacts(run.info.run_id, path)}

    assert {"summary.json", "summary.md", "pr_curve.png"} <= listed("evaluation")
    assert listed("validation") == {"validation_report.json"}
    assert listed("dataset") == {"dataset_report.json"}
    assert listed("reference") == {"reference.json"}
    assert listed("predictions") == {"holdout.csv"}
    # Checkpoints are logged only when asked for (the good run asked, the bad one did not), and
    # a finished fit that was not asked deletes its own.
    assert any(name.endswith("-000050.txt") for name in listed("checkpoints"))
    bad = client.get_run(runs["bad"]["run_id"])
    assert not client.list_artifacts(bad.info.run_id, "checkpoints")
    assert not list((runs["bad"]["out_dir"] / "checkpoints").glob("ckpt-*.txt"))

    reference = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/reference/reference.json")
    assert set(reference["features"]) >= {"CurrentQuantity", "velocity", "days_since_inflow"}
    # The reference is the holdout, scored exactly as served (see registry.log_training).
    assert reference["rows"] == run.data.metrics["holdout_rows"]
    prediction = reference["prediction"]
    assert len(prediction["edges"]) == len(prediction["proportions"]) + 1
    assert sum(prediction["proportions"]) == pytest.approx(1.0)

    # The model is logged once, under the run, and registered once.
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        output_format="list",
    )
    assert [m.name for m in models] == ["model"]
    versions = client.search_model_versions(f"run_id = '{run.info.run_id}'")
    assert [str(v.version) for v in versions] == ["1"]


def test_worse_model_stays_staging_with_reason(runs, client) -> None:
    good, bad = runs["good"], runs["bad"]
    assert bad["version"] == "2"
    assert bad["decision"] == "kept-staging"
    assert bad["metrics"]["f1"] < good["metrics"]["f1"]
    assert bad["metrics"]["f1"] >= LOW_GATE, (
        "the bad model must fail on the comparison, not the gate"
    )
    assert "worse than production version 1" in bad["reason"]
    assert bad["aliases"] == {"production": "1", "staging": "2"}
    version_tags, run_tags = _tags(client, MODEL, "2", bad["run_id"])
    for tags in (version_tags, run_tags):
        assert tags["stockout.decision"] == "kept-staging"
        assert tags["stockout.reason"] == bad["reason"]
        assert tags["stockout.compared_with"] == "1"
        # Production re-scored on the same holdout reproduces its own holdout F1.
        assert float(tags["stockout.production_f1"]) == pytest.approx(good["metrics"]["f1"])


def test_model_below_the_gate_is_never_promoted(runs, client, settings) -> None:
    from stockout_sk import registry

    gated = runs["gated"]
    assert gated["decision"] == "kept-staging"
    assert gated["metrics"]["f1"] < 0.99
    assert "below the promotion gate" in gated["reason"]
    assert gated["aliases"] == {"production": None, "staging": "1"}
    gate_settings = replace(settings, model_name=GATE_MODEL)
    assert registry.production_version(gate_settings) is None
    with pytest.raises(registry.NoProductionModelError, match="no version with alias"):
        registry.load_production(gate_settings)
    version_tags, run_tags = _tags(client, GATE_MODEL, "1", gated["run_id"])
    assert version_tags["stockout.decision"] == run_tags["stockout.decision"] == "kept-staging"


def test_rollback_moves_production_back(runs, settings, client) -> None:
    from stockout_sk import registry

    assert registry.production_version(settings) == "1"
    promoted = registry.promote("2", settings)
    assert promoted.previous_production == "1"
    assert promoted.aliases["production"] == "2"
    assert client.get_model_version(MODEL, "2").tags["stockout.reason"] == "manual"

    back = registry.rollback(settings)
    assert back.from_version == "2"
    assert back.to_version == "1"
    assert registry.production_version(settings) == "1"
    version_tags, run_tags = _tags(client, MODEL, "2", runs["bad"]["run_id"])
    assert version_tags["stockout.decision"] == run_tags["stockout.decision"] == "rolled-back"

    # Version 1 was the first production version, and 2 was rolled back from: nothing to
    # return to (an undo of the last move would re-install version 2).
    with pytest.raises(
        registry.NoPreviousProductionError, match="no earlier production version qualifies"
    ) as refused:
        registry.rollback(settings)
    assert "version 2: was rolled back from" in str(refused.value)
    with pytest.raises(ValueError, match="has no version '99'"):
        registry.promote("99", settings)

    shown = registry.show(settings)
    assert shown.aliases == {"production": "1", "staging": "2"}
    assert [v.version for v in shown.versions] == ["2", "1"]
    assert shown.versions[0].decision == "rolled-back"


def test_serving_mode_round_trip(runs, settings) -> None:
    from stockout_sk import registry

    assert registry.get_serving_mode(settings) == "model"
    registry.set_serving_mode("rule-baseline", settings, reason="drift, nothing to roll back to")
    assert registry.get_serving_mode(settings) == "rule-baseline"
    assert registry.show(settings).serving_mode == "rule-baseline"
    with pytest.raises(ValueError, match="serving mode must be one of"):
        registry.set_serving_mode("random", settings)
    # A promotion hands serving back to the model.
    registry.promote(registry.production_version(settings), settings)
    assert registry.get_serving_mode(settings) == "model"


def test_load_production_metadata(runs, settings) -> None:
    from stockout_sk import registry

    production = registry.load_production(settings)
    version = production.version
    summary = runs["good"] if version == "1" else runs["bad"]
    assert production.run_id == summary["run_id"]
    assert production.horizon == 7
    assert production.threshold == pytest.approx(summary["metrics"]["threshold"])
    assert production.metrics["f1"] == pytest.approx(summary["metrics"]["f1"], rel=1e-5)
    assert production.trained_at
    assert "pipeline" not in production.metadata()


def test_production_model_loads_in_a_fresh_process(runs, settings, client, tmp_path) -> None:
    """``models:/…@production`` in a new interpreter gives the training-time probabilities."""
    import mlflow

    version = client.get_model_version_by_alias(MODEL, "production")
    csv = mlflow.artifacts.download_artifacts(
        run_id=version.run_id,
        artifact_path="predictions/holdout.csv",
        dst_path=str(tmp_path),
        tracking_uri=settings.tracking_uri,
    )
    expected = pd.read_csv(csv, dtype={"BranchID": str, "ItemCode": str, "Date": str})
    rows = tmp_path / "rows.json"
    expected.drop(columns=["label", "proba"]).to_json(rows, orient="records")
    out = tmp_path / "proba.json"
    script = textwrap.dedent(
        f"""
        import json, sys
        import mlflow, pandas as pd
        mlflow.set_tracking_uri({settings.tracking_uri!r})
        model = mlflow.pyfunc.load_model("models:/{MODEL}@production")
        rows = pd.read_json({str(rows)!r}, orient="records", convert_dates=False,
                            dtype={{"BranchID": str, "ItemCode": str, "Date": str}})
        proba = model.predict(rows)
        package = sys.modules["stockout_sk"].__file__
        with open({str(out)!r}, "w") as fh:
            json.dump({{"proba": [float(p) for p in proba[:, 1]], "package": package}}, fh)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # Run from a folder where `stockout_sk` is not importable from the working directory, so the
    # package must come from the model's code_paths (or the installed distribution).
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(out.read_text())
    np.testing.assert_allclose(got["proba"], expected["proba"].to_numpy(), rtol=0, atol=1e-9)
    # The package shipped with the model (code_paths) is what the fresh process imported.
    assert Path(got["package"]).parts[-3:-1] == ("code", "stockout_sk"), got["package"]


def test_fitted_pipeline_needs_only_reviewed_trusted_types(chain_dir: Path) -> None:
    import skops.io

    from stockout_sk import registry
    from stockout_sk.ingest import load_chain
    from stockout_sk.training import fit_model, prepare

    for prefix_ok in registry.TRUSTED_TYPES:
        assert prefix_ok.startswith(registry.TRUSTED_TYPE_PREFIXES) or prefix_ok in (
            "collections.OrderedDict",
        ), f"{prefix_ok} is outside the packages the pipeline is built from"

    chain = load_chain(chain_dir)
    # Resampling forced on (minority share is ~20 % < 50 %) so the sampler's fitted state is
    # serialised too.
    config = ModelConfig(n_estimators=5, minority_threshold=0.5, sampling_strategy="over")
    fitted = fit_model(prepare(chain, config).train, chain, config, checkpoint_dir=None)
    assert fitted.pipeline.named_steps["sampler"].applied_
    found = skops.io.get_untrusted_types(data=skops.io.dumps(fitted.pipeline))
    assert set(found) <= set(registry.TRUSTED_TYPES), set(found) - set(registry.TRUSTED_TYPES)
    assert registry.untrusted_types(fitted.pipeline) == []
