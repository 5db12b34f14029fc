"""Size and render time of the morning-list page at chain scale, old page and new, side by side.

The page a planner opens every morning must open at once on a whole chain. This script builds
morning lists of realistic shape — the simulator's branch and item names (Arabic too), a skewed
probability with ~15 % at risk, quantities, and three reasons per row written by
:func:`stockout_sk.features.reasons.reason_text` from realistic feature values (so the page holds
as many distinct sentences as a real list) — at several sizes, and for each:

* writes the page of this version (``stockout_sk.scoring.render_html``: the data inlined once as
  JSON, rendered by the page's script) and the page of an earlier revision (``--old-rev``,
  default the commit before the issue-17 work: one server-rendered ``<tr>`` per row, capped at
  2,000 rows plus every at-risk row; ``--old-all`` also renders it with every row);
* measures its size, the Python time to render it, and in headless Chromium (Playwright, the
  system's ``/usr/bin/chromium``) the time until the list is on screen (navigation start →
  ``load`` event, and for the new page the moment its script has drawn the first rows), then,
  on the new page, the time to apply a branch filter, a search, a sort and "all items".

Each figure is the median over ``--repeats`` page loads and ``--seeds`` data sets, with the
minimum and maximum. Load averages are printed: other work on the machine slows everything.

``--score-with TRACKING_URI`` also times the Python side with a real model: the production
model of that store scores, explains and words a list of each size (``stock_current`` of
``--data`` tiled to the size), which is what ``stockout-sk score`` spends beyond reading the
exports.

Usage::

    .venv/bin/python benchmarks/bench_morning_list.py [--sizes 240 5000 52000] [--seeds 0 1 2]
        [--repeats 3] [--old-rev 6056225] [--old-all] [--chromium /usr/bin/chromium]
        [--score-with sqlite:///$PWD/mlflow.db --data sample_data [--score-only]]

Exits 0 either way; prints one table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stockout_sk.features.reasons import reason_text  # noqa: E402
from stockout_sk.scoring import MorningList, render_html  # noqa: E402
from stockout_sk.scoring.morning_list import LIST_COLUMNS  # noqa: E402
from stockout_sk.synth.catalogue import build_master  # noqa: E402

DEFAULT_OLD_REV = "6056225"
#: Features a real list names most, with a typical value for each (drawn around it).
_FEATURES = [
    ("headroom", "units"),
    ("headroom_ratio", "ratio"),
    ("min_headroom_ratio_28d", "ratio"),
    ("days_below_safety_28d", "count"),
    ("projected_headroom", "units"),
    ("days_of_cover", "days"),
    ("velocity", "rate"),
    ("sold_7d", "units"),
    ("branch_inflow_ratio", "ratio1"),
    ("days_since_inflow", "days"),
    ("ID hashes", "none"),
    ("CurrentQuantity", "units"),
    ("inflow_due_ratio", "ratio1"),
]


def _value(kind: str, rng: np.random.Generator) -> float | None:
    if kind == "units":
        return float(rng.integers(-30, 120))
    if kind == "ratio":
        return float(np.round(rng.normal(0.3, 0.6), 4))
    if kind == "ratio1":
        return float(np.round(rng.lognormal(0, 0.4), 4))
    if kind == "count":
        return float(rng.integers(0, 29))
    if kind == "days":
        return float(np.round(rng.gamma(2, 4), 1))
    if kind == "rate":
        return float(np.round(rng.gamma(2, 2), 3))
    return None


def synthetic_list(keys: int, seed: int) -> MorningList:
    """A morning list of about ``keys`` rows with the shape of a real one."""
    rng = np.random.default_rng(seed)
    items = max(10, round(float(np.sqrt(keys * 20))))
    branches = max(1, round(keys / items))
    chain = build_master(branches, items, pd.Timestamp("2024-01-01"), rng)
    n = branches * items
    b = np.repeat(np.arange(branches), items)
    i = np.tile(np.arange(items), branches)
    probability = np.sort(rng.beta(0.6, 2.5, n))[::-1]
    threshold = float(np.quantile(probability, 0.85))
    safety = rng.integers(2, 60, n).astype(float)
    on_hand = np.maximum(0, safety + rng.normal(10, 25, n)).round()
    reserved = np.minimum(on_hand, rng.poisson(1, n)).astype(float)
    headroom = on_hand - reserved - safety
    demand = np.round(rng.gamma(2, 2, n), 3)
    reasons = {k: [] for k in range(3)}
    picks = rng.integers(0, len(_FEATURES), (n, 3))
    for row in range(n):
        for k in range(3):
            name, kind = _FEATURES[picks[row, k]]
            contribution = float(rng.normal(0.5 if probability[row] > threshold else -0.3, 0.6))
            value = headroom[row] if name == "headroom" else _value(kind, rng)
            reasons[k].append(reason_text(name, value, contribution))
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, n + 1),
            "BranchID": [chain.branch_ids[x] for x in b],
            "BranchName": [chain.branch_names[x] for x in b],
            "ItemCode": [chain.item_codes[x] for x in i],
            "ItemName": [chain.english[x] for x in i],
            "ArabicName": [chain.arabic[x] for x in i],
            "as_of": "2024-07-28",
            "probability": probability,
            "at_risk": (probability >= threshold).astype(int),
            "CurrentQuantity": on_hand,
            "ReservedQuantity": reserved,
            "SafetyStockLevel": safety,
            "days_of_cover": np.minimum((on_hand - reserved) / demand, 365).round(2),
            "headroom": headroom,
            "days_to_safety_stock": np.where(headroom < 0, 0, np.floor(headroom / demand) + 1),
            "expected_shortfall": np.maximum(7 * demand - headroom, 0).round(2),
            "daily_demand": demand,
            "history_staleness_days": 0,
        }
    )[list(LIST_COLUMNS)]
    for k in range(3):
        frame[f"reason_{k + 1}"] = reasons[k]
    frame["source"] = "registry"
    frame["model_version"] = "7"
    unscored = pd.DataFrame(
        {
            "BranchID": [chain.branch_ids[0]] * 3,
            "ItemCode": ["", "ITMX1", "ITMX2"],
            "ItemName": ["", "", "Tea"],
            "kind": ["quarantined snapshot row"] * 2 + ["no snapshot row"],
            "reason": [
                "missing ItemCode (line 23)",
                "unparseable LastUpdatedAt (line 9)",
                "no row",
            ],
            "line": pd.array([23, 9, None], dtype="Int64"),
            "count": 1,
        }
    )
    return MorningList(
        frame=frame,
        source="registry",
        model_name="stockout-classifier",
        version="7",
        threshold=threshold,
        horizon=7,
        fallback_reason=None,
        as_of_first="2024-07-28",
        as_of_last="2024-07-28",
        history_end="2024-07-28",
        generated_at="2024-07-29T05:30:00+00:00",
        unscored=unscored,
    )


def old_renderer(rev: str) -> Any:
    """``render_html`` of the page module at git revision ``rev``, with its own assets."""

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:{path}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assets = {
        name: show(f"stockout_sk/reports/assets/{name}")
        for name in ("morning_list.css", "morning_list.js")
    }
    source = show("stockout_sk/scoring/page.py")
    module = types.ModuleType("old_page")
    module.__dict__["__name__"] = "old_page"
    source = source.replace("from stockout_sk.reports import asset\n", "")
    exec(compile(source, f"{rev}:page.py", "exec"), module.__dict__)
    module.asset = assets.__getitem__
    return module.render_html


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Browser:
    """One headless Chromium for the whole run; a fresh page per load."""

    def __init__(self, executable: str) -> None:
        from playwright.sync_api import sync_playwright

        self._play = sync_playwright().start()
        self._browser = self._play.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )

    def load(self, path: Path, interact: bool) -> dict[str, float]:
        page = self._browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri(), wait_until="load", timeout=300_000)
        out = {
            "load_ms": page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        }
        if interact:
            page.wait_for_selector("body[data-ready=true]", timeout=300_000)
            out["ready_ms"] = float(page.get_attribute("body", "data-ready-ms"))
            out.update(page.evaluate(_INTERACTIONS))
        if errors:
            raise RuntimeError(f"page errors in {path}: {errors}")
        page.close()
        return out

    def close(self) -> None:
        self._browser.close()
        self._play.stop()


# Each action is synchronous in the page's script; a frame after it, layout and paint are done.
_INTERACTIONS = """async () => {
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const time = async (act) => { const t = performance.now(); act(); const js = performance.now();
                                await frame(); return [js - t, performance.now() - t]; };
  const set = (id, value, type) => { const el = document.getElementById(id); el.value = value;
                                     el.dispatchEvent(new Event(type)); };
  const branch = document.querySelectorAll('#branch option')[1].value;
  const out = {};
  const record = (name, pair) => { out[name + '_js_ms'] = pair[0]; out[name + '_ms'] = pair[1]; };
  record('branch', await time(() => set('branch', branch, 'change')));
  record('all_items', await time(() => set('decision', 'all', 'change')));
  record('sort', await time(() => document.querySelector('th[data-sort=shortfall]').click()));
  set('branch', '', 'change');
  record('search', await time(() => set('search', 'milk', 'change')));
  return out;
}"""


_ACTIONS = ("branch", "all_items", "sort", "search")


def score_timing(tracking_uri: str, data: Path, sizes: list[int], repeats: int) -> None:
    """Time ``build_morning_list`` (score, explain, reasons, outlook, unscored) at each size,
    with three reasons a row and with none (``--reasons 0``: no explanations), side by side.

    The chain's ``stock_current`` is tiled to ``size`` rows (its keys repeat, with quantities
    drawn around the real ones), scored by the production model of ``tracking_uri``: what the
    list costs in Python at chain scale, with a real pipeline and real explanations.
    """
    from dataclasses import replace

    from stockout_sk.config import ServingSettings, Settings
    from stockout_sk.ingest import load_chain
    from stockout_sk.scoring import build_morning_list, resolve_snapshot

    chain = load_chain(data)
    snapshot = resolve_snapshot(ServingSettings(registry=Settings(tracking_uri=tracking_uri)))
    if snapshot.pipeline is None:
        raise SystemExit(f"no production model in {tracking_uri}: {snapshot.reason}")
    rng = np.random.default_rng(0)
    print(f"\nbuild_morning_list with {snapshot.model.get('model_name')} v{snapshot.version}")
    print(f"{'rows':>8s}{'reasons':>9s}{'seconds':>22s}{'rows/s':>12s}")
    for size in sizes:
        current = chain.stock_current
        tiled = current.iloc[np.arange(size) % len(current)].reset_index(drop=True)
        tiled = tiled.assign(
            CurrentQuantity=np.maximum(0, tiled["CurrentQuantity"] + rng.integers(-5, 6, size))
        )
        big = replace(chain, stock_current=tiled)
        seconds: dict[int, list[float]] = {3: [], 0: []}
        for _ in range(repeats):  # alternating: a change of the machine's load weighs on both
            for top in seconds:
                started = time.perf_counter()
                build_morning_list(big, snapshot, top_reasons=top)
                seconds[top].append(time.perf_counter() - started)
        for top, values in seconds.items():
            median = statistics.median(values)
            spread = f"{median:.2f} [{min(values):.2f}–{max(values):.2f}]"
            print(f"{size:>8,d}{top:>9d}{spread:>22s}{size / median:>12,.0f}")


def _summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    med = statistics.median(values)
    return f"{med:,.0f} [{min(values):,.0f}–{max(values):,.0f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[240, 5000, 52000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--old-rev", default=DEFAULT_OLD_REV)
    parser.add_argument("--old-all", action="store_true", help="also the old page with every row")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument(
        "--score-with",
        metavar="TRACKING_URI",
        help="also time build_morning_list with this store's production model on --data",
    )
    parser.add_argument("--data", type=Path, default=REPO / "sample_data")
    parser.add_argument("--score-only", action="store_true", help="skip the pages")
    args = parser.parse_args(argv)

    print(f"load average before: {loadavg()}", flush=True)
    if args.score_with:
        score_timing(args.score_with, args.data, args.sizes, args.repeats)
    if args.score_only:
        print(f"load average after: {loadavg()}")
        return 0
    old = old_renderer(args.old_rev)
    browser = Browser(args.chromium)
    results: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for size in args.sizes:
                for seed in args.seeds:
                    morning = synthetic_list(size, seed)
                    variants = {
                        "new": lambda m=morning: render_html(m),
                        f"old@{args.old_rev}": lambda m=morning: old(m),
                    }
                    if args.old_all:
                        variants["old, every row"] = lambda m=morning: old(m, max_rows=len(m.frame))
                    for name, render in variants.items():
                        started = time.perf_counter()
                        page = render()
                        python_ms = (time.perf_counter() - started) * 1000
                        path = Path(tmp) / f"{name.split('@')[0].replace(', ', '_')}-{size}.html"
                        path.write_text(page, encoding="utf-8")
                        entry = results.setdefault(
                            f"{size}|{name}", {"size": size, "variant": name, "rows": []}
                        )
                        entry.setdefault("mb", []).append(path.stat().st_size / 1e6)
                        entry.setdefault("python_ms", []).append(python_ms)
                        entry["rows"] = len(morning.frame)
                        for _ in range(args.repeats):
                            timing = browser.load(path, interact=name == "new")
                            for key, value in timing.items():
                                entry.setdefault(key, []).append(value)
                    print(f"  size {size} seed {seed} done (load {loadavg()})", flush=True)
    finally:
        browser.close()

    tables = (
        ("page", ["mb", "python_ms", "load_ms", "ready_ms"]),
        ("interactions (new page): script time", [f"{a}_js_ms" for a in _ACTIONS]),
        ("interactions (new page): to the next frame", [f"{a}_ms" for a in _ACTIONS]),
    )
    for title, keys in tables:
        print(f"\n{title}")
        print(f"{'rows':>7s} {'page':<18s}" + "".join(f"{k:>22s}" for k in keys))
        for entry in results.values():
            if not any(entry.get(k) for k in keys):
                continue
            cells = []
            for key in keys:
                values = entry.get(key, [])
                if key == "mb" and values:
                    cells.append(f"{statistics.median(values):>22.2f}")
                else:
                    cells.append(f"{_summary(values):>22s}")
            print(f"{entry['rows']:>7,d} {entry['variant']:<18s}" + "".join(cells))
    print("\nms: median [min–max] over seeds × repeats; mb: median page size (MB)")
    print(f"load average after: {loadavg()}")
    print(
        json.dumps(
            {
                k: {m: statistics.median(v) for m, v in e.items() if isinstance(v, list) and v}
                for k, e in results.items()
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
