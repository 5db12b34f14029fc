"""Time and peak memory of the synthetic chain generator, side by side in one run.

Each configuration runs in a fresh Python process (so its peak resident memory is its own) and
writes into a temporary directory that is deleted afterwards. Printed per configuration: wall
time, rows written, MB on disk, rows per second, peak RSS (``resource.getrusage``) and, with
``--tracemalloc``, the peak of Python-tracked allocations (slower: it hooks every allocation).
Then the ratios: messy vs clean at the full size, and full vs quarter length (≈ 4 when the cost
is linear in the number of days).

Usage::

    .venv/bin/python benchmarks/bench_synth.py [--branches 50] [--items 1000] [--days 365]
        [--seed 1] [--tracemalloc]

Target (synth issue): 50 branches × 1,000 items × 365 days written in under 2 minutes.
The script reports it; it exits 0 either way (the machine may be busy).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 120.0


def run_one(branches: int, items: int, days: int, seed: int, messy: bool, trace: bool) -> dict:
    """Generate one chain in this process and measure it (called in a child process)."""
    import resource
    import tracemalloc

    from stockout_sk.synth import generate_chain

    out = Path(tempfile.mkdtemp(prefix="bench_synth_"))
    try:
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        summary = generate_chain(
            out, branches=branches, items=items, days=days, seed=seed, messy=messy
        )
        seconds = time.perf_counter() - started
        traced = tracemalloc.get_traced_memory()[1] if trace else None
        size = sum(p.stat().st_size for p in summary.paths.values())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    # ru_maxrss is in KiB on Linux.
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = sum(summary.rows.values())
    return {
        "branches": branches,
        "items": items,
        "days": days,
        "messy": messy,
        "seconds": seconds,
        "rows": rows,
        "sales_rows": summary.rows["sales_transactions"],
        "mb": size / 1e6,
        "rows_per_s": rows / seconds,
        "peak_rss_mb": peak_rss,
        "tracemalloc_peak_mb": traced / 1e6 if traced is not None else None,
        "positive_rate": summary.positive_rate,
    }


def in_child(branches: int, items: int, days: int, seed: int, messy: bool, trace: bool) -> dict:
    args = [sys.executable, __file__, "--one", "--branches", str(branches), "--items", str(items)]
    args += ["--days", str(days), "--seed", str(seed)]
    args += ["--messy"] * messy + ["--tracemalloc"] * trace
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--messy", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        result = run_one(
            args.branches, args.items, args.days, args.seed, args.messy, args.tracemalloc
        )
        print(json.dumps(result))
        return 0

    quarter = min(max(args.days // 4, 8), args.days)  # 8: the shortest history with a label
    configs = [
        ("quarter length, clean", quarter, False),
        ("full, clean", args.days, False),
        ("full, messy", args.days, True),
    ]
    results = {}
    header = (
        f"{'configuration':<24}{'days':>6}{'seconds':>9}{'rows':>12}{'MB':>9}"
        f"{'rows/s':>11}{'peak RSS MB':>13}{'traced MB':>11}"
    )
    print(f"synth benchmark: {args.branches} branches × {args.items} items (seed {args.seed})")
    print(header)
    for label, days, messy in configs:
        r = in_child(args.branches, args.items, days, args.seed, messy, args.tracemalloc)
        results[label] = r
        traced = f"{r['tracemalloc_peak_mb']:.0f}" if r["tracemalloc_peak_mb"] is not None else "-"
        print(
            f"{label:<24}{days:>6}{r['seconds']:>9.1f}{r['rows']:>12,}{r['mb']:>9.1f}"
            f"{r['rows_per_s']:>11,.0f}{r['peak_rss_mb']:>13.0f}{traced:>11}"
        )
    full, messy, short = (
        results[k] for k in ("full, clean", "full, messy", "quarter length, clean")
    )
    print(f"ratio messy / clean time (full):        {messy['seconds'] / full['seconds']:.2f}")
    print(
        f"ratio full / quarter time:              {full['seconds'] / short['seconds']:.2f} "
        f"(days ratio {full['days'] / short['days']:.2f})"
    )
    print(f"positive rate (full, horizon 7):        {full['positive_rate']:.3f}")
    verdict = "met" if full["seconds"] < TARGET_SECONDS else "NOT met"
    print(f"target < {TARGET_SECONDS:.0f} s for the full chain: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
