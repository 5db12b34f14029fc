"""The weeks after the export: the pipeline against a plain LightGBM and both baselines.

Why: one holdout is an anecdote. Issue #13 asks how the product does in the days *after* an
export of two or three months, on real demand and on simulated chains, fold by fold, with
intervals; and which threshold choice and which deployed model (the evaluated one, or its refit
on every matured row) do better there. This script answers all three from the same fits.

Chains and protocols. Every fold is one origin ``T``: an export that ended on day ``T``, on which
the product trains exactly as ``stockout-sk train`` would
(:func:`stockout_sk.backtest.run_backtest`: windows sized from that export, threshold from its
folds, refit on every matured row); it then
scores the morning list of day ``T`` — every branch×item as of ``T`` — against what happened in
the 7 days after the export. A daily retrain (the default schedule) serves exactly that list each
morning, so the weeks after an export are covered by the origins that follow it:

* **Real-demand replays** (``benchmarks/realdata_replay.py``: FreshRetailNet-50K daily sales of
  12 stores as demand, stock and exports simulated; one replay per ``--replay-seeds`` entry, a
  different store sample each). Origins at exports of 56, 60, 64, 68, 72, 76, 80 and 83 days,
  grouped as ``E60`` (56–64), ``E70`` (68–72) and ``E80`` (76–83). The dataset has 90 days, so the
  last export whose next 7 days are known is 83 days long: an export of **90** days cannot be
  scored on real demand here (the dataset's 7 evaluation days are not in the sample).
* **Simulated chains** (:func:`stockout_sk.synth.generate_chain`, 6 branches × 40 items, 110
  days, one per ``--sim-seeds`` entry): exports of 60, 63, 66 (``S60``), 80, 83, 86 (``S80``) and
  90, 93, 96 days (``S90``).

What is compared, per fold and over all folds (mean with a 90 % Student-t interval, and the
pipeline's paired margin over each model with its interval and the folds where it is ≥ 0):

* PR-AUC, F1 and recall in the top 5 % of the pipeline, the plain LightGBM (a dozen point-in-time
  features, its threshold chosen as the pipeline's: on the same folds, or under the default
  ``threshold_method="expected"`` on the same morning list), the velocity and the rule
  baselines;
* the threshold: F1 after the export at the threshold each method picks for the deployed model
  (``expected`` = the morning list's expected-F1 cut, the default; ``pooled``, ``median``,
  ``last`` = one window, the choice before the folds) — same fits, same scores;
* the refit: PR-AUC and F1 of the deployed refit against the evaluated (gated) model it came from;
* ``--variant NAME:field=value,...`` reruns everything with ModelConfig overrides (e.g.
  ``--variant no-censored:censored_demand=False``), prints its tables beside the default's and
  the default's margin over it, fold by fold on the same folds.

Usage::

    .venv/bin/python benchmarks/bench_backtest.py [--replay-seeds 0 1 2 3 4 5 6 7]
        [--sim-seeds 5 7 11]
        [--stores 12] [--n-estimators N] [--variant NAME:k=v,...] [--workdir DIR]

Prints one line per fold as it goes, then the tables, then one ``BENCH {...}`` JSON line. Exits 0
whatever the verdict.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realdata_replay import CREDIT, DEFAULT_FILE, write_replay

from stockout_sk.backtest import MODEL_LABELS, FoldResult, mean_interval, run_backtest
from stockout_sk.config import ModelConfig
from stockout_sk.evaluate import THRESHOLD_METHODS, classification_metrics
from stockout_sk.ingest import load_chain
from stockout_sk.synth import generate_chain

COMPARED = ("plain", "velocity", "rule")


@dataclass
class Protocol:
    """A group of origins, given as export lengths in days from the chain's first day."""

    name: str
    export_days: list[int]


REPLAY_PROTOCOLS = (
    Protocol("E60", [56, 60, 64]),
    Protocol("E70", [68, 72]),
    Protocol("E80", [76, 80, 83]),
)
SIM_PROTOCOLS = (
    Protocol("S60", [60, 63, 66]),
    Protocol("S80", [80, 83, 86]),
    Protocol("S90", [90, 93, 96]),
)
SIM_SHAPE = {"branches": 6, "items": 40, "days": 110}


def loadavg() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def fold_record(chain_name: str, protocol: str, fold: FoldResult) -> dict[str, Any]:
    """Everything the summary needs from one fold (scores are not kept)."""
    y = fold.y
    # The deployed model's: the folds' cuts it kept, and the morning list's under "expected".
    candidates = (fold.deployed or fold.fitted).validation.get("candidates", {})
    threshold_f1 = {
        method: classification_metrics(y, fold.scores["model"], threshold=cut)["f1"]
        for method, cut in candidates.items()
    }
    record = {
        "chain": chain_name,
        "protocol": protocol,
        "fold": fold.fold,
        "origin": str(fold.origin.date()),
        "export_days": fold.export_days,
        "scored": [str(fold.scored[0].date()), str(fold.scored[1].date())],
        "rows": fold.rows,
        "positives": fold.positives,
        "windows": fold.windows.reason,
        "metrics": fold.metrics,
        "threshold_f1": threshold_f1,
        "thresholds": candidates,
        "fold_threshold_range": (fold.fitted.validation.get("spread") or {}).get("range"),
    }
    if "model_gated" in fold.scores:
        record["gated"] = fold.metrics["model_gated"]
    return record


