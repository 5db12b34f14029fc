"""One process against a Dask LocalCluster of 1 and 2 workers: time, memory and model quality.

For each chain (simulated with :func:`stockout_sk.synth.generate_chain`, cached under
``--workdir`` as ``bench_dataset.py`` caches them) every configuration runs in a fresh child
process, side by side in one run:

* ``single`` — ``load_chain`` → ``training.prepare`` → ``training.fit_model``;
* ``dask-N`` — a ``LocalCluster(n_workers=N, threads_per_worker=1, processes=True)`` and
  ``load_chain_on_cluster`` → ``prepare_on_cluster`` → ``fit_on_cluster``.

Per step (ingest, labels, features, fit) it reports the wall time and the peak resident memory
of the client process and of the largest worker (RSS sampled every 0.2 s with psutil, workers
included). ``features`` and ``fit`` split the training call: the model matrices (feature steps)
and LightGBM, summed over the threshold's inner fit and the final fit; in one process the
LightGBM share is measured by timing ``StockoutClassifier.fit`` inside ``fit_model``. Quality is
the holdout PR-AUC and F1 of each model on the same rows, with a bootstrap interval of the
PR-AUC.

Last, on paper: what a 1 M-key chain (200 branches × 5,000 items) needs, scaled from the
per-key and per-row costs measured on the largest chain and cluster run, and which step binds
first.

Usage::

    .venv/bin/python benchmarks/bench_dask.py [--chains 10x200x365,50x1000x365] [--workers 1,2]
        [--seeds 1] [--n-estimators 150] [--workdir /tmp/stockout-bench]

Prints tables and, last, one JSON line with every number. The 50×1000×365 chain takes tens of
minutes and up to ~15 GB per configuration: run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dataset import DEFAULT_WORKDIR, REPO, ensure_chain, loadavg

STEPS = ("ingest", "labels", "features", "fit")
TARGET_KEYS = 1_000_000


class Sampler:
    """Peak RSS (MB) of this process and of its child processes (the workers), per step."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self.step = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            peaks = self.peaks.setdefault(self.step, {"client": 0.0, "worker": 0.0})
            try:
                peaks["client"] = max(peaks["client"], self._me.memory_info().rss / 2**20)
                for child in self._me.children(recursive=True):
                    try:
                        rss = child.memory_info().rss / 2**20
                    except psutil.Error:
                        continue
                    peaks["worker"] = max(peaks["worker"], rss)
            except psutil.Error:
                pass
            time.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _quality(fitted, prepared, seed: int) -> dict:
    import numpy as np
    from sklearn.metrics import average_precision_score

    from stockout_sk.training import evaluate_fitted, split_xy

    report = evaluate_fitted(fitted, prepared).model
    X, y = split_xy(prepared.holdout)
    proba = fitted.pipeline.predict_proba(X)[:, 1]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(200):
        pick = rng.integers(0, len(y), len(y))
        if y[pick].any():
            draws.append(average_precision_score(y[pick], proba[pick]))
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"pr_auc": report["pr_auc"], "pr_auc_ci": [low, high], "f1": report["f1"]}


def child(args: argparse.Namespace) -> dict:
    """One configuration in this (fresh) process."""
    from stockout_sk.config import ModelConfig
    from stockout_sk.ingest import load_chain
    from stockout_sk.training import fit_model, prepare

    config = ModelConfig(n_estimators=args.n_estimators, random_state=args.seed)
    sampler, seconds, extra = Sampler(), {}, {}
    result = {"config": args.child, "workers": args.workers, "loadavg_before": loadavg()}

    def timed(step, fn, *a, **k):
        sampler.step = step
        started = time.perf_counter()
        value = fn(*a, **k)
        seconds[step] = time.perf_counter() - started
        return value

    if args.child == "single":
        import stockout_sk.model as model_module

        lgbm = {"seconds": 0.0}
        original = model_module.StockoutClassifier.fit

        def timed_fit(self, *a, **k):
            started = time.perf_counter()
            try:
                return original(self, *a, **k)
            finally:
                lgbm["seconds"] += time.perf_counter() - started

        model_module.StockoutClassifier.fit = timed_fit
        chain = timed("ingest", load_chain, args.data)
        prepared = timed("labels", prepare, chain, config)
        fitted = timed("fit", fit_model, prepared.train, chain, config, checkpoint_dir=None)
        seconds["features"] = seconds["fit"] - lgbm["seconds"]
        seconds["fit"] = lgbm["seconds"]
        result["train_rows"] = len(prepared.train)
    else:
        from distributed import Client, LocalCluster

        from stockout_sk.distributed import (
            fit_on_cluster,
            load_chain_on_cluster,
            prepare_on_cluster,
        )

        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                memory_limit=0,
            ) as cluster,
            Client(cluster) as client,
        ):
            sampler.step = "idle"  # the workers' own memory before any data
            time.sleep(1.0)
            chain = timed("ingest", load_chain_on_cluster, client, args.data)
            prepared, on_cluster = timed("labels", prepare_on_cluster, client, chain, config)
            split: dict[str, float] = {}
            fitted = timed(
                "fit", fit_on_cluster, client, on_cluster, prepared, chain, config, timings=split
            )
            seconds["features"], seconds["fit"] = split["features"], split["lightgbm"]
            extra["partitions"] = on_cluster.n_parts
        result["train_rows"] = len(prepared.train)
    sampler.step = "quality"
    result["keys"] = len(chain.stock_current)
    result.update(seconds=seconds, **extra)
    result["quality"] = _quality(fitted, prepared, args.seed)
    sampler.stop()
    # Features and LightGBM run inside the one fit call: its peak covers both.
    peaks = sampler.peaks
    peaks["features"] = peaks.get("fit", {})
    result["peak_mb"] = {s: peaks.get(s, {}) for s in STEPS}
    result["baseline_mb"] = {
        "client": peaks.get("start", {}).get("client", 0.0),
        "worker": peaks.get("idle", {}).get("worker", 0.0),
    }
    result["loadavg"] = loadavg()
    return result


