"""How big the model gets with the number of branch×item keys: on disk and in the API's memory.

The carried history grows with the keys (a bounded tail of running sums per key), so the model a
1 M-key chain trains is what one API process must hold. For each size a daily flows table is
generated directly (no CSVs): every key sells on about half the days and receives a delivery
every 5–10 days, with transfers from a warehouse, over ``--days`` days. The history is fitted
one partition of branches at a time with the chain's context and combined
(:func:`stockout_sk.features.combine_parts`, as a Dask cluster fits it), into the full pipeline
with a small LightGBM (its size does not grow with the keys). Then, in a fresh process each:

* the serialised model: ``skops.io.dumps`` of the fitted pipeline (what ``mlflow.sklearn``
  logs), bytes;
* the API's resident memory: a process that imports the serving stack, loads that file with the
  trusted types and answers one row and a 1,000-row batch (the lookups a request builds are
  then in place); RSS after imports, after loading, after scoring.

Usage::

    .venv/bin/python benchmarks/bench_model_size.py [--keys 50000,1000000] [--days 365]
        [--workdir /tmp/stockout-bench/model-size]

Prints a table and one JSON line. The 1 M-key size needs ~8 GB while it fits.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def shape(keys: int) -> tuple[int, int]:
    """Branches × items for ``keys`` (a retailer's shape: items ≈ 20 × branches ... 100×)."""
    branches = max(1, round((keys / 25) ** 0.5))
    return branches, -(-keys // branches)


def flows_for(branches: list[str], items: list[str], days: int, seed: int):
    """Daily flows and transfers of ``branches`` × ``items`` (plain pandas, vectorised)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = len(branches) * len(items)
    branch = np.repeat(np.asarray(branches, dtype=object), len(items))
    item = np.tile(np.asarray(items, dtype=object), len(branches))
    start = np.datetime64("2024-01-01")
    sale_days = rng.random((n, days)) < 0.5
    k, d = np.nonzero(sale_days)
    sold = rng.poisson(3, len(k)).astype(np.float64) + 1
    period = rng.integers(5, 11, n)
    phase = rng.integers(0, 10, n)
    delivery = (np.arange(days)[None, :] + phase[:, None]) % period[:, None] == 0
    kd, dd = np.nonzero(delivery)
    inflow = rng.poisson(20, len(kd)).astype(np.float64) + 5
    sales = pd.DataFrame({"k": k, "d": d, "sold": sold, "inflow": 0.0})
    deliveries = pd.DataFrame({"k": kd, "d": dd, "sold": 0.0, "inflow": inflow})
    daily = pd.concat([sales, deliveries]).groupby(["k", "d"], as_index=False).sum()
    flows = pd.DataFrame(
        {
            "BranchID": branch[daily["k"]],
            "ItemCode": item[daily["k"]],
            "Date": (start + daily["d"].to_numpy().astype("timedelta64[D]")).astype("M8[ns]"),
            "inflow": daily["inflow"],
            "outflow": 0.0,
            "sold": daily["sold"],
        }
    )
    transfers = pd.DataFrame(
        {
            "Date": (start + dd.astype("timedelta64[D]")).astype("M8[ns]"),
            "FromBranchID": "WH01",
            "ToBranchID": branch[kd],
            "ItemCode": item[kd],
            "QuantityMoved": inflow,
        }
    )
    return flows, transfers


def fit_model(keys: int, days: int, out: Path, branches_per_part: int) -> dict:
    """Fit the pipeline for ``keys`` keys and write it with skops; what it took."""
    import numpy as np
    import pandas as pd
    import skops.io
    from imblearn.pipeline import Pipeline
    from sklearn.base import clone

    from stockout_sk.config import ModelConfig
    from stockout_sk.features import chain_context, combine_parts
    from stockout_sk.features.calendar import to_day_numbers
    from stockout_sk.pipeline import build_pipeline

    started = time.perf_counter()
    n_branches, n_items = shape(keys)
    branches = [f"B{b:04d}" for b in range(n_branches)]
    items = [f"ITM{i:05d}" for i in range(n_items)]
    config = ModelConfig(n_estimators=20, checkpoint_dir="unused")
    template = build_pipeline(config, checkpoint_dir=None)
    rng = np.random.default_rng(0)
    # Training rows: a sample of keys on the last 60 days (their label is synthetic: the model's
    # size does not depend on it).
    rows = pd.DataFrame(
        {
            "BranchID": rng.choice(branches, 20_000),
            "ItemCode": rng.choice(items, 20_000),
            "Date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(days - 60, days, 20_000), "D"),
            "CurrentQuantity": rng.integers(0, 60, 20_000).astype(float),
            "ReservedQuantity": rng.integers(0, 5, 20_000).astype(float),
            "SafetyStockLevel": rng.integers(5, 20, 20_000).astype(float),
        }
    )
    y = (rows["CurrentQuantity"] < rows["SafetyStockLevel"] + rng.integers(-5, 5, 20_000)).astype(
        int
    )

    # Chain-wide sums, accumulated partition by partition (a part's flows, then dropped).
    start = int(to_day_numbers(pd.Series([pd.Timestamp("2024-01-01")]))[0])
    chain_inflow = np.zeros(days)
    item_sold = np.zeros((len(items), days))
    groups = [branches[i : i + branches_per_part] for i in range(0, n_branches, branches_per_part)]
    for g, group in enumerate(groups):
        flows, _ = flows_for(group, items, days, seed=g)
        d = to_day_numbers(flows["Date"]).astype(np.int64) - start
        row = np.searchsorted(items, flows["ItemCode"].to_numpy().astype(str))
        np.add.at(chain_inflow, d, flows["inflow"].to_numpy())
        np.add.at(item_sold, (row, d), flows["sold"].to_numpy())
    dates = pd.date_range("2024-01-01", periods=days, freq="D", unit="ns")
    context = chain_context(
        pd.Series(chain_inflow, index=dates),
        pd.DataFrame(
            {
                "ItemCode": np.repeat(items, days),
                "Date": np.tile(dates, len(items)),
                "sold": item_sold.reshape(-1),
            }
        ),
        np.asarray(items),
        start=start,
        n_days=days,
    )
    steps = Pipeline(template.steps[1:-1])
    parts, matrices, labels = [], [], []
    for g, group in enumerate(groups):
        flows, transfers = flows_for(group, items, days, seed=g)
        mine = rows["BranchID"].isin(group).to_numpy()
        fitted = clone(steps)
        data = rows[mine]
        for name, step in fitted.steps:
            history_data = {"flows": flows, "transfers": transfers, "chain_context": context}
            data = step.fit_transform(data, **(history_data if name == "history" else {}))
        parts.append(fitted)
        matrices.append(np.asarray(data, dtype=np.float32))
        labels.append(y[mine].to_numpy())
    history = combine_parts([p.named_steps["history"] for p in parts])
    classifier = template.named_steps["classifier"]
    classifier.fit(np.concatenate(matrices), np.concatenate(labels))
    sampler = template.named_steps["sampler"]
    sampler.fit_resample(rows, y)
    pipeline = Pipeline(
        [
            ("sampler", sampler),
            ("calendar", parts[0].named_steps["calendar"]),
            ("history", history),
            ("hashing", parts[0].named_steps["hashing"]),
            ("classifier", classifier),
        ]
    )
    blob = skops.io.dumps(pipeline)
    out.write_bytes(blob)
    carried = {
        name: int(np.asarray(value).nbytes)
        for name, value in vars(history).items()
        if not name.startswith("_") and hasattr(value, "nbytes")
    }
    return {
        "keys": len(history.keys_),
        "branches": n_branches,
        "items": n_items,
        "model_bytes": len(blob),
        "carried_bytes": carried,
        "fit_seconds": time.perf_counter() - started,
        "fit_peak_mb": _peak_mb(),
    }


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(path: Path) -> dict:
    """What an API process holds once the model is loaded and has scored requests."""
    import pandas as pd

    import api.main  # noqa: F401  (the serving stack, as `stockout-sk serve` imports it)

    after_imports = _rss_mb()
    import numpy as np
    import skops.io

    from stockout_sk.registry import TRUSTED_TYPES

    pipeline = skops.io.loads(path.read_bytes(), trusted=list(TRUSTED_TYPES))
    after_load = _rss_mb()
    history = pipeline.named_steps["history"]
    keys = history.keys_
    rng = np.random.default_rng(1)
    picks = keys[rng.integers(0, len(keys), 1_000)]
    parts = np.char.partition(picks.astype(str), "\x1f")
    branch, item = parts[:, 0], parts[:, 2]
    batch = pd.DataFrame(
        {
            "BranchID": branch.astype(object),
            "ItemCode": item.astype(object),
            "Date": str(history.history_end_.date()),
            "CurrentQuantity": 10.0,
            "ReservedQuantity": 1.0,
            "SafetyStockLevel": 8.0,
        }
    )
    started = time.perf_counter()
    pipeline.predict_proba(batch.head(1))
    first_row = time.perf_counter() - started
    pipeline.predict_proba(batch)
    return {
        "rss_after_imports_mb": after_imports,
        "rss_after_load_mb": after_load,
        "rss_after_scoring_mb": _rss_mb(),
        "peak_mb": _peak_mb(),
        "first_row_seconds": first_row,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", default="50000,1000000")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--branches-per-part", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/stockout-bench/model-size"))
    parser.add_argument("--child", choices=("fit", "serve"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "fit":
        result = fit_model(
            args.n, args.days, args.workdir / f"model-{args.n}.skops", args.branches_per_part
        )
        print(json.dumps(result))
        return 0
    if args.child == "serve":
        print(json.dumps(serve(args.workdir / f"model-{args.n}.skops")))
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = {}
    for n in (int(k) for k in args.keys.split(",")):
        row = {}
        for step in ("fit", "serve"):
            command = [
                sys.executable,
                __file__,
                "--child",
                step,
                "--n",
                str(n),
                "--days",
                str(args.days),
            ]
            command += [
                "--workdir",
                str(args.workdir),
                "--branches-per-part",
                str(args.branches_per_part),
            ]
            done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
            if done.returncode:
                raise SystemExit(f"{step} {n} failed:\n{done.stderr[-4000:]}")
            row[step] = json.loads(done.stdout.strip().splitlines()[-1])
        results[n] = row
        fit, srv = row["fit"], row["serve"]
        carried = sum(fit["carried_bytes"].values())
        mib = 2**20
        print(
            f"{fit['keys']:>9,} keys ({fit['branches']}×{fit['items']}): "
            f"model {fit['model_bytes'] / mib:,.0f} MiB (carried arrays {carried / mib:,.0f} MiB)"
            f"; API RSS {srv['rss_after_imports_mb']:,.0f} MB after imports, "
            f"{srv['rss_after_load_mb']:,.0f} after loading, "
            f"{srv['rss_after_scoring_mb']:,.0f} after scoring (peak {srv['peak_mb']:,.0f}); "
            f"fit {fit['fit_seconds']:.0f} s, peak {fit['fit_peak_mb']:,.0f} MB",
            flush=True,
        )
        largest = sorted(fit["carried_bytes"].items(), key=lambda kv: -kv[1])[:6]
        print("   largest arrays: " + ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in largest))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
