"""stockout_sk.distributed without a cluster: partitions, sampling, the classifier's settings,
the address, and that a run without --dask never loads the distributed machinery."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.unit

from stockout_sk.config import ModelConfig  # noqa: E402
from stockout_sk.distributed import SamplingPlan, dask_client, split_chain  # noqa: E402
from stockout_sk.distributed.assemble import dask_classifier  # noqa: E402
from stockout_sk.ingest import load_chain  # noqa: E402
from stockout_sk.labels import build_dataset  # noqa: E402
from stockout_sk.model import StockoutClassifier  # noqa: E402
from stockout_sk.pipeline import build_pipeline  # noqa: E402
from stockout_sk.sampling import ConditionalSampler  # noqa: E402


@pytest.fixture(scope="module")
def chain():
    return load_chain("sample_data")


def test_partitions_hold_whole_branches_in_order_and_every_row_once(chain) -> None:
    parts = split_chain(chain, 3)
    assert [p.index for p in parts] == [0, 1, 2]
    flat = [b for p in parts for b in p.branches]
    assert flat == sorted(flat)
    assert len(flat) == len(set(flat))
    assert sum(len(p.chain.stock_current) for p in parts) == len(chain.stock_current)
    assert sum(len(p.chain.flows) for p in parts) == len(chain.flows)
    for part in parts:
        branches = set(part.branches)
        assert set(part.chain.flows["BranchID"]) <= branches
        moved = part.chain.transfers
        assert (moved["FromBranchID"].isin(branches) | moved["ToBranchID"].isin(branches)).all()
        assert part.chain.history_start == chain.history_start


def test_labels_per_partition_concatenate_to_one_process_table(chain) -> None:
    frames = [p.labelled(7).frame for p in split_chain(chain, 4)]
    joined = pd.concat([f for f in frames if len(f)], ignore_index=True)
    joined = joined.sort_values("Date", kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(joined, build_dataset(chain, horizon=7).frame)


def test_sampling_plan_reaches_the_samplers_ratio_with_one_fraction_per_partition() -> None:
    sampler = ConditionalSampler(minority_threshold=0.2, ratio=0.5, random_state=3)
    plan = SamplingPlan.decide(np.array([9_000, 1_000]), sampler)
    assert plan.applied
    assert plan.minority == 1
    assert plan.factor == pytest.approx(1_000 / 0.5 / 9_000)
    kept = [plan.sample(y, part) for part, y in enumerate(_parts_labels())]
    labels = np.concatenate([y[k] for y, k in zip(_parts_labels(), kept, strict=True)])
    assert (labels == 1).sum() == 1_000
    assert (labels == 0).sum() == pytest.approx(2_000, abs=2)  # rounding per partition
    assert all(np.all(np.diff(k) > 0) for k in kept)  # sorted, no repeats when under-sampling
    assert np.array_equal(plan.sample(_parts_labels()[0], 0), kept[0])  # the same on every run


def _parts_labels() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    sizes = [(4_000, 300), (3_000, 600), (2_000, 100)]
    return [rng.permutation(np.r_[np.zeros(n0, int), np.ones(n1, int)]) for n0, n1 in sizes]


@pytest.mark.parametrize(
    ("counts", "applied"),
    [([7_000, 3_000], False), ([9_000, 1_000], True), ([10_000, 0], False), ([600, 9_400], True)],
)
def test_sampling_plan_decides_like_the_conditional_sampler(counts, applied) -> None:
    sampler = ConditionalSampler(minority_threshold=0.2, ratio=0.5, random_state=0)
    y = np.r_[np.zeros(counts[0], int), np.ones(counts[1], int)]
    sampler.fit_resample(np.zeros((len(y), 1)), y)
    plan = SamplingPlan.decide(np.array(counts), sampler)
    assert plan.applied is sampler.applied_ is applied


def test_over_sampling_repeats_minority_rows_by_one_factor() -> None:
    sampler = ConditionalSampler(strategy="over", ratio=0.5, random_state=0)
    plan = SamplingPlan.decide(np.array([9_000, 900]), sampler)
    y = np.r_[np.zeros(900, int), np.ones(90, int)]
    kept = y[plan.sample(y, 0)]
    assert (kept == 0).sum() == 900
    assert (kept == 1).sum() == 450


def test_the_dask_classifier_takes_lightgbms_settings_but_never_its_network_ports() -> None:
    template = build_pipeline(ModelConfig(n_estimators=7), checkpoint_dir=None)
    made = dask_classifier(template.named_steps["classifier"], client=None, time_out_minutes=3)
    params = made.get_params()
    assert params["n_estimators"] == 7
    assert params["time_out"] == 3
    assert not {"threshold", "checkpoint_dir", "machines", "local_listen_port"} & set(params)
    fixed = StockoutClassifier(n_estimators=3, local_listen_port=12400)
    with pytest.raises(ValueError, match=r"local_listen_port.*free port on each worker"):
        dask_classifier(fixed, client=None, time_out_minutes=3)


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setattr("stockout_sk.distributed.cluster.CONNECT_TIMEOUT_SECONDS", 1)
    unreachable = r"no Dask scheduler answered at 'tcp://127.0.0.1:9'"
    with pytest.raises(ValueError, match=unreachable), dask_client("tcp://127.0.0.1:9"):
        pass
    with pytest.raises(ValueError, match="is empty"), dask_client("  "):
        pass


def test_a_run_without_dask_never_loads_the_distributed_machinery() -> None:
    # skops (model loading) imports dask.array itself through scikit-learn's all_estimators when
    # dask is installed, and lightgbm always loads its lightgbm.dask module (which imports dask
    # only when used); what a run without --dask must never load is the cluster machinery.
    code = textwrap.dedent(
        """
        import sys
        from stockout_sk.cli import build_parser
        build_parser().parse_args(["train", "--data", "d"])
        assert not [m for m in sys.modules if m == "dask" or m.startswith("dask.")], "cli"
        import flows.run_pipeline, stockout_sk.cli.commands
        loaded = [m for m in sys.modules if m.split(".")[0] == "distributed"
                  or m.startswith(("dask.dataframe", "stockout_sk.distributed."))]
        assert not loaded, loaded
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_dask_option_and_env_reach_the_commands(monkeypatch) -> None:
    from stockout_sk.cli import build_parser
    from stockout_sk.cli.commands import _dask_address, _model_config
    from stockout_sk.config import load_settings

    args = build_parser().parse_args(["evaluate", "--data", "d", "--asof-stride", "3"])
    assert _model_config(args).asof_stride == 3
    monkeypatch.delenv("STOCKOUT_DASK_SCHEDULER", raising=False)
    assert _dask_address(args) is None
    monkeypatch.setenv("STOCKOUT_DASK_SCHEDULER", "tcp://scheduler:8786")
    assert _dask_address(args) == "tcp://scheduler:8786"
    args = build_parser().parse_args(["train", "--data", "d", "--dask", "local"])
    assert _dask_address(args) == "local"
    assert load_settings({"STOCKOUT_DASK_SCHEDULER": "  "}).dask_scheduler is None
