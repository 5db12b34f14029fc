"""Ingestion and demand aggregates on two real public retail datasets.

Converts a slice of each dataset under ``/work/shared/realdata`` into the six-CSV input contract
(``docs/DESIGN.md``, "The data contract"), runs :func:`stockout_sk.ingest.load_chain` on it and
prints the validation report, the timings and a few demand statistics computed with
:class:`stockout_sk.features.history.HistoryFeatures` fitted on ``chain.flows``:

* **UCI Online Retail** → ``sales_transactions.csv``: ``InvoiceDate`` → ``Date`` (the dataset's own
  ``YYYY-MM-DD HH:MM:SS``, written unchanged), ``Country`` → ``BranchID`` (or one fixed branch with
  ``--uci-branch single``), ``InvoiceNo`` → ``InvoiceNumber``, ``StockCode`` → ``ItemCode``,
  ``Description`` → ``ItemName``, ``Quantity`` → ``QuantitySold``. Returns (negative quantities)
  and cancelled invoices (``InvoiceNo`` starting with ``C``) are kept; the script prints how
  ingestion counts them. Non-product codes (``POST``, ``DOT``, ``M``, ``BANK CHARGES`` …, i.e.
  StockCodes not starting with five digits) are kept in the export and left out of the demand
  statistics only. The first ``--rows`` invoice lines (in date order) are used.
* **FreshRetailNet-50K** → daily sales per store×product: ``store_id`` → ``BranchID``,
  ``product_id`` → ``ItemCode``, ``dt`` → ``Date``, ``sale_amount`` → ``QuantitySold``. These are
  desensitised, *scaled* quantities (steps of 0.1), not unit counts. The first ``--rows`` rows of
  the file (sorted by city, store, product, day) are used, trimmed to whole 90-day series: a few
  stores. Next to our sales-velocity features the script prints the share of days with a stockout
  hour (``stock_hour6_22_cnt > 0``, the dataset's 06–22 trading-hours measure) and how sales and
  velocity differ on stockout vs non-stockout days: the real censoring pattern.

Neither dataset has inventory levels, so the other files are **synthetic**, deterministic and
minimal, built only so that the contract is complete:

* ``stock_current.csv`` — one row per branch×item seen in the slice's sales, ``LastUpdatedAt`` on
  the slice's last day (23:59:59). With ``avg`` = positive quantity sold over the slice / calendar
  days of the slice and ``h`` = ``pandas.util.hash_pandas_object`` of (BranchID, ItemCode):
  ``SafetyStockLevel = max(1, ceil(7·avg))``, ``CurrentQuantity = round(avg · (h mod 29))`` (0 to 28
  days of cover), ``ReservedQuantity = floor(0.1·CurrentQuantity)`` when ``(h >> 8) mod 4 == 0``,
  else 0. Synthetic: do not read anything into labels built from it.
* ``stock_movement.csv`` — five synthetic replenishments from the external ID ``SYNTH-SUPPLIER``
  (not a branch) to the five branch×items with the most units sold, on the slice's first day,
  ``ceil(28·avg)`` each; MovementIDs ``SYN-0001`` …
* ``item_master.csv`` — one row per ItemCode (``EnglishName`` = its first non-blank item name;
  ``ArabicName`` and ``BrandOnBox`` blank); ``branches.csv`` — one row per BranchID, OpeningDate
  blank (unknown, allowed); ``employees.csv`` — the header and one placeholder row.

Data credits (both CC BY 4.0; changes made here: sliced, renamed to our columns, synthetic stock
files added; FreshRetailNet-50K was aggregated hourly → daily and store-sampled upstream, see its
PROVENANCE.md):

* **Online Retail** — UCI Machine Learning Repository (dataset id 352), donated in 2015 by
  Dr Daqing Chen (London South Bank University). Licence: CC BY 4.0 as listed by UCI (not
  re-checked on the UCI page). Citation: Chen, Sain & Guo (2012), "Data mining for the online
  retail industry: A case study of RFM model-based customer segmentation using data mining",
  J. Database Marketing & Customer Strategy Management 19(3):197–208, doi:10.1057/dbm.2012.17.
  Bytes from GitHub ``databricks/Spark-The-Definitive-Guide`` (``data/retail-data/by-day/*.csv``,
  snapshot 4ba5601eb9b9aed1d01ab79775e3af228216ff6f), concatenated unchanged.
* **FreshRetailNet-50K** — published by Dingdong-Inc (Dingdong Maicai) on the Hugging Face Hub as
  ``Dingdong-Inc/FreshRetailNet-50K``. Licence: CC BY 4.0; attribution to Dingdong-Inc /
  FreshRetailNet-50K is required. Bytes from GitHub ``jhilmitasri/freshretail-demand-forecasting``
  (``data/flattened_chunks/``, snapshot 07a975a8e69a86b0b6de3e2eb1ea67d1d6267907).

Usage::

    .venv/bin/python benchmarks/realdata_trial.py [--rows 100000] [--out DIR]
        [--uci-branch country|single] [--realdata /work/shared/realdata]

Without ``--out`` everything is written to a temporary directory that is removed at the end.
Prints, last, one JSON line with the counts. Exits 0 unless ingestion raises.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from stockout_sk.features.history import HistoryFeatures
from stockout_sk.ingest import ChainData, load_chain

DEFAULT_REALDATA = Path("/work/shared/realdata")
UCI_FILE = "uci_online_retail/online_retail_2010-12-01_2011-12-09.csv.gz"
FRN_FILE = "freshretailnet50k/freshretailnet50k_train_store20pct_daily.csv.gz"
DEFAULT_ROWS = 100_000
WINDOWS = (7, 28)
SYNTH_SUPPLIER = "SYNTH-SUPPLIER"
N_REPLENISHMENTS = 5

CREDITS = """\
Data credits (both CC BY 4.0; sliced, renamed to our columns, synthetic stock files added here):
  * Online Retail — UCI Machine Learning Repository (dataset id 352), donated by Dr Daqing Chen
    (London South Bank University); CC BY 4.0 as listed by UCI. Chen, Sain & Guo (2012),
    J. Database Marketing & Customer Strategy Management 19(3):197–208, doi:10.1057/dbm.2012.17.
    Source bytes: github.com/databricks/Spark-The-Definitive-Guide data/retail-data/by-day
    (snapshot 4ba5601e).
  * FreshRetailNet-50K — Dingdong-Inc, Hugging Face Hub Dingdong-Inc/FreshRetailNet-50K;
    CC BY 4.0, attribution to Dingdong-Inc / FreshRetailNet-50K. Source bytes:
    github.com/jhilmitasri/freshretail-demand-forecasting data/flattened_chunks (snapshot 07a975a8),
    aggregated hourly -> daily and 20% store sample (see its PROVENANCE.md)."""


# --- the contract files -------------------------------------------------------------------------
def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def write_contract(
    data_dir: Path,
    sales: pd.DataFrame,
    *,
    quantity: pd.Series,
    day: pd.Series,
    date_format: str,
    branch_names: dict[str, str],
) -> dict[str, int]:
    """Write the six CSV files: ``sales`` as given, the other five synthesized (see docstring).

    ``sales`` already has the contract columns (strings); ``quantity`` is ``QuantitySold`` as
    numbers and ``day`` the calendar day of each line (both aligned with ``sales``).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    _write(sales, data_dir / "sales_transactions.csv")

    first, last = day.min(), day.max()
    n_days = (last - first).days + 1
    keys = pd.DataFrame(
        {"BranchID": sales["BranchID"], "ItemCode": sales["ItemCode"], "units": quantity.clip(0)}
    )
    per_key = keys.groupby(["BranchID", "ItemCode"], sort=True, as_index=False)["units"].sum()
    names = (
        sales.loc[sales["ItemName"].str.strip() != "", ["ItemCode", "ItemName"]]
        .drop_duplicates("ItemCode")
        .set_index("ItemCode")["ItemName"]
    )
    avg = per_key["units"].to_numpy() / n_days
    h = pd.util.hash_pandas_object(per_key[["BranchID", "ItemCode"]], index=False).to_numpy()
    cover_days = (h % np.uint64(29)).astype(np.float64)
    current = np.round(avg * cover_days)
    reserved = np.where(((h >> np.uint64(8)) % np.uint64(4)) == 0, np.floor(0.1 * current), 0.0)
    safety = np.maximum(1.0, np.ceil(7 * avg))
    snapshot = (last + pd.Timedelta(hours=23, minutes=59, seconds=59)).strftime(date_format)
    stock = pd.DataFrame(
        {
            "BranchID": per_key["BranchID"],
            "BranchName": per_key["BranchID"].map(branch_names),
            "ItemCode": per_key["ItemCode"],
            "ItemName": per_key["ItemCode"].map(names).astype(object).fillna(""),
            "CurrentQuantity": current,
            "ReservedQuantity": reserved,
            "SafetyStockLevel": safety,
            "LastUpdatedAt": snapshot,
        }
    )
    _write(stock, data_dir / "stock_current.csv")

    top = per_key.assign(avg=avg).nlargest(N_REPLENISHMENTS, "units")
    movements = pd.DataFrame(
        {
            "MovementID": [f"SYN-{i + 1:04d}" for i in range(len(top))],
            "Date": first.strftime(date_format),
            "FromBranchID": SYNTH_SUPPLIER,
            "FromBranchName": "synthetic supplier",
            "ToBranchID": top["BranchID"].to_numpy(),
            "ToBranchName": top["BranchID"].map(branch_names).to_numpy(),
            "ItemCode": top["ItemCode"].to_numpy(),
            "ItemName": top["ItemCode"].map(names).astype(object).fillna("").to_numpy(),
            "QuantityMoved": np.ceil(28 * top["avg"].to_numpy()),
        }
    )
    _write(movements, data_dir / "stock_movement.csv")

    item_codes = pd.Index(pd.unique(sales["ItemCode"])).sort_values()
    items = pd.DataFrame(
        {
            "ItemCode": item_codes,
            "ArabicName": "",
            "EnglishName": item_codes.map(names).astype(object).fillna(""),
            "BrandOnBox": "",
        }
    )
    _write(items, data_dir / "item_master.csv")
    branch_ids = sorted(branch_names)
    branches = pd.DataFrame(
        {
            "BranchID": branch_ids,
            "BranchName": [branch_names[b] for b in branch_ids],
            "OpeningDate": "",
        }
    )
    _write(branches, data_dir / "branches.csv")
    employees = pd.DataFrame(
        {
            "EmployeeID": ["E0001"],
            "FullName": ["Synthetic Placeholder"],
            "Department": ["Benchmark"],
            "BranchID": [branch_ids[0]],
        }
    )
    _write(employees, data_dir / "employees.csv")
    return {
        "sales_lines": len(sales),
        "stock_rows": len(stock),
        "movements": len(movements),
        "items": len(items),
        "branches": len(branches),
        "days": n_days,
    }