def run_child(data: Path, config: str, workers: int, seed: int, n_estimators: int) -> dict:
    command = [sys.executable, __file__, "--child", config, "--data", str(data)]
    command += ["--workers", str(workers), "--seed", str(seed), "--n-estimators", str(n_estimators)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode:
        raise SystemExit(f"{config} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_chain(name: str, runs: list[dict]) -> None:
    print(f"\n== {name}: {runs[0]['keys']:,} keys, {runs[0]['train_rows']:,} training rows")
    print("seconds per step (fit = LightGBM); peak RSS MB of the client / the largest worker")
    header = f"{'configuration':<14}" + "".join(f"{s:>10}" for s in STEPS)
    header += "".join(f"{s + ' c/w':>18}" for s in STEPS)
    print(header + f"{'PR-AUC [95% CI]':>26}{'F1':>7}")
    for run in runs:
        label = run["config"] if run["config"] == "single" else f"dask-{run['workers']}"
        row = f"{label:<14}" + "".join(f"{run['seconds'][s]:>10.1f}" for s in STEPS)
        for step in STEPS:
            peak = run["peak_mb"].get(step) or {}
            row += f"{peak.get('client', 0):>10.0f}/{peak.get('worker', 0):<7.0f}"
        q = run["quality"]
        row += f"{q['pr_auc']:>8.3f} [{q['pr_auc_ci'][0]:.3f}, {q['pr_auc_ci'][1]:.3f}]"
        print(row + f"{q['f1']:>7.3f}   load {run['loadavg']}")


def on_paper(runs: list[dict]) -> dict:
    """Scale the largest cluster run to 1 M keys; the binding step is the largest need."""
    run = max((r for r in runs if r["config"] != "single"), key=lambda r: (r["keys"], r["workers"]))
    scale = TARGET_KEYS / run["keys"]
    # What grows with the chain is the peak above a process's own memory (interpreter, libraries).
    base = run["baseline_mb"]
    worker_mb = max((run["peak_mb"][s] or {}).get("worker", 0) for s in STEPS) - base["worker"]
    client_mb = max((run["peak_mb"][s] or {}).get("client", 0) for s in STEPS) - base["client"]
    work = {s: run["seconds"][s] * run["workers"] * scale for s in STEPS}  # worker-seconds
    need = {
        "scale": scale,
        "train_rows": run["train_rows"] * scale,
        "worker_gb_total": worker_mb * run["workers"] * scale / 1024,
        "client_gb": client_mb * scale / 1024,
        "worker_seconds": work,
    }
    for workers in (8, 16, 32):
        need[f"hours_with_{workers}_workers"] = sum(work.values()) / workers / 3600
    need["workers_of_16gb"] = int(-(-need["worker_gb_total"] // 16))
    need["binds_first"] = (
        "the client (it holds the daily flows and the labelled table)"
        if need["client_gb"] > 16
        else "the workers' memory (LightGBM concatenates each worker's matrix)"
    )
    return need


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", default="10x200x365,50x1000x365")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--seeds", default="1", help="comma-separated model seeds")
    parser.add_argument("--n-estimators", type=int, default=150)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--child", choices=("single", "dask"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.workers = int(args.workers)
        print(json.dumps(child(args), default=float))
        return 0
    everything: dict = {"loadavg_start": loadavg(), "chains": {}}
    for spec in args.chains.split(","):
        branches, items, days = (int(x) for x in spec.split("x"))
        data, _ = ensure_chain(args.workdir, branches, items, days, 1, messy=False)
        runs = []
        for seed in (int(s) for s in args.seeds.split(",")):
            runs.append(run_child(data, "single", 1, seed, args.n_estimators))
            for workers in (int(w) for w in args.workers.split(",")):
                runs.append(run_child(data, "dask", workers, seed, args.n_estimators))
        print_chain(spec, runs)
        everything["chains"][spec] = runs
    largest = everything["chains"][args.chains.split(",")[-1]]
    need = on_paper(largest)
    everything["one_million_keys"] = need
    print(f"\n== on paper: {TARGET_KEYS:,} keys (×{need['scale']:.1f} the largest chain)")
    print(
        f"training rows ≈ {need['train_rows'] / 1e6:,.0f} M; worker memory ≈ "
        f"{need['worker_gb_total']:,.0f} GB in all → {need['workers_of_16gb']} workers of 16 GB; "
        f"client ≈ {need['client_gb']:,.0f} GB"
    )
    for step, seconds in need["worker_seconds"].items():
        print(f"  {step:<9} {seconds / 3600:8.1f} worker-hours")
    print(
        "  wall time ≈ "
        + ", ".join(
            f"{need[f'hours_with_{w}_workers']:.1f} h with {w} workers" for w in (8, 16, 32)
        )
    )
    print(f"binds first: {need['binds_first']}")
    print(json.dumps(everything, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
