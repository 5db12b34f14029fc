"""Training on a real Dask LocalCluster gives the single-process results, and one plain model.

Two worker processes, one thread each (the ``dask_client`` fixture, started once per session),
on tiny simulated chains. The labelled table and the feature matrix are identical to one
process's; the model is equivalent (LightGBM's data-parallel histograms and the per-partition
sampling draws differ), within the tolerance below on the same holdout.
"""

from __future__ import annotations

import codecs
import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.component

from stockout_sk.config import ModelConfig  # noqa: E402
from stockout_sk.distributed import (  # noqa: E402
    RowWindow,
    SamplingPlan,
    fit_on_cluster,
    prepare_on_cluster,
)
from stockout_sk.distributed.matrix import part_matrix  # noqa: E402
from stockout_sk.distributed.training import _context  # noqa: E402
from stockout_sk.features import combine_parts  # noqa: E402
from stockout_sk.ingest import load_chain  # noqa: E402
from stockout_sk.pipeline import build_pipeline  # noqa: E402
from stockout_sk.training import evaluate_fitted, fit_model, prepare, split_xy  # noqa: E402

#: The distributed model's holdout PR-AUC and F1 stay this close to one process's.
PR_AUC_TOLERANCE = 0.03
F1_TOLERANCE = 0.05
CONFIG = ModelConfig(n_estimators=40, checkpoint_dir="unused")


@pytest.fixture(scope="module")
def chain_dir(tmp_path_factory) -> Path:
    from stockout_sk.synth import generate_chain

    path = tmp_path_factory.mktemp("dask-chain")
    generate_chain(path, branches=4, items=15, days=150, seed=7)
    return path


@pytest.fixture(scope="module")
def chain(chain_dir):
    return load_chain(chain_dir)


@pytest.fixture(scope="module")
def on_cluster(dask_client, chain):
    return prepare_on_cluster(dask_client, chain, CONFIG, n_parts=3)


@pytest.fixture(scope="module")
def fitted_both(dask_client):
    """Both fits on the sample chain (240 keys): the tiny chain's 1,260 holdout rows move PR-AUC
    by more than the tolerance from one seed to the next, whatever trains the model."""
    chain = load_chain(Path(__file__).resolve().parents[2] / "sample_data")
    config = CONFIG.with_overrides(n_estimators=60)
    prepared_d, parts = prepare_on_cluster(dask_client, chain, config)
    distributed = fit_on_cluster(dask_client, parts, prepared_d, chain, config)
    prepared = prepare(chain, config)
    single = fit_model(prepared.train, chain, config, checkpoint_dir=None)
    return prepared, single, distributed


def _insert_after(path: Path, offset: int, text: str, encoding: str = "utf-8") -> None:
    """``text`` inserted after the line holding byte ``offset`` of ``path`` (in ``encoding``)."""
    data = path.read_bytes()
    newline = "\n".encode(encoding)
    at = data.index(newline, offset) + len(newline)
    path.write_bytes(data[:at] + text.encode(encoding) + data[at:])


