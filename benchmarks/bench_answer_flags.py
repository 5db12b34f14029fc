"""What the answer flags cost: ``unknown_key`` / ``history_missing`` and the staleness policy.

Why: every ``/predict`` now asks the fitted history step what it holds for the row
(``HistoryFeatures.coverage``) and applies the staleness policy (``serving.policy.assess``).
This script measures that added work next to the whole of ``serving.predict`` (the pipeline's
``predict_proba``, staleness, flags, policy), in the same process, alternating the two so a busy
machine slows both alike, on several simulated chains:

* **single row** — one raw request row (as the API builds it), the median over ``--calls``;
* **batch** — ``--batch`` raw rows, the median of 5.

It prints, per chain and overall (median and range over chains), the time of
``serving.predict`` and of the flags alone, and their share.

Usage::

    .venv/bin/python benchmarks/bench_answer_flags.py [--seeds 1 2 3] [--calls 300]
        [--batch 10000] [--branches 5] [--items 100] [--days 150]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(seed: int, args: argparse.Namespace) -> dict[str, float]:
    from stockout_sk.config import ModelConfig
    from stockout_sk.ingest import load_chain
    from stockout_sk.serving import model_snapshot, predict, to_frame
    from stockout_sk.serving.policy import assess
    from stockout_sk.synth import generate_chain
    from stockout_sk.training import split_xy, train_and_evaluate

    folder = Path(tempfile.mkdtemp(prefix=f"bench-flags-{seed}-"))
    generate_chain(folder, branches=args.branches, items=args.items, days=args.days, seed=seed)
    chain = load_chain(folder)
    result = train_and_evaluate(chain, ModelConfig(n_estimators=100), checkpoint_dir=None)
    pipeline = result.fitted.pipeline
    production = SimpleNamespace(
        pipeline=pipeline, version="1", threshold=result.fitted.threshold, metadata=dict
    )
    snapshot = model_snapshot(production, max_staleness_days=60)
    X, _ = split_xy(result.prepared.holdout)
    records = X.assign(Date=X["Date"].dt.strftime("%Y-%m-%d")).to_dict("records")
    rng = np.random.default_rng(seed)
    singles = [to_frame([records[i]], snapshot.fields) for i in rng.integers(len(records), size=64)]
    batch = to_frame(
        [records[i] for i in rng.integers(len(records), size=args.batch)], snapshot.fields
    )
    history = pipeline.named_steps["history"]
    stale = np.zeros(args.batch)

    def flags(frame, days) -> None:
        assess(history, frame, days, max_staleness_days=60, history_end=snapshot.history_end)

    out = {"predict_row": [], "flags_row": [], "predict_batch": [], "flags_batch": []}
    for frame in singles[:8]:  # warm-up: caches, LightGBM's first call
        predict(snapshot, frame)
    zero = np.zeros(1)
    for round_ in range(args.calls):
        frame = singles[round_ % len(singles)]
        # Alternate which one runs first, so neither always gets the warmer cache.
        pair = [
            ("predict_row", lambda f=frame: predict(snapshot, f)),
            ("flags_row", lambda f=frame: flags(f, zero)),
        ]
        for name, fn in pair if round_ % 2 == 0 else reversed(pair):
            out[name].append(_median_seconds(fn, 1))
    for _ in range(5):
        out["predict_batch"].append(_median_seconds(lambda: predict(snapshot, batch), 1))
        out["flags_batch"].append(_median_seconds(lambda: flags(batch, stale), 1))
    return {name: statistics.median(values) for name, values in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--branches", type=int, default=5)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--days", type=int, default=150)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; chains {args.branches}×{args.items}×{args.days}")
    rows = []
    for seed in args.seeds:
        found = measure(seed, args)
        rows.append(found)
        print(
            f"seed {seed}: single row predict {found['predict_row'] * 1e3:.3f} ms, flags "
            f"{found['flags_row'] * 1e3:.3f} ms ({found['flags_row'] / found['predict_row']:.1%}); "
            f"batch of {args.batch:,} predict {found['predict_batch'] * 1e3:.1f} ms, flags "
            f"{found['flags_batch'] * 1e3:.1f} ms "
            f"({found['flags_batch'] / found['predict_batch']:.1%})"
        )
    for scope in ("row", "batch"):
        shares = [r[f"flags_{scope}"] / r[f"predict_{scope}"] for r in rows]
        print(
            f"{scope}: flags are {statistics.median(shares):.1%} of serving.predict "
            f"(range {min(shares):.1%}–{max(shares):.1%} over {len(rows)} chains)"
        )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
