"""Time and peak memory of ingestion (``load_chain``) and of ``build-dataset``, step by step.

A simulated chain (:func:`stockout_sk.synth.generate_chain`, messy exports by default) is
generated once and cached under ``--workdir`` (or read from ``--data DIR``). Every measured step
then runs in its own fresh Python process, so the peak resident memory it reports
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in that child) is the step's own:

* ``load_chain`` — ingest + validation of the six CSV files (default chunk size);
* ``build-dataset`` — what ``stockout-sk build-dataset`` does: ``load_chain`` then
  :func:`stockout_sk.labels.build_dataset` (the output file is not written);
* ``load_chain`` again at a small and a large chunk size: the peak should move by about the
  chunk's own size, not with the number of transaction lines — memory follows the distinct
  branch×item×day keys (printed beside the line counts);
* ``pyarrow.csv.read_csv`` of the same six files (default options, all cores, nothing
  validated): the yardstick. ``load_chain``, ``build-dataset`` and it run ``--repeats`` rounds
  (rotated order) and their wall and CPU times are printed over pyarrow's, run by run, as
  medians and ranges (CPU seconds count every thread: on a shared machine they move less than
  wall time);
* optionally (``--naive``) the memory a plain ``pd.read_csv(dtype=str)`` of the whole sales file
  takes, for contrast;
* with ``--compare REF`` instead: ``load_chain`` of this checkout and of git revision ``REF``
  (e.g. ``main``) side by side, ``--repeats`` pairs in alternating order (ABBA, so that a machine
  whose speed drifts favours neither), with the median and range of each side's time and peak
  memory and of the per-pair ratios, and both sides over a pyarrow run of each pair.

* with ``--workers 1,2``: ``load_chain`` and ``build-dataset`` once per count of ingestion
  worker processes (``load_chain(workers=N)``), side by side in every round.

``RSS after imports`` is the child's resident memory before the step (interpreter, numpy,
pandas); ``peak RSS`` includes it. Ingestion may start worker processes: CPU seconds add the
finished children's, and ``all processes`` is the peak of the summed resident memory of the
child and its own children, sampled every 50 ms (the figure to hold against a machine's RAM)
by a process of its own: a sampling thread in the child would make ``load_chain`` start its
workers as fresh interpreters (it copies the process only while no other thread runs), which
the CLI does not.

* with ``--warm``: every measured run follows one unmeasured run of the same step. On a virtual
  machine a page the guest has not touched lately costs far more on first touch than one a
  process just freed, and the rotated order puts pyarrow's read (3.7 GB) after ingestion's
  (2.3 GB): without it, on the 2-core VM of #14, pyarrow's read took 6.6–8.4 s; with it,
  3.3–4.4 s. The ratios over pyarrow are only fair with ``--warm``. Doubles the running time.

Usage::

    .venv/bin/python benchmarks/bench_dataset.py [--branches 50] [--items 1000] [--days 365]
        [--seed 1] [--clean] [--data DIR] [--workdir /tmp/stockout-bench]
        [--chunksizes 50000,500000] [--naive] [--regenerate] [--compare REF --repeats 3]
        [--workers 1,2] [--warm]

Prints a table and, last, one JSON line with every number. Exits 0 (the machine may be busy:
the load averages are printed with each result).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = Path("/tmp/stockout-bench")
DEFAULT_CHUNKSIZE = 100_000  # load_chain's and the CLI's default
SUMMARY = "synth_summary.json"


def loadavg() -> list[float]:
    """1-, 5- and 15-minute load averages (NaN where unavailable)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return [float("nan")] * 3


def rss_mb() -> float:
    """Current resident memory of this process, MB (Linux; NaN elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (``ru_maxrss`` is KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (ingestion's worker processes)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


#: The sampler of :class:`TreePeak`, run as ``python -c SAMPLER <pid>``: the summed resident
#: memory of ``<pid>`` and its children (itself left out) every 50 ms until a line arrives on
#: its stdin; then it prints the peak (MB) and its own CPU seconds.
SAMPLER = r"""
import os, select, sys, time
me, mine, page, peak = int(sys.argv[1]), os.getpid(), os.sysconf("SC_PAGE_SIZE"), 0.0
print("ready", flush=True)
while True:
    total = 0
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        peak = float("nan")
        break
    for pid in pids:
        if pid == mine:
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            if pid == me or parent == me:
                with open(f"/proc/{pid}/statm", encoding="ascii") as f:
                    total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    peak = max(peak, total / 2**20)
    if select.select([sys.stdin], [], [], 0.05)[0]:
        break