def run_chain(
    name: str, data: Path, protocols, config: ModelConfig, *, start: pd.Timestamp
) -> list[dict[str, Any]]:
    chain = load_chain(data)
    records = []
    for protocol in protocols:
        origins = [start + pd.Timedelta(days=e - 1) for e in protocol.export_days]
        report = run_backtest(chain, config, origins=origins, data=name, progress=lambda line: None)
        for fold in report.folds:
            record = fold_record(name, protocol.name, fold)
            records.append(record)
            m = record["metrics"]
            print(
                f"  {name:<10}{protocol.name:<5} export {fold.export_days:>3} d, "
                f"{fold.rows:>6,} rows ({fold.positives:,} pos): "
                + "  ".join(
                    f"{key} {_fmt(m[key]['pr_auc'])}/{_fmt(m[key]['f1'])}"
                    for key in ("model", *COMPARED)
                )
                + f"  [{fold.seconds:.0f} s]",
                flush=True,
            )
    return records


def paired(first: list[float], second: list[float]) -> dict[str, Any]:
    """Mean of ``first − second`` fold by fold, its interval, wins and both means."""
    deltas = [a - b for a, b in zip(first, second, strict=True) if a is not None and b is not None]
    return {
        **mean_interval(deltas),
        "wins": int(sum(d >= 0 for d in deltas)),
        "first_mean": float(np.mean(first)) if first else None,
        "second_mean": float(np.mean(second)) if second else None,
    }


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Means with intervals, the pipeline's paired margins, threshold methods and the refit."""
    models = ("model", *COMPARED)
    out: dict[str, Any] = {"folds": len(records), "mean": {}, "versus": {}}
    for model in models:
        out["mean"][model] = {
            metric: mean_interval([r["metrics"][model][metric] for r in records])
            for metric in ("pr_auc", "f1", "recall_at_top")
        }
    for other in COMPARED:
        out["versus"][other] = {
            metric: paired(
                [r["metrics"]["model"][metric] for r in records],
                [r["metrics"][other][metric] for r in records],
            )
            for metric in ("pr_auc", "f1")
        }
    methods = [m for m in THRESHOLD_METHODS if all(m in r["threshold_f1"] for r in records)]
    out["threshold"] = {
        method: mean_interval([r["threshold_f1"][method] for r in records]) for method in methods
    }
    out["threshold_versus_last"] = {
        method: paired(
            [r["threshold_f1"][method] for r in records],
            [r["threshold_f1"]["last"] for r in records],
        )
        for method in methods
        if method != "last"
    }
    gated = [r for r in records if "gated" in r]
    if gated:
        out["refit"] = {
            metric: paired(
                [r["metrics"]["model"][metric] for r in gated],
                [r["gated"][metric] for r in gated],
            )
            for metric in ("pr_auc", "f1")
        }
    return out


def print_summary(title: str, summary: dict[str, Any]) -> None:
    n = summary["folds"]
    print(f"\n=== {title}: {n} folds (mean over folds, 90% Student-t interval)")
    print(f"  {'':<22}{'PR-AUC':>26}{'F1':>26}{'recall@5%':>26}")
    for model in ("model", *COMPARED):
        row = f"  {MODEL_LABELS[model]:<22}"
        for metric in ("pr_auc", "f1", "recall_at_top"):
            m = summary["mean"][model][metric]
            row += f"{_fmt(m['mean']):>8} [{_fmt(m['low'])}, {_fmt(m['high'])}]".rjust(26)
        print(row)
    for other in COMPARED:
        parts = []
        for metric in ("pr_auc", "f1"):
            d = summary["versus"][other][metric]
            parts.append(
                f"{metric}: {_fmt(d['mean'], '+.3f')} [{_fmt(d['low'], '+.3f')}, "
                f"{_fmt(d['high'], '+.3f')}], ≥ on {d['wins']}/{n}"
            )
        print(f"  pipeline − {MODEL_LABELS[other]:<18} " + "; ".join(parts))
    t = summary["threshold"]
    print(
        "  F1 after the export by threshold choice: "
        + ", ".join(f"{k} {_fmt(v['mean'])}" for k, v in t.items())
    )
    for method, d in summary["threshold_versus_last"].items():
        print(
            f"    {method} − last (one window): {_fmt(d['mean'], '+.4f')} "
            f"[{_fmt(d['low'], '+.4f')}, {_fmt(d['high'], '+.4f')}], ≥ on {d['wins']}/{n}"
        )
    if "refit" in summary:
        for metric, d in summary["refit"].items():
            print(
                f"  refit − gated {metric}: {_fmt(d['mean'], '+.4f')} [{_fmt(d['low'], '+.4f')}, "
                f"{_fmt(d['high'], '+.4f')}], ≥ on {d['wins']}/{n} (refit "
                f"{_fmt(d['first_mean'])}, gated {_fmt(d['second_mean'])})"
            )


