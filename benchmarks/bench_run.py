"""Wall time of the main job, step by step: the ``run-pipeline`` flow end to end on sample_data.

Each run is a fresh Python process, as ``make run`` is, so interpreter start-up, imports, Prefect's
temporary server and MLflow's store creation are all counted. Two runs by default, side by side:

* ``cold`` — a new MLflow store (SQLite tables created) and an empty registry;
* ``warm`` — the same store again: the promotion step now loads and re-scores the production
  model, as a daily run does.

Each run gets its own output folder, so LightGBM never resumes from the other run's checkpoints.

Usage::

    .venv/bin/python benchmarks/bench_run.py [--data sample_data] [--runs 2] [--target 45]

Prints one table (seconds and share of the total per step) and exits 1 when a run exceeds the
target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs in the child process: times imports, Prefect's start-up and the flow call separately.
CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    t0 = time.perf_counter()
    from flows.run_pipeline import run
    t_import = time.perf_counter() - t0

    t1 = time.perf_counter()
    if not os.environ.get("PREFECT_API_URL"):
        # The same singleton the flow would start lazily; starting it first times it alone.
        from prefect.server.api.server import SubprocessASGIServer
        SubprocessASGIServer().start(timeout=90)
    t_prefect = time.perf_counter() - t1

    t2 = time.perf_counter()
    summary = run(data_dir=sys.argv[1], out_dir=sys.argv[2], tracking_uri=sys.argv[3],
                  min_f1=float(sys.argv[4]))
    t_flow = time.perf_counter() - t2
    print("BENCH " + json.dumps({"import": t_import, "prefect_start": t_prefect,
                                  "flow_call": t_flow, "summary": summary}))
    """
)

#: Rows of the table: (label, how to get seconds from a run's measurements).
STEPS = [
    ("python + imports", lambda m: m["import"]),
    ("Prefect start-up", lambda m: m["prefect_start"]),
    ("ingest + validate", lambda m: m["t"]["ingest"] + m["t"]["validate"]),
    ("build dataset", lambda m: m["t"]["dataset"]),
    ("fit", lambda m: m["t"]["fit"]),
    ("evaluate", lambda m: m["t"]["evaluate"]),
    ("(MLflow store set-up, background)", lambda m: m["t"]["tracking_setup"]),
    ("wait for MLflow set-up", lambda m: m["t"]["tracking_wait"]),
    ("log + register", lambda m: m["t"]["register"]),
    ("promote", lambda m: m["t"]["promote"]),
    ("refit on every matured row", lambda m: m["t"].get("refit", 0.0)),
    ("log + register the refit", lambda m: m["t"].get("register_refit", 0.0)),
    ("Prefect bookkeeping", lambda m: m["flow_call"] - m["t"]["flow_body"]),
    (
        "exit (server stop)",
        lambda m: m["total"] - m["import"] - m["prefect_start"] - m["flow_call"],
    ),
]


def run_once(data: Path, out: Path, tracking_uri: str, min_f1: float) -> dict:
    """One child process running the flow; returns its measurements."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(out), tracking_uri, str(min_f1)],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    total = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-5000:])
        raise SystemExit(f"the flow failed (exit {done.returncode}); see the error above")
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BENCH "))
    measured = json.loads(line.removeprefix("BENCH "))
    measured["total"] = total
    measured["t"] = measured["summary"]["timings"]
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO / "sample_data"), help="the six CSV files")
    parser.add_argument("--runs", type=int, default=2, help="1 = cold only, 2 = cold + warm")
    parser.add_argument("--target", type=float, default=45.0, help="seconds per run")
    parser.add_argument(
        "--min-f1",
        type=float,
        default=0.0,
        help="promotion gate of the runs (default 0: the cold run is promoted, so the warm run "
        "pays for re-scoring production — the full path of a daily run)",
    )
    args = parser.parse_args(argv)
    data = Path(args.data).resolve()
    if not (data / "stock_current.csv").is_file():
        raise SystemExit(
            f"{data} does not hold the six CSV files (stock_current.csv missing); run "
            "`make sample-data` or pass --data DIR"
        )

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        tracking_uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        names = ["cold", "warm"][: args.runs] + [f"run{i}" for i in range(3, args.runs + 1)]
        results = {}
        for name in names:
            out = Path(tmp) / name
            out.mkdir()
            print(f"running {name} …", file=sys.stderr, flush=True)
            results[name] = run_once(data, out, tracking_uri, args.min_f1)

    cpus = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"run-pipeline on {data} ({cpus} CPUs; 1-min load average {load_before:.1f} before, "
        f"{load:.1f} after — other processes slow LightGBM's threads down a lot)"
    )
    header = f"{'step':36s}" + "".join(f"{name:>16s}" for name in results)
    print(header)
    print("-" * len(header))
    for label, get in STEPS:
        cells = ""
        for m in results.values():
            seconds = get(m)
            cells += f"{seconds:9.2f} s {100 * seconds / m['total']:3.0f}%"
        print(f"{label:36s}{cells}")
    print("-" * len(header))
    print(
        f"{'total (process wall time)':36s}"
        + "".join(f"{m['total']:9.2f} s     " for m in results.values())
    )
    for name, m in results.items():
        s = m["summary"]
        print(
            f"{name}: v{s['version']} {s['decision']} (F1 {s['metrics']['f1']:.3f}; "
            f"velocity baseline {s['baselines']['velocity']['f1']:.3f}); "
            f"{'within' if m['total'] <= args.target else 'OVER'} the {args.target:.0f} s target"
        )
    return 0 if all(m["total"] <= args.target for m in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