print(peak, time.process_time(), flush=True)
"""


class TreePeak:
    """The peak of the summed resident memory of this process and its children (ingestion's
    worker processes), sampled every 50 ms from ``/proc`` (Linux; NaN elsewhere).

    The sampler is a process of its own, not a thread: ``load_chain`` copies this process for
    its workers (``fork``) only while no other thread runs, as in the CLI, and starts fresh
    interpreters otherwise — a sampling thread would time that other path. Its CPU seconds
    (``cpu``) are left out of the step's.
    """

    def __init__(self) -> None:
        self.peak = float("nan")
        self.cpu = 0.0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> TreePeak:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SAMPLER, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        self._proc.stdout.readline()  # "ready": sampling before the step starts
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        out, _ = self._proc.communicate("stop\n", timeout=60)
        peak, cpu = out.split()[-2:]
        self.peak, self.cpu = float(peak), float(cpu)


def workers_kwargs(args: argparse.Namespace) -> dict:
    """``load_chain``'s ``workers`` when the run sets it (older code has no such parameter)."""
    return {} if args.workers is None else {"workers": args.workers}


# --------------------------------------------------------------------------- the chain
def chain_dir(workdir: Path, branches: int, items: int, days: int, seed: int, messy: bool) -> Path:
    kind = "messy" if messy else "clean"
    return Path(workdir) / f"chain-{branches}x{items}x{days}-s{seed}-{kind}"


def ensure_chain(
    workdir: Path,
    branches: int,
    items: int,
    days: int,
    seed: int,
    messy: bool,
    regenerate: bool = False,
) -> tuple[Path, dict]:
    """The cached chain directory and its synth summary; generates it (in a child) when absent.

    A directory counts as complete only once ``synth_summary.json`` is written, after all six
    files: an interrupted generation is regenerated, never half-read.
    """
    out = chain_dir(workdir, branches, items, days, seed, messy)
    marker = out / SUMMARY
    if marker.is_file() and not regenerate:
        print(f"reusing the cached chain {out}", file=sys.stderr, flush=True)
        return out, json.loads(marker.read_text())
    if out.exists():
        shutil.rmtree(out)
    print(
        f"generating {branches}×{items}×{days} (seed {seed}, {'messy' if messy else 'clean'}) "
        f"into {out} — minutes for the full size …",
        file=sys.stderr,
        flush=True,
    )
    args = ["--child", "synth", "--data", str(out), "--branches", str(branches)]
    args += ["--items", str(items), "--days", str(days), "--seed", str(seed)]
    args += [] if messy else ["--clean"]
    summary = run_child(args)
    marker.write_text(json.dumps(summary, indent=2))
    return out, summary


def data_summary(data: Path) -> dict:
    """Lines and bytes per CSV file (counted here, not trusted from the generator)."""
    files = {}
    for path in sorted(Path(data).glob("*.csv")):
        with path.open("rb") as f:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
        files[path.name] = {"lines": lines, "mb": path.stat().st_size / 1e6}
    return files


# --------------------------------------------------------------------------- child steps
def child_synth(args: argparse.Namespace) -> dict:
    from stockout_sk.synth import generate_chain

    started = time.perf_counter()
    summary = generate_chain(
        args.data,
        branches=args.branches,
        items=args.items,
        days=args.days,
        seed=args.seed,
        messy=not args.clean,
    )
    result = summary.to_dict()
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def child_load(args: argparse.Namespace) -> dict:
    from stockout_sk.ingest import load_chain

    base = rss_mb()
    load_before = loadavg()
    with TreePeak() as tree:
        started, cpu_started = time.perf_counter(), cpu_seconds()
        chain = load_chain(args.data, chunksize=args.chunksize, **workers_kwargs(args))
        seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started - tree.cpu
    peak = peak_rss_mb()
    report = chain.report
    return {
        "step": "load_chain",
        "chunksize": args.chunksize,
        "workers": args.workers,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_after_imports_mb": base,
        "peak_rss_mb": peak,
        "tree_peak_rss_mb": max(tree.peak, peak),
        "rss_end_mb": rss_mb(),
        "read": {name: rep.read for name, rep in report.files.items()},
        "rejected": {name: rep.rejected for name, rep in report.files.items()},
        "reconciled": report.reconciled,
        "flow_rows": len(chain.flows),
        "transfer_rows": len(chain.transfers),
        "snapshot_keys": len(chain.stock_current),
        "history": [report.history_start, report.history_end],
        "loadavg_before": load_before,
        "loadavg": loadavg(),
    }


