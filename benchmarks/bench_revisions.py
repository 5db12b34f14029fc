"""Two revisions of the code side by side: did a refactoring make anything slower?

Why: a change that only moves code (issue #12 split the flat modules into packages) must not cost
performance. This script checks the steps a user waits for, on the same data, in alternating
rounds so that a busy machine slows both sides alike:

* **ingest** — ``load_chain`` on the chain's six CSVs;
* **labels** — ``build_dataset`` on the ingested chain;
* **fit** — the pipeline fitted on the training rows (``fit_model``: threshold on the validation
  window, then the final fit; ``n_estimators`` as given, no checkpoints);
* **single row** — ``predict_proba`` on one raw request row (a one-row DataFrame, ``Date`` an ISO
  string), the median over ``--calls`` calls on different holdout rows;
* **batch** — ``predict_proba`` on 10,000 raw holdout rows, rows per second (median of 3).

Each revision is checked out into a temporary git worktree and measured in its own Python process
(``PYTHONPATH`` = that worktree), ``--rounds`` times, alternating base and head. The table prints
the median of each side over the rounds and the ratio head / base with its range over rounds
(for rows/s the ratio is inverted, so > 1 always means "head is slower"). Both sides must give the
same probabilities on the same rows; the script says whether they do.

Usage::

    .venv/bin/python benchmarks/bench_revisions.py [--base aacc354] [--head HEAD] [--rounds 3]
        [--data sample_data] [--calls 500] [--n-estimators 150]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Run inside each worktree: only names both revisions have (fit_model moved from model to
# training in the split).
CHILD = r"""
import json, sys, time
import numpy as np
import pandas as pd
from stockout_sk.config import ModelConfig
from stockout_sk.ingest import load_chain
from stockout_sk.labels import build_dataset
from stockout_sk.evaluate import time_split
try:
    from stockout_sk.training import fit_model, split_xy
except ImportError:
    from stockout_sk.model import fit_model, split_xy

data, calls, n_estimators = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {}
t = time.perf_counter(); chain = load_chain(data); out["ingest_s"] = time.perf_counter() - t
t = time.perf_counter(); dataset = build_dataset(chain, horizon=7)
out["labels_s"] = time.perf_counter() - t
frame = dataset.frame
config = ModelConfig(n_estimators=n_estimators)
split = time_split(frame["Date"], horizon=config.horizon, holdout_days=config.holdout_days)
train, holdout = frame[np.asarray(split.train)], frame[np.asarray(split.holdout)]
t = time.perf_counter(); fitted = fit_model(train, chain, config, checkpoint_dir=None)
out["fit_s"] = time.perf_counter() - t
pipeline = fitted.pipeline
X, _ = split_xy(holdout)
X = X.assign(Date=X["Date"].dt.strftime("%Y-%m-%d"))
rng = np.random.default_rng(0)
rows = rng.choice(len(X), size=calls, replace=len(X) < calls)
singles = [X.iloc[[i]].reset_index(drop=True) for i in rows]
for row in singles[:50]:
    pipeline.predict_proba(row)
times = []
for row in singles:
    t = time.perf_counter(); pipeline.predict_proba(row); times.append(time.perf_counter() - t)
out["single_row_ms"] = 1000 * float(np.median(times))
batch = X.iloc[rng.choice(len(X), size=10_000, replace=len(X) < 10_000)].reset_index(drop=True)
pipeline.predict_proba(batch)
rates = []
for _ in range(3):
    t = time.perf_counter(); pipeline.predict_proba(batch)
    rates.append(10_000 / (time.perf_counter() - t))
out["batch_rows_per_s"] = float(np.median(rates))
out["proba_head"] = pipeline.predict_proba(batch.iloc[:200])[:, 1].round(12).tolist()
print("RESULT " + json.dumps(out))
"""

#: (key, label, higher is better)
METRICS = (
    ("ingest_s", "ingest (s)", False),
    ("labels_s", "labels (s)", False),
    ("fit_s", "fit (s)", False),
    ("single_row_ms", "single row median (ms)", False),
    ("batch_rows_per_s", "batch 10k (rows/s)", True),
)


def _worktree(rev: str, parent: Path) -> Path:
    path = parent / rev.replace("/", "_")
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(path), rev], check=True
    )
    return path


def _measure(tree: Path, data: Path, calls: int, n_estimators: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(calls), str(n_estimators)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"measuring {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="aacc354", help="the reference revision")
    parser.add_argument("--head", default="HEAD", help="the revision under test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=REPO / "sample_data")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--n-estimators", type=int, default=150)
    args = parser.parse_args(argv)

    results: dict[str, list[dict]] = {"base": [], "head": []}
    with tempfile.TemporaryDirectory(prefix="bench-revisions-") as tmp:
        trees = {side: _worktree(getattr(args, side), Path(tmp)) for side in ("base", "head")}
        try:
            for round_ in range(args.rounds):
                order = ("base", "head") if round_ % 2 == 0 else ("head", "base")
                for side in order:
                    results[side].append(
                        _measure(trees[side], args.data.resolve(), args.calls, args.n_estimators)
                    )
                    print(f"round {round_ + 1}/{args.rounds}: {side} done", file=sys.stderr)
        finally:
            for tree in trees.values():
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                    check=False,
                )

    print(f"base {args.base} vs head {args.head}; {args.rounds} alternating rounds on {args.data}")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(f"{'step':<26}{'base':>12}{'head':>12}{'head/base':>11}{'range':>18}")
    summary = {}
    for key, label, higher_better in METRICS:
        base = [r[key] for r in results["base"]]
        head = [r[key] for r in results["head"]]
        ratios = [(b / h) if higher_better else (h / b) for b, h in zip(base, head, strict=True)]
        summary[key] = {
            "base": statistics.median(base),
            "head": statistics.median(head),
            "ratio": statistics.median(ratios),
            "range": [min(ratios), max(ratios)],
        }
        print(
            f"{label:<26}{statistics.median(base):>12.4g}{statistics.median(head):>12.4g}"
            f"{statistics.median(ratios):>11.3f}{f'{min(ratios):.3f}–{max(ratios):.3f}':>18}"
        )
    same = all(
        r["proba_head"] == results["base"][0]["proba_head"]
        for r in results["base"] + results["head"]
    )
    print(f"same probabilities on 200 rows (12 digits): {same}")
    print("ratio > 1: head slower; the range is over rounds (machine noise)")
    print(json.dumps({"same_probabilities": same, **summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