def ingest(name: str, data_dir: Path, out_dir: Path) -> tuple[ChainData, float]:
    """Run ``load_chain`` and print its report; returns the chain and the seconds it took."""
    t0 = time.perf_counter()
    chain = load_chain(data_dir, out_dir=out_dir)
    seconds = time.perf_counter() - t0
    print(f"\n--- {name}: load_chain validation report ({seconds:.2f} s) ---")
    print(chain.report.format())
    print(f"({len(chain.flows):,} daily flow rows, {len(chain.stock_current):,} snapshot rows)")
    return chain, seconds


def history_features(chain: ChainData, rows: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """``HistoryFeatures(windows=(7, 28))`` fitted on ``chain.flows``, features of ``rows``.

    ``rows`` carries BranchID, ItemCode, Date; the stock fields come from ``chain.stock_current``.
    """
    stock = chain.stock_current[
        ["BranchID", "ItemCode", "CurrentQuantity", "ReservedQuantity", "SafetyStockLevel"]
    ]
    X = rows[["BranchID", "ItemCode", "Date"]].merge(stock, on=["BranchID", "ItemCode"], how="left")
    t0 = time.perf_counter()
    features = HistoryFeatures(windows=WINDOWS).fit_transform(
        X, flows=chain.flows, transfers=chain.transfers
    )
    return pd.DataFrame(features), time.perf_counter() - t0


def _quantiles(values: pd.Series) -> str:
    q = values.quantile([0.5, 0.9, 0.99])
    return f"median {q[0.5]:.3g}, p90 {q[0.9]:.3g}, p99 {q[0.99]:.3g}, max {values.max():.3g}"


# --- UCI Online Retail --------------------------------------------------------------------------
def run_uci(path: Path, rows: int, work: Path, branch_mode: str) -> dict:
    print(f"\n=== UCI Online Retail: first {rows:,} invoice lines of {path.name} ===")
    t0 = time.perf_counter()
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=rows)
    quantity = pd.to_numeric(raw["Quantity"])
    day = pd.to_datetime(raw["InvoiceDate"], format="%Y-%m-%d %H:%M:%S").dt.normalize()
    branch = raw["Country"] if branch_mode == "country" else pd.Series("ONLINE", index=raw.index)
    sales = pd.DataFrame(
        {
            "Date": raw["InvoiceDate"],  # the dataset's own format, unchanged
            "BranchID": branch,
            "BranchName": branch if branch_mode == "country" else "online shop",
            "InvoiceNumber": raw["InvoiceNo"],
            "ItemCode": raw["StockCode"].str.strip(),
            "ItemName": raw["Description"],
            "QuantitySold": raw["Quantity"],
        }
    )
    names = {b: (b if branch_mode == "country" else "online shop") for b in pd.unique(branch)}
    written = write_contract(
        work / "data",
        sales,
        quantity=quantity,
        day=day,
        date_format="%Y-%m-%d %H:%M:%S",
        branch_names=names,
    )
    convert_s = time.perf_counter() - t0
    cancelled = raw["InvoiceNo"].str.startswith("C")
    negative = quantity < 0
    product = raw["StockCode"].str.match(r"^\d{5}")
    print(
        f"converted in {convert_s:.2f} s: {written['sales_lines']:,} lines, "
        f"{day.min().date()} .. {day.max().date()} ({written['days']} calendar days), "
        f"{written['branches']} branch(es) ({branch_mode}), {written['items']:,} ItemCodes, "
        f"{written['stock_rows']:,} synthetic snapshot rows, {written['movements']} synthetic "
        "replenishments"
    )

    chain, load_s = ingest("UCI Online Retail", work / "data", work / "ingest")
    rep = chain.report.files["sales_transactions.csv"]
    returns_finding = next((f.count for f in chain.report.findings if f.code == "sales_returns"), 0)
    flows = chain.flows
    print(
        f"returns/cancellations: {int(negative.sum()):,} lines with Quantity < 0 "
        f"({int((negative & cancelled).sum()):,} on C-invoices, "
        f"{int((negative & ~cancelled).sum()):,} not: stock adjustments), "
        f"{int(cancelled.sum()):,} lines on {raw.loc[cancelled, 'InvoiceNo'].nunique():,} "
        f"C-invoices. Ingestion accepted {rep.accepted:,} of {rep.read:,} sales lines, "
        f"rejected {rep.rejected:,}; its 'sales_returns' finding counts {returns_finding:,} "
        f"(netted into daily sold: {int((flows['sold'] < 0).sum()):,} branch×item-days end "
        "with net negative sold)."
    )

    last = chain.history_end
    rows_at_end = chain.stock_current[["BranchID", "ItemCode"]].assign(Date=last)
    feats, feat_s = history_features(chain, rows_at_end)
    is_product = feats["ItemCode"].str.match(r"^\d{5}")
    prod = feats[is_product]
    v28, v7 = prod["sold_28d"] / 28, prod["sold_7d"] / 7
    active = prod[prod["sold_28d"] > 0]
    day_units = flows.groupby("Date")["sold"].sum()
    calendar = pd.date_range(chain.history_start, last, freq="D")
    print(
        f"demand features as of {last.date()} (HistoryFeatures on chain.flows, {feat_s:.2f} s; "
        f"{int((~is_product).sum())} non-product keys left out): {len(prod):,} branch×item keys, "
        f"{len(active):,} sold in the last 28 days; velocity 28d (units/day) {_quantiles(v28)}; "
        f"velocity 7d {_quantiles(v7)}"
    )
    pos = quantity[~negative & product]
    top1 = pos.sort_values(ascending=False).head(max(1, len(pos) // 100)).sum() / pos.sum()
    print(
        f"lumpiness: the top 1% of product lines carry {top1:.1%} of units; calendar days "
        f"without any sale chain-wide: {len(calendar) - int((day_units != 0).sum())} of "
        f"{len(calendar)} (no Saturdays, holidays) — velocity windows count them as "
        "zero-demand days"
    )
    return {
        "rows": len(raw),
        "branches": written["branches"],
        "items": written["items"],
        "keys": written["stock_rows"],
        "days": written["days"],
        "read": rep.read,
        "accepted": rep.accepted,
        "rejected": rep.rejected,
        "negative_qty_lines": int(negative.sum()),
        "cancelled_invoice_lines": int(cancelled.sum()),
        "sales_returns_finding": int(returns_finding or 0),
        "net_negative_days": int((flows["sold"] < 0).sum()),
        "flow_rows": len(flows),
        "reconciled": chain.report.reconciled,
        "seconds": {
            "convert": round(convert_s, 2),
            "load_chain": round(load_s, 2),
            "features": round(feat_s, 2),
        },
    }


# --- FreshRetailNet-50K -------------------------------------------------------------------------
def run_frn(path: Path, rows: int, work: Path) -> dict:
    print(f"\n=== FreshRetailNet-50K: first {rows:,} store×product-days of {path.name} ===")
    t0 = time.perf_counter()
    cols = ["store_id", "product_id", "dt", "sale_amount", "stock_hour6_22_cnt"]
    text = {"store_id": str, "product_id": str, "sale_amount": str}  # quantities as written
    raw = pd.read_csv(path, usecols=cols, dtype=text, nrows=rows)
    # The file is sorted by city, store, product, day: keep whole series only.
    size = raw.groupby(["store_id", "product_id"], sort=False)["dt"].transform("size")
    raw = raw[size == size.max()].reset_index(drop=True)
    day = pd.to_datetime(raw["dt"], format="%Y-%m-%d")
    amount = pd.to_numeric(raw["sale_amount"])
    sales = pd.DataFrame(
        {
            "Date": raw["dt"],
            "BranchID": raw["store_id"],
            "BranchName": "store " + raw["store_id"],
            "InvoiceNumber": "",  # daily aggregates: no invoices
            "ItemCode": raw["product_id"],
            "ItemName": "",
            "QuantitySold": raw["sale_amount"],
        }
    )
    names = {b: f"store {b}" for b in pd.unique(raw["store_id"])}
    written = write_contract(
        work / "data",
        sales,
        quantity=amount,
        day=day,
        date_format="%Y-%m-%d",
        branch_names=names,
    )
    convert_s = time.perf_counter() - t0
    print(
        f"converted in {convert_s:.2f} s: {len(raw):,} rows = {written['stock_rows']:,} series × "
        f"{written['days']} days, {written['branches']} stores, {written['items']} products "
        "(QuantitySold = sale_amount, scaled quantities)"
    )
    chain, load_s = ingest("FreshRetailNet-50K", work / "data", work / "ingest")
    rep = chain.report.files["sales_transactions.csv"]

    rows_all = pd.DataFrame(
        {"BranchID": raw["store_id"], "ItemCode": raw["product_id"], "Date": day}
    )
    feats, feat_s = history_features(chain, rows_all)
    frame = pd.DataFrame(
        {
            "key": raw["store_id"] + "\x1f" + raw["product_id"],
            "day": day,
            "sale": amount.to_numpy(),
            "oos_hours": raw["stock_hour6_22_cnt"].to_numpy(),
            "sold_7d": feats["sold_7d"].to_numpy(),
            "sold_28d": feats["sold_28d"].to_numpy(),
        }
    ).sort_values(["key", "day"], kind="stable")
    # Cross-check against plain pandas rolling sums (same keys, complete daily series).
    g = frame.groupby("key", sort=False)["sale"]
    check = 0.0
    for w in WINDOWS:
        rolled = g.rolling(w, min_periods=1).sum().reset_index(level=0, drop=True)
        check = max(check, float(np.abs(rolled - frame[f"sold_{w}d"]).max()))
    # Velocity known before the day (as of t-1), over a full 28-day window.
    frame["vel7_prev"] = frame.groupby("key", sort=False)["sold_7d"].shift(1) / 7
    frame["vel28_prev"] = frame.groupby("key", sort=False)["sold_28d"].shift(1) / 28
    full = frame[frame["day"] >= frame["day"].min() + pd.Timedelta(days=28)].copy()
    full["stockout"] = full["oos_hours"] > 0
    share_any = float((frame["oos_hours"] > 0).mean())
    share_all = float((frame["oos_hours"] == 16).mean())
    print(
        f"HistoryFeatures on chain.flows: {feat_s:.2f} s for {len(feats):,} rows; max |diff| vs "
        f"pandas rolling sums {check:.2g}"
    )
    print(
        f"stockout days (any out-of-stock hour 06-22): {share_any:.1%} of store×product-days; "
        f"out of stock all 16 hours: {share_all:.1%}; "
        f"zero-sale days {float((frame['sale'] == 0).mean()):.1%}"
    )
    buckets = pd.cut(
        full["oos_hours"], [-1, 0, 7, 15, 16], labels=["0 h", "1-7 h", "8-15 h", "16 h"]
    )
    table = full.groupby(buckets, observed=True).agg(
        days=("sale", "size"),
        sale=("sale", "mean"),
        zero_sale=("sale", lambda s: float((s == 0).mean())),
        vel7_prev=("vel7_prev", "mean"),
        vel28_prev=("vel28_prev", "mean"),
    )
    table["sale/vel28_prev"] = (
        full.groupby(buckets, observed=True)["sale"].sum()
        / full.groupby(buckets, observed=True)["vel28_prev"].sum()
    )
    table["share"] = table["days"] / table["days"].sum()
    print(
        f"sales vs velocity known the day before (as-of days {full['day'].min().date()} .. "
        f"{full['day'].max().date()}, full 28-day window), by out-of-stock hours 06-22:"
    )
    print(
        table[
            ["days", "share", "sale", "zero_sale", "vel7_prev", "vel28_prev", "sale/vel28_prev"]
        ].to_string(float_format=lambda x: f"{x:.3f}")
    )
    # Within a key (controls for item mix): mean sale on stockout days / on other days.
    per_key = full.groupby(["key", "stockout"])["sale"].mean().unstack()
    both = per_key.dropna()
    both = both[both[False] > 0]
    within = (both[True] / both[False]).median() if len(both) else float("nan")
    so = full[full["stockout"]]
    ok = full[~full["stockout"]]
    print(
        f"stockout days: mean sale {so['sale'].mean():.3f} vs {ok['sale'].mean():.3f} on other "
        f"days; velocity 28d known the day before {so['vel28_prev'].mean():.3f} vs "
        f"{ok['vel28_prev'].mean():.3f}; median within-key ratio (stockout-day / other-day mean "
        f"sale) {within:.3f} over {len(both):,} keys"
    )
    whole_day = table["sale/vel28_prev"].get("16 h", float("nan"))
    print(
        f"censoring: on days out of stock all 06-22 hours, sales are {whole_day:.1%} of the "
        "velocity known the day before — censored demand that later velocity windows count as "
        "near-zero sales; partial stockouts come on busier days (sell-outs), so any-hour "
        "stockout days are not low-demand days"
    )
    return {
        "rows": len(raw),
        "stores": written["branches"],
        "products": written["items"],
        "series": written["stock_rows"],
        "days": written["days"],
        "read": rep.read,
        "accepted": rep.accepted,
        "rejected": rep.rejected,
        "flow_rows": len(chain.flows),
        "reconciled": chain.report.reconciled,
        "stockout_day_share": round(share_any, 4),
        "full_oos_day_share": round(share_all, 4),
        "mean_sale_stockout": round(float(so["sale"].mean()), 4),
        "mean_sale_other": round(float(ok["sale"].mean()), 4),
        "vel28_prev_stockout": round(float(so["vel28_prev"].mean()), 4),
        "vel28_prev_other": round(float(ok["vel28_prev"].mean()), 4),
        "within_key_sale_ratio": round(float(within), 4),
        "full_oos_sale_over_vel28_prev": round(float(whole_day), 4),
        "feature_check_max_abs_diff": check,
        "seconds": {
            "convert": round(convert_s, 2),
            "load_chain": round(load_s, 2),
            "features": round(feat_s, 2),
        },
    }


def _finite(value):
    """The summary with NaN / inf as ``null``, so the last line is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help=f"slice size per dataset ({DEFAULT_ROWS:,})"
    )
    parser.add_argument("--out", type=Path, help="keep the CSVs, rejects and reports here")
    parser.add_argument("--uci-branch", choices=("country", "single"), default="country")
    parser.add_argument("--realdata", type=Path, default=DEFAULT_REALDATA)
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be positive")
    print(CREDITS)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stockout-realdata-") as tmp:
        out = args.out if args.out is not None else Path(tmp)
        print(f"\nwriting to {out}" + ("" if args.out else " (temporary, removed at the end)"))
        uci = run_uci(
            args.realdata / UCI_FILE, args.rows, out / "uci_online_retail", args.uci_branch
        )
        frn = run_frn(args.realdata / FRN_FILE, args.rows, out / "freshretailnet50k")
    total = time.perf_counter() - t0
    print(f"\ntotal {total:.1f} s")
    summary = {
        "rows_arg": args.rows,
        "uci_online_retail": uci,
        "freshretailnet50k": frn,
        "total_seconds": round(total, 1),
        "out": str(args.out) if args.out else None,
    }
    print(json.dumps(_finite(summary), default=float, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