def child_dataset(args: argparse.Namespace) -> dict:
    from stockout_sk.ingest import load_chain
    from stockout_sk.ingest.memory import _reused_pages
    from stockout_sk.labels import build_dataset

    base = rss_mb()
    load_before = loadavg()
    with TreePeak() as tree, _reused_pages():  # as `stockout-sk build-dataset` runs them
        started, cpu_started = time.perf_counter(), cpu_seconds()
        chain = load_chain(args.data, chunksize=args.chunksize, **workers_kwargs(args))
        ingest_seconds = time.perf_counter() - started
        ingest_peak = peak_rss_mb()
        started = time.perf_counter()
        dataset = build_dataset(chain, horizon=args.horizon)
        label_seconds = time.perf_counter() - started
    frame = dataset.frame
    return {
        "step": "build_dataset",
        "chunksize": args.chunksize,
        "workers": args.workers,
        "horizon": args.horizon,
        "seconds": ingest_seconds + label_seconds,
        "cpu_seconds": cpu_seconds() - cpu_started - tree.cpu,
        "ingest_seconds": ingest_seconds,
        "labels_seconds": label_seconds,
        "rss_after_imports_mb": base,
        "ingest_peak_rss_mb": ingest_peak,
        "peak_rss_mb": peak_rss_mb(),
        "tree_peak_rss_mb": max(tree.peak, peak_rss_mb()),
        "rss_end_mb": rss_mb(),
        "rows": len(frame),
        "keys": dataset.report["keys"],
        "positive_rate": dataset.report["positive_rate"],
        "frame_mb": frame.memory_usage(deep=True).sum() / 1e6,
        "negative_stock_cells": dataset.report["negative_stock_cells"],
        "loadavg_before": load_before,
        "loadavg": loadavg(),
    }


def child_naive(args: argparse.Namespace) -> dict:
    import pandas as pd

    base = rss_mb()
    started = time.perf_counter()
    frame = pd.read_csv(
        Path(args.data) / "sales_transactions.csv",
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    return {
        "step": "naive read_csv(sales, dtype=str)",
        "seconds": time.perf_counter() - started,
        "rss_after_imports_mb": base,
        "peak_rss_mb": peak_rss_mb(),
        "rows": len(frame),
        "loadavg": loadavg(),
    }


def child_pyarrow(args: argparse.Namespace) -> dict:
    """The yardstick: ``pyarrow.csv.read_csv`` of the six files, default options (types inferred,
    all cores), nothing validated."""
    import pyarrow.csv as pa_csv

    base = rss_mb()
    load_before = loadavg()
    started, cpu_started = time.perf_counter(), time.process_time()
    rows = {
        path.name: pa_csv.read_csv(path).num_rows for path in sorted(Path(args.data).glob("*.csv"))
    }
    return {
        "step": "pyarrow.csv.read_csv",
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "rss_after_imports_mb": base,
        "peak_rss_mb": peak_rss_mb(),
        "tree_peak_rss_mb": peak_rss_mb(),
        "rows": rows,
        "loadavg_before": load_before,
        "loadavg": loadavg(),
    }


CHILDREN = {
    "synth": child_synth,
    "load": child_load,
    "dataset": child_dataset,
    "naive": child_naive,
    "pyarrow": child_pyarrow,
}


def run_child(args: list[str], script: str | Path | None = None, code: Path = REPO) -> dict:
    """Run ``script`` (default: this one) as a child importing ``stockout_sk`` from ``code``;
    its last stdout line is the JSON result."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    # stderr is inherited: the child's progress lines and any traceback show as they happen.
    done = subprocess.run(
        [sys.executable, str(Path(script or __file__).resolve()), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args[:2]} failed (exit {done.returncode}); see its error above")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_measured(args: list[str], warm: bool, code: Path = REPO) -> dict:
    """:func:`run_child`, after one unmeasured run of the same child when ``warm``."""
    if warm:
        run_child(args, code=code)
    return run_child(args, code=code)


# --------------------------------------------------------------------------- summaries
def spread(values: list[float], digits: int = 1) -> str:
    """``median [min–max]``."""
    med, lo, hi = statistics.median(values), min(values), max(values)
    return f"{med:8.{digits}f} [{lo:.{digits}f}–{hi:.{digits}f}]"


def over_pyarrow(runs: dict[str, list[dict]], yardstick: list[dict]) -> dict[str, dict]:
    """Per step: wall and CPU time over pyarrow's, run by run (run ``i`` against pyarrow's ``i``),
    printed as medians and ranges beside the step's own times and peak memory."""
    print(
        f"{'step':<30}{'seconds':>22}{'CPU seconds':>22}{'peak RSS MB (all processes)':>30}"
        f"{'time / pyarrow':>22}{'CPU / pyarrow':>22}"
    )
    out = {}
    for name, rs in runs.items():
        t = [r["seconds"] / p["seconds"] for r, p in zip(rs, yardstick, strict=True)]
        c = [r["cpu_seconds"] / p["cpu_seconds"] for r, p in zip(rs, yardstick, strict=True)]
        secs, cpu = [r["seconds"] for r in rs], [r["cpu_seconds"] for r in rs]
        peak = [r.get("tree_peak_rss_mb", r["peak_rss_mb"]) for r in rs]
        print(
            f"{name:<30}{spread(secs, 2):>22}{spread(cpu, 2):>22}{spread(peak, 0):>30}"
            f"{spread(t, 2):>22}{spread(c, 2):>22}"
        )
        out[name] = {"time_ratio": t, "cpu_ratio": c}
    return out


