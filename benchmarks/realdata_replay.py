"""A real-demand replay: FreshRetailNet-50K daily sales as demand, stock and exports simulated.

Why: simulated chains follow our own simulator's demand; a retailer's demand is lumpier, trends,
and has its own promotions and weekly cycles. This module turns real store×product daily sales
into a chain in the six-CSV contract, so the product can be trained and backtested on demand it
has never been shaped to.

What is real and what is not (say so wherever a figure from it is quoted):

* **Real**: the demand. A sample of ``stores`` stores (``numpy.random.default_rng(seed)`` over the
  store ids, default 12) of the 20 % store sample of FreshRetailNet-50K, all their products, all
  90 days (2024-03-28 .. 2024-06-25). Each store×product's daily ``sale_amount`` (a desensitised,
  scaled quantity in steps of 0.1) times 10, rounded, is its **demand in units**. These are the
  dataset's own sales, so they are already censored by the real stockouts it records; here they
  are the demand the simulated stock has to meet.
* **Synthetic**: everything about stock. Each store×product is replenished by a periodic-review
  policy from the external warehouse ``WH01``: every ``cycle`` days (1–3, per store) an order is
  placed at the end of the day, up to ``reserved + safety + forecast × (cycle + lead + buffer)``
  with ``forecast`` the mean **sold** over the last 7 days (what a planner sees: censored by
  stockouts, so a rising demand runs out), ``lead`` one day, an order delayed by 1–3 days with
  probability ``delay_prob`` and a few store-wide delivery outages. ``buffer`` (0–2.5 days, per
  key) and ``safety`` (1–3 days of the first four weeks' mean demand, ≥ 1) make some keys tight
  and some comfortable; a quarter of the keys reserve 10 % of their safety stock. **Sales are
  censored by that stock**: ``sold = min(demand, stock on hand)``, and the unmet rest is lost, as
  in a real export. The files: ``sales_transactions.csv`` (one invoice line per key and day with
  a sale), ``stock_movement.csv`` (one row per delivery), ``stock_current.csv`` (the stock at the
  end of the last exported day), ``item_master.csv``, ``branches.csv`` and one placeholder
  employee.

Credit: **FreshRetailNet-50K** — Dingdong-Inc (Dingdong Maicai), Hugging Face Hub
``Dingdong-Inc/FreshRetailNet-50K``, CC BY 4.0, attribution to Dingdong-Inc / FreshRetailNet-50K
required. Bytes from GitHub ``jhilmitasri/freshretail-demand-forecasting`` (snapshot 07a975a8),
aggregated hourly → daily and 20 % store-sampled (``/work/shared/realdata/freshretailnet50k/
PROVENANCE.md``). Changes made here: store sample, scaled to units, stock and exports simulated.

Usage::

    .venv/bin/python benchmarks/realdata_replay.py --out DIR [--stores 12] [--seed 0]
        [--days 90]

writes one chain and prints what it holds. ``bench_backtest.py`` imports :func:`write_replay`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_FILE = Path(
    "/work/shared/realdata/freshretailnet50k/freshretailnet50k_train_store20pct_daily.csv.gz"
)
WAREHOUSE = "WH01"
UNITS_PER_STEP = 10  # sale_amount comes in steps of 0.1: ×10 gives whole units
CREDIT = (
    "FreshRetailNet-50K (Dingdong-Inc, Hugging Face Hub Dingdong-Inc/FreshRetailNet-50K, "
    "CC BY 4.0): daily store×product sales replayed as demand; stock, deliveries and exports "
    "simulated (benchmarks/realdata_replay.py)"
)


@dataclass(frozen=True)
class ReplaySummary:
    """What :func:`write_replay` wrote."""

    out_dir: Path
    stores: list[str]
    keys: int
    days: int
    start: str
    end: str
    demand_units: int
    sold_units: int
    lost_share: float
    stockout_day_share: float
    below_safety_share: float
    positive_rate: float

    def to_dict(self) -> dict:
        return {**self.__dict__, "out_dir": str(self.out_dir)}


_DEMAND_CACHE: dict[Path, pd.DataFrame] = {}


def load_demand(path: Path = DEFAULT_FILE) -> pd.DataFrame:
    """The FreshRetailNet-50K sample as ``store, item, day, demand`` (units), read once."""
    if path not in _DEMAND_CACHE:
        raw = pd.read_csv(path, usecols=["store_id", "product_id", "dt", "sale_amount"])
        _DEMAND_CACHE[path] = pd.DataFrame(
            {
                "store": raw["store_id"].astype(str),
                "item": raw["product_id"].astype(str),
                "day": pd.to_datetime(raw["dt"]),
                "demand": np.rint(raw["sale_amount"].to_numpy() * UNITS_PER_STEP).astype(np.int64),
            }
        )
    return _DEMAND_CACHE[path]


def write_replay(
    out_dir: Path,
    *,
    stores: int = 12,
    seed: int = 0,
    days: int = 90,
    delay_prob: float = 0.1,
    source: Path = DEFAULT_FILE,
) -> ReplaySummary:
    """Replay ``stores`` stores' real demand through simulated stock; write the six CSVs.

    Parameters
    ----------
    out_dir : Path
        Created if needed; the six files are overwritten.
    stores : int
        Stores drawn (all their products).
    seed : int
        Draws the stores and every synthetic choice (same arguments, same bytes).
    days : int
        Days exported from the first one (at most the dataset's 90).
    delay_prob : float
        Probability that an order arrives 1–3 days late.
    source : Path
        The FreshRetailNet-50K daily file.
    """
    rng = np.random.default_rng(seed)
    frame = load_demand(source)
    all_stores = np.sort(frame["store"].unique())
    chosen = sorted(rng.choice(all_stores, size=stores, replace=False).tolist(), key=int)
    part = frame[frame["store"].isin(chosen)]
    demand_table = part.pivot_table(
        index=["store", "item"], columns="day", values="demand", aggfunc="sum", fill_value=0
    )
    calendar = demand_table.columns[:days]
    demand = demand_table.to_numpy()[:, :days].astype(np.int64)  # keys × days
    keys = demand_table.index.to_frame(index=False)
    n_keys, n_days = demand.shape

    position = {store: i for i, store in enumerate(chosen)}
    store_index = keys["store"].map(position).to_numpy()
    cycle = rng.integers(1, 4, len(chosen))[store_index]
    outage = rng.random((len(chosen), n_days)) < 0.03  # store-wide: no delivery that day
    base = np.maximum(demand[:, :28].mean(axis=1), 0.2)
    safety = np.maximum(1.0, np.ceil(base * rng.integers(1, 4, n_keys)))
    reserved = np.where(rng.random(n_keys) < 0.25, np.floor(0.1 * safety), 0.0)
    buffer = rng.uniform(0.0, 2.5, n_keys)
    lead = 1

    stock = np.zeros((n_keys, n_days), dtype=np.int64)
    sold = np.zeros((n_keys, n_days), dtype=np.int64)
    due = np.zeros((n_keys, n_days + 8), dtype=np.int64)
    on_hand = np.ceil(reserved + safety + base * (cycle + lead + buffer)).astype(np.int64)
    on_order = np.zeros(n_keys, dtype=np.int64)
    deliveries = []
    phase = rng.integers(0, 3, n_keys)
    for d in range(n_days):
        arriving = due[:, d].copy()
        blocked = outage[store_index, d] & (arriving > 0)
        if blocked.any():  # an outage pushes today's deliveries to tomorrow
            due[blocked, d + 1] += arriving[blocked]
            arriving[blocked] = 0
        on_hand += arriving
        on_order -= arriving
        for k in np.flatnonzero(arriving):
            deliveries.append((d, k, int(arriving[k])))
        sold[:, d] = np.minimum(demand[:, d], on_hand)
        on_hand -= sold[:, d]
        stock[:, d] = on_hand
        review = (d + phase) % cycle == 0
        window = sold[:, max(0, d - 6) : d + 1]
        forecast = window.mean(axis=1) if window.shape[1] else base
        target = np.ceil(reserved + safety + forecast * (cycle + lead + buffer)).astype(np.int64)
        order = np.where(review, np.maximum(target - on_hand - on_order, 0), 0)
        late = rng.random(n_keys) < delay_prob
        arrive = d + lead + np.where(late, rng.integers(1, 4, n_keys), 0)
        ordered = np.flatnonzero(order > 0)
        np.add.at(due, (ordered, arrive[ordered]), order[ordered])
        on_order += order

    _write(Path(out_dir), keys, calendar, stock, sold, reserved, safety, deliveries)
    stockout = stock == 0
    below = (stock - reserved[:, None]) < safety[:, None]
    return ReplaySummary(
        out_dir=Path(out_dir),
        stores=chosen,
        keys=n_keys,
        days=n_days,
        start=str(calendar[0].date()),
        end=str(calendar[-1].date()),
        demand_units=int(demand.sum()),
        sold_units=int(sold.sum()),
        lost_share=float(1 - sold.sum() / max(demand.sum(), 1)),
        stockout_day_share=float(stockout.mean()),
        below_safety_share=float(below.mean()),
        positive_rate=float(_positive_rate(stock, reserved, safety, horizon=7)),
    )


def _positive_rate(stock, reserved, safety, *, horizon: int) -> float:
    """Share of matured key×as-of days whose stock dips under safety in the next N days."""
    future = np.lib.stride_tricks.sliding_window_view(stock[:, 1:], horizon, axis=1).min(axis=2)
    return float(((future - reserved[:, None]) < safety[:, None]).mean())


def _write(out, keys, calendar, stock, sold, reserved, safety, deliveries) -> None:
    out.mkdir(parents=True, exist_ok=True)
    branch = "S" + keys["store"].astype(str).str.zfill(4)
    item = "P" + keys["item"].astype(str).str.zfill(4)
    names = {b: f"Store {b[1:]}" for b in branch.unique()}
    day_text = pd.Index(calendar).strftime("%Y-%m-%d")

    k_idx, d_idx = np.nonzero(sold)
    sales = pd.DataFrame(
        {
            "Date": day_text[d_idx] + " 18:00:00",
            "BranchID": branch.to_numpy()[k_idx],
            "BranchName": branch.map(names).to_numpy()[k_idx],
            "InvoiceNumber": [f"INV{i:08d}" for i in range(len(k_idx))],
            "ItemCode": item.to_numpy()[k_idx],
            "ItemName": "Product " + item.to_numpy()[k_idx],
            "QuantitySold": sold[k_idx, d_idx],
        }
    )
    sales.to_csv(out / "sales_transactions.csv", index=False)
    moves = np.asarray(deliveries, dtype=np.int64).reshape(-1, 3)
    movement = pd.DataFrame(
        {
            "MovementID": [f"MV{i:08d}" for i in range(len(moves))],
            "Date": day_text[moves[:, 0]] + " 07:00:00",
            "FromBranchID": WAREHOUSE,
            "FromBranchName": "Warehouse",
            "ToBranchID": branch.to_numpy()[moves[:, 1]],
            "ToBranchName": branch.map(names).to_numpy()[moves[:, 1]],
            "ItemCode": item.to_numpy()[moves[:, 1]],
            "ItemName": "Product " + item.to_numpy()[moves[:, 1]],
            "QuantityMoved": moves[:, 2],
        }
    )
    movement.to_csv(out / "stock_movement.csv", index=False)
    pd.DataFrame(
        {
            "BranchID": branch,
            "BranchName": branch.map(names),
            "ItemCode": item,
            "ItemName": "Product " + item,
            "CurrentQuantity": stock[:, -1],
            "ReservedQuantity": reserved,
            "SafetyStockLevel": safety,
            "LastUpdatedAt": f"{day_text[-1]} 22:00:00",
        }
    ).to_csv(out / "stock_current.csv", index=False)
    codes = np.sort(item.unique())
    pd.DataFrame(
        {"ItemCode": codes, "ArabicName": "", "EnglishName": "Product " + codes, "BrandOnBox": ""}
    ).to_csv(out / "item_master.csv", index=False)
    stores = sorted(names)
    pd.DataFrame(
        {"BranchID": stores, "BranchName": [names[s] for s in stores], "OpeningDate": ""}
    ).to_csv(out / "branches.csv", index=False)
    pd.DataFrame(
        {
            "EmployeeID": ["E0001"],
            "FullName": ["Replay Placeholder"],
            "Department": ["Benchmark"],
            "BranchID": [stores[0]],
        }
    ).to_csv(out / "employees.csv", index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stores", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args(argv)
    summary = write_replay(args.out, stores=args.stores, seed=args.seed, days=args.days)
    print(CREDIT)
    print(json.dumps(summary.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