def test_ingestion_in_blocks_gives_the_same_chain_report_and_rejects(dask_client, tmp_path) -> None:
    from stockout_sk.distributed import load_chain_on_cluster
    from stockout_sk.synth import generate_chain

    data = tmp_path / "messy"
    generate_chain(data, branches=3, items=10, days=90, seed=4, messy=True)
    # A MovementID exported twice, the copy spans away from the original; the file in UTF-16
    # with semicolons (two-byte line feeds to cut at).
    movements = data / "stock_movement.csv"
    lines = movements.read_text("utf-8").splitlines(keepends=True)
    text = "".join([*lines, lines[1]]).replace(",", ";")
    movements.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    # Records whose quoted name holds line breaks across the first cut (about 20,000 bytes in).
    note = "".join(
        f"\n  shelf {i}: gift boxes and the spare cartons of last week" for i in range(8)
    )
    moved = f'MV09000001;2024-02-01;WH01;W;001;B;ITM0001;"Coffee{note}";5\n'
    _insert_after(movements, 19_800, moved, "utf-16-le")
    unbalanced = 'MV09000002;2024-02-02;WH01;"W;001;B;ITM0001;unbalanced;5\n'
    _insert_after(movements, 50_000, unbalanced, "utf-16-le")
    sales = data / "sales_transactions.csv"
    _insert_after(sales, 19_800, f'2024-02-01,001,Riyadh Olaya,INV-M,ITM0001,"Coffee{note}",2\n')
    header = sales.read_bytes().decode("utf-8-sig").splitlines()[0]
    _insert_after(sales, 60_000, f"{header}\n\n")  # files concatenated; a blank line
    _insert_after(sales, 90_000, "2031-02-01,001,Riyadh Olaya,INV-F,ITM0001,x,1\n")  # typo
    _insert_after(sales, 120_000, "2024-04-20,001,Riyadh Olaya,INV-A,ITM0001,x,1\n")  # late
    _insert_after(sales, 150_000, "2021-02-01,001,Riyadh Olaya,INV-O,ITM0001,x,1\n")  # cut off

    one = load_chain(data, out_dir=tmp_path / "one", horizon=7, today="2024-06-01")
    blocks = load_chain_on_cluster(
        dask_client,
        data,
        out_dir=tmp_path / "blocks",
        block_bytes=20_000,
        horizon=7,
        today="2024-06-01",
    )
    assert movements.stat().st_size > 2 * 20_000  # several blocks per transaction file
    reasons = " | ".join(one.report.files["sales_transactions.csv"].reasons)
    for what in ("header repeated at line", "after today", "after the stock snapshot", "cut off"):
        assert what in reasons
    assert "unbalanced quote" in " ".join(one.report.files["stock_movement.csv"].reasons)
    codes = {(f.file, f.code) for f in one.report.findings}
    for file in ("stock_movement.csv", "sales_transactions.csv"):
        assert (file, "multiline_records") in codes
    for table in ("stock_current", "flows", "transfers", "branches", "items", "employees"):
        pd.testing.assert_frame_equal(getattr(blocks, table), getattr(one, table))
    assert (blocks.history_start, blocks.history_end) == (one.history_start, one.history_end)
    expected, got = one.report.to_dict(), blocks.report.to_dict()
    for report in (expected, got):
        for file in report["files"].values():
            file.pop("rejects_path")
    assert got == expected
    assert expected["files"]["stock_movement.csv"]["duplicates"] >= 1
    for name in ("stock_movement.csv", "sales_transactions.csv"):
        read = [
            pd.read_csv(root / "rejects" / name, dtype=str, keep_default_na=False)
            .sort_values("line", key=lambda s: s.astype(int), kind="stable")
            .reset_index(drop=True)
            for root in (tmp_path / "one", tmp_path / "blocks")
        ]
        assert len(read[0]) > 0
        pd.testing.assert_frame_equal(read[1], read[0])
    assert json.loads((tmp_path / "blocks" / "validation_report.json").read_text())["reconciled"]


def test_labelled_table_and_split_are_identical(chain, on_cluster) -> None:
    prepared_d, parts = on_cluster
    prepared = prepare(chain, CONFIG)
    assert parts.n_parts == 3
    pd.testing.assert_frame_equal(prepared_d.dataset.frame, prepared.dataset.frame)
    assert prepared_d.dataset.report == prepared.dataset.report
    assert np.array_equal(prepared_d.split.train, prepared.split.train)
    assert np.array_equal(prepared_d.split.holdout, prepared.split.holdout)


def test_feature_matrix_and_carried_history_are_identical(dask_client, chain, on_cluster) -> None:
    prepared_d, parts = on_cluster
    train = prepared_d.train
    template = build_pipeline(CONFIG, checkpoint_dir=None)
    steps = template[1:-1]
    window = RowWindow(last=prepared_d.split.cutoff)
    futures = dask_client.map(
        part_matrix,
        parts.parts,
        parts.labelled,
        feature_steps=steps,
        context=_context(chain, train, None),
        window=window,
        plan=SamplingPlan(applied=False),
        pure=False,
    )
    results = dask_client.gather(futures)
    labelled = dask_client.gather(parts.labelled)

    X, _ = split_xy(train)
    expected = steps.fit_transform(
        X, history__flows=chain.flows, history__transfers=chain.transfers
    )
    position = pd.MultiIndex.from_frame(X[["Date", "BranchID", "ItemCode"]])
    for table, result in zip(labelled, results, strict=True):
        rows = window.select(table)
        where = position.get_indexer(
            pd.MultiIndex.from_frame(rows[["Date", "BranchID", "ItemCode"]])
        )
        assert (where >= 0).all()
        assert np.array_equal(result.matrix, expected[where], equal_nan=True)
    assert sum(len(r.y) for r in results) == len(X)

    whole = steps.named_steps["history"]
    combined = combine_parts([r.steps.named_steps["history"] for r in results])
    fitted = {k: v for k, v in vars(whole).items() if not k.startswith("_")}
    assert set(fitted) == {k for k in vars(combined) if not k.startswith("_")}
    for name, value in fitted.items():
        assert np.array_equal(np.asarray(value), np.asarray(getattr(combined, name))), name


def test_model_quality_is_within_tolerance_of_one_process(fitted_both) -> None:
    prepared, single, distributed = fitted_both
    report_d = evaluate_fitted(distributed, prepared).model
    report_s = evaluate_fitted(single, prepared).model
    assert abs(report_d["pr_auc"] - report_s["pr_auc"]) <= PR_AUC_TOLERANCE, (report_d, report_s)
    assert abs(report_d["f1"] - report_s["f1"]) <= F1_TOLERANCE, (report_d, report_s)
    # One pipeline, the same steps, the classifier carrying its threshold.
    assert [n for n, _ in distributed.pipeline.steps] == [n for n, _ in single.pipeline.steps]
    classifier = distributed.pipeline.named_steps["classifier"]
    assert type(classifier).__name__ == "StockoutClassifier"
    assert classifier.threshold == distributed.threshold
    assert classifier.booster_.num_trees() == 60
    # Names no checkpoint: the registry logs the checkpoints of a fit by its fingerprint.
    assert classifier.fingerprint_.startswith("dask-")