def variant_margins(results: dict[str, Any]) -> dict[str, Any]:
    """Default − each other variant: the pipeline's PR-AUC and F1 on the same folds."""
    base = results["default"]["records"]
    out: dict[str, Any] = {}
    for name, result in results.items():
        if name == "default":
            continue
        out[name] = {}
        for part, keep in (
            ("replay", lambda r: r["chain"].startswith("replay")),
            ("simulated", lambda r: r["chain"].startswith("sim")),
            ("all", lambda r: True),
        ):
            pairs = [(a, b) for a, b in zip(base, result["records"], strict=True) if keep(a)]
            if pairs:
                out[name][part] = {
                    metric: paired(
                        [a["metrics"]["model"][metric] for a, _ in pairs],
                        [b["metrics"]["model"][metric] for _, b in pairs],
                    )
                    for metric in ("pr_auc", "f1")
                }
    return out


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    name, _, body = text.partition(":")
    overrides: dict[str, Any] = {}
    for item in filter(None, body.split(",")):
        key, _, raw = item.partition("=")
        value: Any = raw
        if raw in ("True", "False"):
            value = raw == "True"
        else:
            try:
                value = int(raw)
            except ValueError:
                try:
                    value = float(raw)
                except ValueError:
                    value = raw
        overrides[key] = value
    return name, overrides


def run_all(args, config: ModelConfig, workdir: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    replay_seeds = args.replay_seeds
    if replay_seeds and not DEFAULT_FILE.is_file():
        print(f"skipping the real-demand replays: {DEFAULT_FILE} is not here", flush=True)
        replay_seeds = []
    for seed in replay_seeds:
        data = workdir / f"replay-{seed}"
        if not (data / "stock_current.csv").exists():
            write_replay(data, stores=args.stores, seed=seed)
        chain_start = pd.Timestamp("2024-03-28")
        records += run_chain(f"replay-{seed}", data, REPLAY_PROTOCOLS, config, start=chain_start)
    for seed in args.sim_seeds:
        data = workdir / f"sim-{seed}"
        if not (data / "stock_current.csv").exists():
            generate_chain(data, **SIM_SHAPE, seed=seed, messy=False)
        records += run_chain(
            f"sim-{seed}", data, SIM_PROTOCOLS, config, start=pd.Timestamp("2024-01-01")
        )
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay-seeds", type=int, nargs="*", default=list(range(8)))
    parser.add_argument("--sim-seeds", type=int, nargs="*", default=[5, 7, 11])
    parser.add_argument("--stores", type=int, default=12, help="stores per replay")
    parser.add_argument("--n-estimators", type=int, help="override ModelConfig.n_estimators")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME:field=value,... — rerun with these ModelConfig overrides",
    )
    parser.add_argument("--workdir", type=Path, help="keep generated chains here (default: temp)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    base = ModelConfig().with_overrides(n_estimators=args.n_estimators)
    variants = [("default", {}), *(parse_variant(v) for v in args.variant)]
    print(f"load average before: {loadavg()} ({os.cpu_count()} CPUs)")
    print(f"real demand: {CREDIT}")
    wall = time.perf_counter()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for name, overrides in variants:
            config = base.with_overrides(**overrides)
            print(f"\n--- variant {name} {overrides or ''}", flush=True)
            records = run_all(args, config, workdir)
            results[name] = {
                "overrides": overrides,
                "records": records,
                "summary": {
                    "all": summarise(records),
                    "replay": summarise([r for r in records if r["chain"].startswith("replay")]),
                    "simulated": summarise([r for r in records if r["chain"].startswith("sim")]),
                    **{
                        p.name: summarise([r for r in records if r["protocol"] == p.name])
                        for p in (*REPLAY_PROTOCOLS, *SIM_PROTOCOLS)
                    },
                },
            }
    for name, result in results.items():
        parts = [p.name for p in (*REPLAY_PROTOCOLS, *SIM_PROTOCOLS)]
        for part in (*parts, "replay", "simulated", "all"):
            if result["summary"][part]["folds"]:
                print_summary(f"{name} — {part}", result["summary"][part])
    compared = variant_margins(results)
    for name, parts in compared.items():
        print(f"\n=== default − {name}: the pipeline, fold by fold (same folds)")
        for part, metrics in parts.items():
            print(
                f"  {part:<10}"
                + "; ".join(
                    f"{metric} {_fmt(d['mean'], '+.4f')} [{_fmt(d['low'], '+.4f')}, "
                    f"{_fmt(d['high'], '+.4f')}], ≥ on {d['wins']}/{d['n']}"
                    for metric, d in metrics.items()
                )
            )
    seconds = time.perf_counter() - wall
    print(f"\nwall time {seconds:.0f} s; load average after: {loadavg()}")
    payload = {
        "bench": "backtest",
        "variants": results,
        "versus_default": compared,
        "seconds": seconds,
    }
    print("BENCH " + json.dumps(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
