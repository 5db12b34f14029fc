"""What ``--asof-stride K`` costs in quality and saves in training rows and time.

For each chain and each stride K, the model is trained on every K-th as-of day of each
branch×item (``ModelConfig.asof_stride``; the holdout is never thinned) and scored on the same
purged holdout, over several model seeds, side by side in one run. Printed per K: training
rows, fit seconds, holdout PR-AUC and F1 (mean and min..max over the seeds), and the change
against K = 1 with the spread of the paired differences.

Usage::

    .venv/bin/python benchmarks/bench_asof_stride.py [--data sample_data] [--chain 10x200x365]
        [--strides 1,2,4,7] [--seeds 0,1,2] [--n-estimators 150]

The chain is simulated and cached as ``bench_dataset.py`` caches it. Prints a table per chain
and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dataset import DEFAULT_WORKDIR, REPO, ensure_chain, loadavg


def measure(data: Path, strides: list[int], seeds: list[int], n_estimators: int) -> list[dict]:
    from stockout_sk.config import ModelConfig
    from stockout_sk.ingest import load_chain
    from stockout_sk.training import evaluate_fitted, fit_model, prepare

    chain = load_chain(data)
    base = ModelConfig(n_estimators=n_estimators)
    prepared = prepare(chain, base)
    rows = []
    for seed in seeds:
        for stride in strides:
            config = base.with_overrides(asof_stride=stride, random_state=seed)
            started = time.perf_counter()
            fitted = fit_model(prepared.train, chain, config, checkpoint_dir=None)
            seconds = time.perf_counter() - started
            report = evaluate_fitted(fitted, prepared).model
            rows.append(
                {
                    "stride": stride,
                    "seed": seed,
                    "train_rows": fitted.train_rows,
                    "fit_seconds": seconds,
                    "pr_auc": report["pr_auc"],
                    "f1": report["f1"],
                    "loadavg": loadavg(),
                }
            )
            print(f"  {data.name} K={stride} seed={seed}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def table(name: str, rows: list[dict], strides: list[int]) -> None:
    import numpy as np

    print(f"\n== {name}")
    print(f"{'K':>3}{'train rows':>12}{'fit s':>8}{'PR-AUC':>22}{'ΔPR-AUC vs K=1':>24}{'F1':>22}")
    base = {r["seed"]: r for r in rows if r["stride"] == 1}
    for stride in strides:
        mine = [r for r in rows if r["stride"] == stride]
        pr = np.array([r["pr_auc"] for r in mine])
        f1 = np.array([r["f1"] for r in mine])
        delta = np.array(
            [r["pr_auc"] - base[r["seed"]]["pr_auc"] for r in mine if r["seed"] in base]
        )
        seconds = np.mean([r["fit_seconds"] for r in mine])
        print(
            f"{stride:>3}{mine[0]['train_rows']:>12,}{seconds:>8.1f}"
            f"{pr.mean():>8.3f} ({pr.min():.3f}..{pr.max():.3f})"
            f"{delta.mean():>+10.3f} ({delta.min():+.3f}..{delta.max():+.3f})"
            f"{f1.mean():>8.3f} ({f1.min():.3f}..{f1.max():.3f})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "sample_data")
    parser.add_argument("--chain", default="10x200x365", help="a simulated chain too ('' for none)")
    parser.add_argument("--strides", default="1,2,4,7")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--n-estimators", type=int, default=150)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    strides = [int(k) for k in args.strides.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    chains = {"sample_data": args.data}
    if args.chain:
        branches, items, days = (int(x) for x in args.chain.split("x"))
        chains[args.chain], _ = ensure_chain(args.workdir, branches, items, days, 1, messy=False)
    results = {}
    for name, data in chains.items():
        results[name] = measure(data, strides, seeds, args.n_estimators)
        table(name, results[name], strides)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