def test_training_succeeds_when_lightgbms_default_port_is_taken(dask_client, chain) -> None:
    # lightgbm.dask's default listen port: a fit that fixed it would fail to bind.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 12400))
        taken.listen()
        prepared, parts = prepare_on_cluster(dask_client, chain, CONFIG, n_parts=2)
        fitted = fit_on_cluster(dask_client, parts, prepared, chain, CONFIG)
    X, _ = split_xy(prepared.holdout.head(5))
    assert fitted.pipeline.predict_proba(X).shape == (5, 2)


def test_a_worker_that_holds_no_data_is_left_out(dask_client, chain) -> None:
    prepared, parts = prepare_on_cluster(dask_client, chain, CONFIG, n_parts=1)
    holders = {w for ws in dask_client.who_has(parts.labelled).values() for w in ws}
    workers = set(dask_client.scheduler_info(n_workers=-1)["workers"])
    assert len(holders) == 1
    assert len(workers) == 2
    fitted = fit_on_cluster(dask_client, parts, prepared, chain, CONFIG)
    report = evaluate_fitted(fitted, prepared).model
    assert report["pr_auc"] > 0.5


_LOAD_WITHOUT_DASK = """
import json, sys
sys.modules["dask"] = None  # import dask -> ImportError, and so for every dask.* module
import mlflow, pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.sklearn.load_model(sys.argv[2])
rows = pd.DataFrame(json.loads(sys.argv[3]))
rows["Date"] = pd.to_datetime(rows["Date"])
print(json.dumps(model.predict_proba(rows)[:, 1].tolist()))
assert not any(m == "dask" or m.startswith("dask.") for m, v in sys.modules.items() if v)
"""


def test_flow_on_the_cluster_logs_one_model_that_needs_no_dask(
    prefect_harness, dask_client, chain_dir, tmp_path, run_api, helpers
) -> None:
    import httpx
    import mlflow

    from flows.run_pipeline import run_pipeline
    from stockout_sk.config import ServingSettings, Settings

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    summary = run_pipeline(
        data_dir=str(chain_dir),
        out_dir=str(tmp_path / "run"),
        tracking_uri=uri,
        model_name="dask-model",
        min_f1=0.0,
        model_overrides={"n_estimators": 30},
        dask=dask_client.scheduler.address,
        encoding="utf-8",  # the CSV options reach the workers
        delimiter=",",
    )
    assert summary["timings"]["cluster"] > 0
    assert "fit" in summary["timings"]
    ingested = json.loads((tmp_path / "run" / "ingest" / "validation_report.json").read_text())
    assert {f["delimiter"] for f in ingested["files"].values()} == {","}
    # A promoted version is deployed refitted on every matured row (also fitted on the cluster):
    # the API serves that one.
    deployed = summary["deployed"]
    served = deployed["version"] if deployed else summary["version"]
    if deployed:
        assert deployed["refit_of"] == summary["version"]
        assert "refit" in summary["timings"]
    mlflow.set_tracking_uri(uri)
    for version in {summary["version"], served}:
        local = mlflow.artifacts.download_artifacts(
            f"models:/dask-model/{version}", dst_path=str(tmp_path / f"model-{version}")
        )
        requirements = (Path(local) / "requirements.txt").read_text().lower()
        assert "dask" not in requirements
        assert "distributed" not in requirements
    model_uri = f"models:/dask-model/{served}"

    rows = [
        {
            "BranchID": "B01",
            "ItemCode": "ITM0001",
            "Date": "2024-05-20",
            "CurrentQuantity": 3.0,
            "ReservedQuantity": 1.0,
            "SafetyStockLevel": 8.0,
        },
        {
            "BranchID": "B02",
            "ItemCode": "ITM0003",
            "Date": "2024-05-21",
            "CurrentQuantity": 90.0,
            "ReservedQuantity": 0.0,
            "SafetyStockLevel": 10.0,
        },
    ]
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_WITHOUT_DASK, uri, model_uri, json.dumps(rows)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    without_dask = json.loads(done.stdout.strip().splitlines()[-1])

    settings = ServingSettings(
        registry=Settings(tracking_uri=uri, model_name="dask-model"),
        alias="staging" if summary["decision"] != "promoted" else "production",
        poll_seconds=0.0,
        startup_wait_seconds=120,
    )
    with run_api(settings) as url:
        answers = [httpx.post(f"{url}/predict", json=row, timeout=30).json() for row in rows]
    assert [a["source"] for a in answers] == ["registry", "registry"]
    assert [a["model_version"] for a in answers] == [served] * 2
    assert np.allclose([a["probability"] for a in answers], without_dask, rtol=0, atol=1e-9)