# --------------------------------------------------------------------------- compare
def code_at(ref: str, workdir: Path) -> Path:
    """The ``stockout_sk`` package of git revision ``ref``, extracted under ``workdir``."""
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    out = Path(workdir) / f"code-{sha}"
    if not (out / "stockout_sk" / "__init__.py").is_file():
        out.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, "stockout_sk"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def compare(args: argparse.Namespace, data: Path, common: list[str]) -> dict:
    """``load_chain`` of this checkout vs ``args.compare``, in ABBA order; prints the table."""
    sides = {"this checkout": REPO, args.compare: code_at(args.compare, args.workdir)}
    names = list(sides)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    yardstick: list[dict] = []
    for i in range(args.repeats):
        for name in names if i % 2 == 0 else names[::-1]:
            print(f"running load_chain ({name}), pair {i + 1}/{args.repeats} …", file=sys.stderr)
            child = ["--child", "load", *common, "--chunksize", str(args.chunksize)]
            if args.workers and name == "this checkout":
                child += ["--workers", str(args.workers[0])]
            runs[name].append(run_measured(child, args.warm, code=sides[name]))
        print(f"running pyarrow.csv.read_csv, pair {i + 1}/{args.repeats} …", file=sys.stderr)
        yardstick.append(run_measured(["--child", "pyarrow", *common], args.warm))

    print(f"\nload_chain side by side, {args.repeats} pair(s), chunksize {args.chunksize:,}")
    print(
        f"{'code':<24}{'seconds median [range]':>28}{'CPU seconds median [range]':>32}"
        f"{'peak RSS MB median [range]':>32}"
    )
    for name in names:
        secs = [r["seconds"] for r in runs[name]]
        cpu = [r["cpu_seconds"] for r in runs[name]]
        peaks = [r.get("tree_peak_rss_mb", r["peak_rss_mb"]) for r in runs[name]]
        print(f"{name:<24}{spread(secs):>28}{spread(cpu):>32}{spread(peaks):>32}")
    a, b = names
    time_ratio = [x["seconds"] / y["seconds"] for x, y in zip(runs[a], runs[b], strict=True)]
    cpu_ratio = [x["cpu_seconds"] / y["cpu_seconds"] for x, y in zip(runs[a], runs[b], strict=True)]
    peak_ratio = [
        x.get("tree_peak_rss_mb", x["peak_rss_mb"]) / y.get("tree_peak_rss_mb", y["peak_rss_mb"])
        for x, y in zip(runs[a], runs[b], strict=True)
    ]
    print(
        f"ratio {a} / {b}: time {statistics.median(time_ratio):.2f} "
        f"[{min(time_ratio):.2f}–{max(time_ratio):.2f}], CPU time "
        f"{statistics.median(cpu_ratio):.2f} [{min(cpu_ratio):.2f}–{max(cpu_ratio):.2f}], "
        "peak memory "
        f"{statistics.median(peak_ratio):.2f} [{min(peak_ratio):.2f}–{max(peak_ratio):.2f}]"
    )
    same = all(
        (x["read"], x["flow_rows"], x["transfer_rows"])
        == (y["read"], y["flow_rows"], y["transfer_rows"])
        for x, y in zip(runs[a], runs[b], strict=True)
    )
    print(f"same records read and same flow/transfer rows on both sides: {same}")
    print("\nagainst pyarrow.csv.read_csv of the same six files (each pair's own pyarrow run)")
    ratios = over_pyarrow({f"load_chain ({name})": runs[name] for name in names}, yardstick)
    load = [r["loadavg"][0] for side in runs.values() for r in side]
    print(f"1-minute load average at the end of the runs: {min(load):.1f}–{max(load):.1f}")
    return {
        "compare": args.compare,
        "runs": runs,
        "time_ratio": time_ratio,
        "cpu_ratio": cpu_ratio,
        "peak_ratio": peak_ratio,
        "pyarrow": yardstick,
        "over_pyarrow": ratios,
    }


