"""Time and peak memory of :func:`stockout_sk.labels.build_dataset` alone: this checkout vs a
git revision, side by side, and whether both build the same table.

The chain (:func:`stockout_sk.synth.generate_chain`, cached under ``--workdir`` as
``bench_dataset.py`` caches it, or ``--data DIR``) is ingested once by this checkout's
``load_chain`` and pickled under ``--workdir`` (``labels-input-<data dir>.pkl``; ``--reingest``
redoes it): both sides label the very same ``ChainData``, and ingestion is not paid per run.

Then ``--repeats`` pairs run in alternating order (ABBA, so a machine whose speed drifts favours
neither side), each run in a fresh Python process that unpickles the chain and times
``build_dataset`` only: wall and CPU seconds, peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes the unpickled chain — printed
too, as ``RSS before``) and the 1-minute load average at its end (the machine may be shared).
Each run also prints a SHA-256 over the table's rows (``pd.util.hash_pandas_object``), its
dtypes and the report: the two sides must agree.

Usage::

    .venv/bin/python benchmarks/bench_labels.py [--branches 50] [--items 1000] [--days 365]
        [--seed 1] [--clean] [--data DIR] [--workdir /tmp/stockout-bench] [--horizon 7]
        [--compare main] [--repeats 2] [--reingest]

Prints a table and, last, one JSON line with every number. Exits 1 when the tables differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dataset import (
    REPO,
    chain_args,
    code_at,
    ensure_chain,
    loadavg,
    peak_rss_mb,
    rss_mb,
    run_child,
    spread,
)


def child_ingest(args: argparse.Namespace) -> dict:
    """Ingest ``--data`` with this checkout and pickle the ``ChainData``."""
    import pickle

    from stockout_sk.ingest import load_chain

    start = time.perf_counter()
    chain = load_chain(args.data)
    seconds = time.perf_counter() - start
    with open(args.chain, "wb") as f:
        pickle.dump(chain, f, protocol=pickle.HIGHEST_PROTOCOL)
    return {"ingest_seconds": seconds, "keys": len(chain.stock_current), "flows": len(chain.flows)}


def child_labels(args: argparse.Namespace) -> dict:
    """Unpickle the chain, time ``build_dataset`` on it, digest the table."""
    import pickle

    import pandas as pd

    from stockout_sk.labels import build_dataset

    with open(args.chain, "rb") as f:
        chain = pickle.load(f)
    before = rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    dataset = build_dataset(chain, horizon=args.horizon)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    peak, load = peak_rss_mb(), loadavg()
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(dataset.frame, index=True).to_numpy().tobytes())
    digest.update(repr([*dataset.frame.columns, *map(str, dataset.frame.dtypes)]).encode())
    digest.update(json.dumps([dataset.horizon, dataset.report], sort_keys=True).encode())
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mb": peak,
        "rss_before_mb": before,
        "loadavg": load,
        "rows": len(dataset.frame),
        "digest": digest.hexdigest(),
    }


CHILDREN = {"ingest": child_ingest, "labels": child_labels}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    chain_args(parser)
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument("--compare", metavar="REF", default="main", help="git revision to time")
    parser.add_argument("--repeats", type=int, default=2, help="pairs of runs (ABBA order)")
    parser.add_argument("--reingest", action="store_true", help="re-pickle the ingested chain")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--chain", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return 0

    if args.data is None:
        args.data, _ = ensure_chain(
            args.workdir, args.branches, args.items, args.days, args.seed, not args.clean
        )
    chain = Path(args.workdir) / f"labels-input-{Path(args.data).resolve().name}.pkl"
    if args.reingest or not chain.is_file():
        print(f"ingesting {args.data} once, into {chain} …", file=sys.stderr, flush=True)
        chain.parent.mkdir(parents=True, exist_ok=True)
        ingest = ["--child", "ingest", "--data", str(args.data), "--chain", str(chain)]
        run_child(ingest, script=__file__)

    sides = {"this checkout": REPO, args.compare: code_at(args.compare, args.workdir)}
    names = list(sides)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    child = ["--child", "labels", "--chain", str(chain), "--horizon", str(args.horizon)]
    for i in range(args.repeats):
        for name in names if i % 2 == 0 else names[::-1]:
            print(f"build_dataset ({name}), pair {i + 1}/{args.repeats} …", file=sys.stderr)
            run = run_child(child, script=__file__, code=sides[name])
            runs[name].append(run)
            print(
                f"  {name:<16} {run['seconds']:6.2f} s, CPU {run['cpu_seconds']:6.2f} s, "
                f"peak {run['peak_rss_mb']:6.0f} MB, load {run['loadavg'][0]:.2f}",
                file=sys.stderr,
            )

    print(f"\nbuild_dataset on {args.data}, horizon {args.horizon}, {args.repeats} pair(s), ABBA")
    print(
        f"{'code':<20}{'seconds median [range]':>26}{'CPU seconds':>26}{'peak RSS MB':>26}"
        f"{'RSS before MB':>16}{'load (1 min)':>16}"
    )
    for name in names:
        rs = runs[name]
        load = [r["loadavg"][0] for r in rs]
        print(
            f"{name:<20}{spread([r['seconds'] for r in rs], 2):>26}"
            f"{spread([r['cpu_seconds'] for r in rs], 2):>26}"
            f"{spread([r['peak_rss_mb'] for r in rs], 0):>26}"
            f"{statistics.median(r['rss_before_mb'] for r in rs):>16.0f}"
            f"{min(load):>9.2f}–{max(load):.2f}"
        )
    a, b = names
    ratios = {
        key: [x[key] / y[key] for x, y in zip(runs[a], runs[b], strict=True)]
        for key in ("seconds", "cpu_seconds", "peak_rss_mb")
    }
    print(
        f"ratio {a} / {b}, pair by pair: "
        + ", ".join(f"{key} {spread(values, 2).strip()}" for key, values in ratios.items())
    )
    digests = {r["digest"] for side in runs.values() for r in side}
    same = len(digests) == 1
    print(f"same table, dtypes and report on both sides (SHA-256 of the rows): {same}")
    print(json.dumps({"compare": args.compare, "runs": runs, "ratios": ratios, "same": same}))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