# --------------------------------------------------------------------------- main
def chain_args(parser: argparse.ArgumentParser, workdir_help: str = "chain cache") -> None:
    """The options that choose the simulated chain (or ``--data``) and its cache; shared by the
    benchmarks that reuse this one's cached chains."""
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clean", action="store_true", help="clean exports (default: messy)")
    parser.add_argument("--data", type=Path, help="use these six CSV files instead of generating")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=workdir_help)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    chain_args(parser)
    parser.add_argument("--regenerate", action="store_true", help="ignore the cached chain")
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument("--chunksize", type=int, default=DEFAULT_CHUNKSIZE)
    parser.add_argument(
        "--chunksizes",
        default="50000,500000",
        help="comma-separated chunk sizes for the memory-vs-chunksize rows",
    )
    parser.add_argument(
        "--naive", action="store_true", help="also a whole-file read_csv of sales, for contrast"
    )
    parser.add_argument(
        "--compare", metavar="REF", help="time load_chain against git revision REF instead"
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="run every measured step once before, unmeasured (memory just freed by its kind)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="rounds of load_chain, build-dataset and pyarrow (pairs with --compare)",
    )
    parser.add_argument(
        "--workers",
        type=lambda text: [int(w) for w in text.split(",") if w.strip()],
        default=None,
        help="comma-separated ingestion worker counts to run load_chain and build-dataset with, "
        "side by side (e.g. 1,2; default: load_chain's own default, the machine's cores); with "
        "--compare, one count for this checkout",
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        args.workers = args.workers[0] if args.workers else None
        print(json.dumps(CHILDREN[args.child](args)))
        return 0

    if args.data is not None:
        data, synth = args.data.resolve(), None
        if not (data / "stock_current.csv").is_file():
            raise SystemExit(f"{data} does not hold the six CSV files (stock_current.csv missing)")
    else:
        data, synth = ensure_chain(
            args.workdir,
            args.branches,
            args.items,
            args.days,
            args.seed,
            not args.clean,
            args.regenerate,
        )
    files = data_summary(data)
    common = ["--data", str(data), "--horizon", str(args.horizon)]
    sizes = [int(s) for s in args.chunksizes.split(",") if s.strip()]

    if args.compare:
        for name, f in files.items():
            print(f"  {name:<26}{f['lines'] - 1:>12,} lines {f['mb']:>9.1f} MB")
        result = compare(args, data, common)
        summary = {"bench": "dataset-compare", "data": str(data), "files": files, "warm": args.warm}
        print(json.dumps({**summary, **result}))
        return 0

    counts = args.workers or [None]

    def named(step: str, w: int | None) -> str:
        return step if w is None else f"{step} ({w} worker{'s' if w > 1 else ''})"

    steps = [(named("load_chain", w), "load", args.chunksize, w) for w in counts]
    steps += [(named("build-dataset", w), "dataset", args.chunksize, w) for w in counts]
    steps.append(("pyarrow.csv.read_csv", "pyarrow", 0, None))
    # Each round runs the steps in a rotated order, so a drifting machine favours none.
    n = len(steps)
    plan = [steps[(i + k) % n] for i in range(args.repeats) for k in range(n)]
    plan += [(f"load_chain chunksize {s:,}", "load", s, counts[-1]) for s in sizes]
    if args.naive:
        plan.append(("naive read_csv(sales)", "naive", 0, None))
    results = []
    for label, child, chunksize, w in plan:
        print(f"running {label} …", file=sys.stderr, flush=True)
        given = ["--child", child, *common, "--chunksize", str(chunksize or 1)]
        result = run_measured(given + ([] if w is None else ["--workers", str(w)]), args.warm)
        result["label"] = result.get("label", label)
        results.append(result)

    rounds = {name: [r for r in results if r["label"] == name] for name, *_ in steps}
    load, dataset = rounds[steps[0][0]][0], rounds[named("build-dataset", counts[0])][0]
    print(f"\nbench_dataset on {data}")
    if synth is not None:
        print(
            f"chain: {synth['branches']} branches × {synth['items']} items × {synth['days']} days, "
            f"seed {synth['seed']}, {'messy' if synth['messy'] else 'clean'}"
            + (
                f" (generated in {synth['seconds']:.0f} s, peak RSS {synth['peak_rss_mb']:.0f} MB)"
                if "seconds" in synth
                else ""
            )
        )
    for name, f in files.items():
        print(f"  {name:<26}{f['lines'] - 1:>12,} lines {f['mb']:>9.1f} MB")
    print(
        f"distinct keys after ingest: {load['flow_rows']:,} branch×item×day flow rows, "
        f"{load['transfer_rows']:,} day×from×to×item transfer rows, "
        f"{load['snapshot_keys']:,} branch×item keys"
    )
    header = (
        f"{'step':<36}{'chunksize':>10}{'seconds':>9}{'RSS after imports MB':>22}"
        f"{'peak RSS MB':>13}{'all processes':>15}{'load avg (1/5/15)':>20}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        la = "/".join(f"{x:.1f}" for x in r["loadavg"])
        cs = f"{r['chunksize']:,}" if "chunksize" in r else "-"
        print(
            f"{r['label']:<36}{cs:>10}{r['seconds']:>9.1f}{r['rss_after_imports_mb']:>22.0f}"
            f"{r['peak_rss_mb']:>13.0f}{r.get('tree_peak_rss_mb', r['peak_rss_mb']):>15.0f}{la:>20}"
        )
    print("-" * len(header))
    print(
        f"build-dataset: ingest {dataset['ingest_seconds']:.1f} s (peak "
        f"{dataset['ingest_peak_rss_mb']:.0f} MB) + labels {dataset['labels_seconds']:.1f} s; "
        f"{dataset['rows']:,} rows ({dataset['keys']:,} keys), positive rate "
        f"{dataset['positive_rate']:.3f} at horizon {dataset['horizon']}; the table holds "
        f"{dataset['frame_mb']:.0f} MB in memory"
    )
    sweep = [r for r in results if r["label"].startswith("load_chain chunksize")]
    if len(sweep) >= 2:
        lo, hi = sweep[0], sweep[-1]
        lines = sum(f["lines"] - 1 for f in files.values())
        print(
            f"memory vs chunksize: {lo['chunksize']:,} → {hi['chunksize']:,} rows per chunk "
            f"moves the peak {lo['peak_rss_mb']:.0f} → {hi['peak_rss_mb']:.0f} MB "
            f"({hi['peak_rss_mb'] - lo['peak_rss_mb']:+.0f} MB); {lines:,} CSV lines in all, "
            f"{load['flow_rows']:,} flow keys kept"
        )
    print(f"reconciled (read = accepted + rejected, every file): {load['reconciled']}")
    print(
        f"\n{args.repeats} round(s) against pyarrow.csv.read_csv of the same six files "
        f"(run by run; {os.cpu_count()} CPUs; CPU seconds count every thread; "
        + ("each run after one of its own, --warm)" if args.warm else "cold: see --warm)")
    )
    ratios = over_pyarrow(
        {name: rs for name, rs in rounds.items() if name != "pyarrow.csv.read_csv"},
        rounds["pyarrow.csv.read_csv"],
    )
    load1 = [r["loadavg"][0] for r in results]
    print(f"1-minute load average at the end of the runs: {min(load1):.1f}–{max(load1):.1f}")
    print(
        json.dumps(
            {
                "bench": "dataset",
                "data": str(data),
                "synth": synth,
                "files": files,
                "results": results,
                "over_pyarrow": ratios,
                "warm": args.warm,
                "cpus": os.cpu_count(),
                "loadavg": loadavg(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
