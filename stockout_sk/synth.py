"""A simulated retail chain that writes the six CSV exports of the data contract.

The chain is simulated day by day; within a day every branch×item key is one element of a numpy
array, so the cost grows with ``days`` Python iterations over vectorised operations.

What happens each simulated day, in this order:

1. **Receipts** in the morning: replenishment orders placed earlier arrive from the warehouse
   ``WH01`` (or, for fresh items and a few rush orders, directly from the supplier ``SUP01``).
   Neither ID is a branch: they are external sources of inflow.
2. **Sales** during the day: demand is ``base × weekly pattern × yearly season × trend × promotion``
   with negative-binomial noise, and it is censored by the stock on hand (what is not there is not
   sold, and the lost sale is not written anywhere, exactly as in a real export).
3. **Transfers** in the evening: for some items, the branch with the most excess cover sends stock
   to the branch furthest below its safety stock (one ``stock_movement`` row between two branches).
4. **Replenishment review**: an (s, S) policy per key orders up to ``S`` in case-pack multiples
   when the inventory position (on hand + on order) falls to the reorder point ``s``; fresh items
   are ordered for fixed delivery weekdays instead. The safety stock is a chain rule (3 days of the
   planner's slightly mis-estimated demand) and ``s`` covers the branch's *nominal* lead time plus
   a margin. The policy is imperfect on purpose: the reorder point of a minority of keys is set
   too low (they run short in every cycle), demand drifts away from the estimate (trend, season),
   promotions lift it for days, the warehouse runs out of an item for weeks, and orders arrive a
   day late or are delayed by several days. Stock therefore dips below safety stock for reasons
   that velocity, delivery rhythm and a key's recent history reveal days ahead, not only when
   today's stock is already low.

End-of-day stock obeys ``S(d) = S(d−1) + inflow − outflow − sold`` exactly, with every flow written
to a CSV, so reconstructing stock backwards from ``stock_current.csv`` (DESIGN.md, "The label")
reproduces the simulated stock without a single negative day.

With ``messy=True`` the same content is written the way real exports look (BOM, CRLF, mixed date
formats, stray whitespace, over-quoting) and a handful of *extra* rows is added (unparseable dates,
non-numeric quantities, missing item codes, exact duplicate movements). Clean rows are never altered
in content nor removed, so the valid data still reconciles with the snapshot.

All randomness comes from ``np.random.default_rng(seed)`` and its spawned children, so the same
arguments always write the same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.schemas import SCHEMAS

__all__ = ["SUPPLIER_ID", "WAREHOUSE_ID", "SynthSummary", "generate_chain"]

logger = logging.getLogger(__name__)

#: External IDs that deliver stock but are not branches (absent from ``branches.csv``).
WAREHOUSE_ID = "WH01"
SUPPLIER_ID = "SUP01"
_WAREHOUSE_NAME = "Central Warehouse, Riyadh"
_SUPPLIER_NAME = "Direct Supplier Delivery"

# Simulated days before ``start`` that are not written: they put orders in flight and spread the
# keys over their replenishment cycles, so the first written day does not look like a cold start.
_WARMUP_DAYS = 35
# Ring buffer of future receipts; must exceed the longest lead time (nominal + jitter, a delay
# and a warehouse outage).
_RING = 64
# Days of sales per chunk of the sales/movement writers: bounds the memory held in Python strings.
_CHUNK_DAYS = 7

# Knobs of the simulated chain. They were tuned together, against the project's own pipeline,
# so that (a) 5–25 % of as-of days are positive, (b) the rule CurrentQuantity < SafetyStockLevel
# catches only a minority of them (a dip is usually announced days before it happens), and (c) a
# model that sees velocity, deliveries and the key's recent dips can do clearly better than both
# baselines. Noise that no feature can see (very bursty demand, near-miss dips) is kept small on
# purpose: it would only cap every model at the same mediocre score.
_ITEM_LEVEL = (1.5, 0.8)  # median and log-sd of an item's daily demand (× its product's speed)
_MIN_BASE = 0.2  # slowest mean daily demand of a branch×item
_DISPERSION = (20.0, 60.0)  # negative-binomial size per item (smaller = burstier demand)
_ESTIMATE_SIGMA = 0.1  # log-sd of the planner's demand estimate around the true level
_SAFETY_DAYS = 3.0  # chain policy: safety stock = 3 days of estimated demand
_MARGIN_DAYS = (3.0, 5.0)  # reorder point covers the nominal lead time plus this many days …
_UNDER_SHARE = 0.3  # … except for this share of keys, whose reorder point is set too low:
_UNDER_MARGIN_DAYS = (-4.0, -2.0)  # (less than the lead-time demand: they dip every cycle)
_LEAD_DAYS = (2, 5)  # nominal warehouse lead time per branch, days (upper bound exclusive)
_LEAD_JITTER = (0, 0, 0, 1)  # actual lead time = nominal + one of these
_DELAY_PROB = (0.0, 0.12)  # per branch: share of warehouse orders delayed by 2–7 extra days
_PROMO_EVERY = 200.0  # mean days between two promotions of an item
_PROMO_DAYS = (4, 15)  # length of a promotion (days, upper bound exclusive)
_PROMO_UPLIFT = (1.3, 2.0)  # demand multiplier during a promotion
_OUTAGE_EVERY = 400.0  # mean days between two warehouse outages of an item
_OUTAGE_DAYS = (7, 22)  # length of an outage (days, upper bound exclusive)
_TRANSFER_PROB = 0.15  # chance per item and day that a possible transfer is made

# ----------------------------------------------------------------------------------------------
# Vocabulary of the master data. Arabic names are real Arabic; brands are fictional.
# ----------------------------------------------------------------------------------------------

# (Arabic, English, relative sales speed, size family, fresh = delivered by the supplier directly)
_PRODUCTS: tuple[tuple[str, str, float, str, bool], ...] = (
    ("حليب طازج", "Fresh Milk", 3.0, "liquid", True),
    ("لبن", "Laban", 2.5, "liquid", True),
    ("خبز عربي", "Arabic Bread", 4.0, "pack", True),
    ("بيض", "Eggs", 2.0, "pack", True),
    ("زبادي", "Yoghurt", 2.0, "weight", True),
    ("ماء معدني", "Mineral Water", 3.0, "liquid", False),
    ("أرز بسمتي", "Basmati Rice", 1.2, "weight", False),
    ("سكر", "Sugar", 1.0, "weight", False),
    ("شاي أسود", "Black Tea", 0.8, "weight", False),
    ("قهوة عربية", "Arabic Coffee", 0.7, "weight", False),
    ("زيت زيتون", "Olive Oil", 0.5, "liquid", False),
    ("زيت دوار الشمس", "Sunflower Oil", 0.9, "liquid", False),
    ("معكرونة", "Pasta", 1.0, "weight", False),
    ("طحين", "Flour", 0.8, "weight", False),
    ("تمر", "Dates", 1.0, "weight", False),
    ("عسل", "Honey", 0.3, "weight", False),
    ("جبنة بيضاء", "White Cheese", 1.0, "weight", False),
    ("لبنة", "Labneh", 1.2, "weight", False),
    ("زبدة", "Butter", 0.6, "weight", False),
    ("تونة", "Tuna", 1.0, "pack", False),
    ("حمص", "Chickpeas", 0.7, "weight", False),
    ("فول مدمس", "Fava Beans", 0.8, "weight", False),
    ("عدس", "Lentils", 0.5, "weight", False),
    ("بسكويت", "Biscuits", 1.3, "pack", False),
    ("شوكولاتة", "Chocolate", 1.0, "weight", False),
    ("رقائق البطاطس", "Potato Chips", 1.5, "weight", False),
    ("عصير برتقال", "Orange Juice", 1.4, "liquid", False),
    ("مشروب غازي", "Soft Drink", 2.0, "liquid", False),
    ("دجاج مجمد", "Frozen Chicken", 1.2, "weight", False),
    ("خضار مجمدة", "Frozen Vegetables", 0.6, "weight", False),
    ("زعتر", "Za'atar", 0.4, "weight", False),
    ("هيل", "Cardamom", 0.3, "weight", False),
    ("صابون", "Soap", 0.5, "pack", False),
    ("شامبو", "Shampoo", 0.3, "liquid", False),
    ("معجون أسنان", "Toothpaste", 0.4, "weight", False),
    ("مناديل ورقية", "Tissues", 0.9, "pack", False),
    ("منظف غسيل", "Laundry Detergent", 0.4, "liquid", False),
    ("سائل جلي", "Dish Soap", 0.4, "liquid", False),
    ("حفاضات أطفال", "Baby Diapers", 0.3, "pack", False),
    ("حليب أطفال", "Infant Formula", 0.2, "weight", False),
)

_SIZES: dict[str, tuple[tuple[str, str], ...]] = {
    "liquid": (("250 مل", "250 ml"), ("500 مل", "500 ml"), ("1 لتر", "1 L"), ("2 لتر", "2 L")),
    "weight": (("200 غ", "200 g"), ("500 غ", "500 g"), ("1 كغ", "1 kg"), ("5 كغ", "5 kg")),
    "pack": (("عبوة 6", "Pack of 6"), ("عبوة 12", "Pack of 12"), ("عبوة 30", "Pack of 30")),
}

# (English as printed on the box, Arabic). Commas and a double quote on purpose: quoting matters.
_BRANDS: tuple[tuple[str, str], ...] = (
    ("Al Waha", "الواحة"),
    ("Nakheel", "النخيل"),
    ("Dana, Sons & Co.", "دانة وأولاده"),
    ("Ruba", "ربى"),
    ("Sahara Dairy, Ltd.", "ألبان الصحراء"),
    ("Golden Palm", "النخلة الذهبية"),
    ("Al Noor", "النور"),
    ("Barakah, Inc.", "بركة"),
    ("Zahra", "زهرة"),
    ("Qamar", "قمر"),
    ('Al Waha "Premium"', "الواحة الممتازة"),
    ("Jood", "جود"),
)

_CITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Riyadh", ("Olaya", "Al Malaz", "Al Nakheel", "Al Sulaimaniyah", "Al Yasmin")),
    ("Jeddah", ("Al Rawdah", "Corniche", "Al Safa", "Al Hamra")),
    ("Dammam", ("Al Faisaliyah", "Al Shati")),
    ("Khobar", ("Al Aqrabiyah", "Al Thuqbah")),
    ("Mecca", ("Al Aziziyah", "Al Awali")),
    ("Medina", ("Quba", "Al Aziziyah")),
    ("Abha", ("Al Manhal",)),
    ("Tabuk", ("Al Muruj",)),
    ("Buraidah", ("Al Safra",)),
    ("Taif", ("Shihar",)),
)

_FIRST_NAMES = (
    "Ahmed", "Mohammed", "Fatimah", "Noura", "Khalid", "Sara", "Omar", "Layla", "Abdullah",
    "Huda", "Yousef", "Reem", "Faisal", "Maha", "Saad", "Amal", "Hassan", "Mariam",
)  # fmt: skip
_LAST_NAMES = (
    "Al-Harbi", "Al-Qahtani", "Al-Otaibi", "Al-Ghamdi", "Al-Zahrani", "Al-Shehri", "Al-Dosari",
    "Al-Mutairi", "Haddad", "Khoury", "Nasser", "Saleh",
)  # fmt: skip
_DEPARTMENTS = ("Sales", "Cashier", "Warehouse", "Customer Service", "Management")

# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`generate_chain` wrote, and how hard the resulting problem is.

    Attributes
    ----------
    out_dir : Path
        Directory holding the six CSV files.
    paths : dict of str to Path
        Table name (``"stock_movement"`` …) to the file written.
    rows : dict of str to int
        Data lines written per table (header excluded, injected messy rows included).
    injected : dict of str to int
        Extra rows added by ``messy=True`` per table (bad rows and duplicate movements);
        all zeros for a clean chain. ``rows - injected`` are the clean rows.
    branches, items, days, seed : int
        The arguments of the run.
    start, end : str
        First and last simulated (and written) calendar day, ISO format.
    messy : bool
        Whether export quirks were injected.
    horizon : int
        Horizon N of the label statistics below.
    label_rows : int
        Branch×item×as-of-day rows whose label has matured (``t + N`` inside the history).
    positive_rate : float
        Share of those rows with label 1, computed from the simulated stock.
    rule_f1 : float
        F1 of the rule baseline ``CurrentQuantity < SafetyStockLevel`` on the same rows; a value
        well below 1 shows that the label is not trivially the current state.
    transfers : int
        Inter-branch transfer rows in ``stock_movement.csv``.
    """

    out_dir: Path
    paths: dict[str, Path]
    rows: dict[str, int]
    injected: dict[str, int]
    branches: int
    items: int
    days: int
    seed: int
    start: str
    end: str
    messy: bool
    horizon: int
    label_rows: int
    positive_rate: float
    rule_f1: float
    transfers: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (paths as strings), e.g. for the CLI to print."""
        return {
            "out_dir": str(self.out_dir),
            "paths": {k: str(v) for k, v in self.paths.items()},
            "rows": dict(self.rows),
            "injected": dict(self.injected),
            "branches": self.branches,
            "items": self.items,
            "days": self.days,
            "seed": self.seed,
            "start": self.start,
            "end": self.end,
            "messy": self.messy,
            "horizon": self.horizon,
            "label_rows": self.label_rows,
            "positive_rate": self.positive_rate,
            "rule_f1": self.rule_f1,
            "transfers": self.transfers,
        }


def generate_chain(
    out_dir: str | Path,
    *,
    branches: int = 10,
    items: int = 200,
    days: int = 365,
    seed: int = 42,
    start: str = "2024-01-01",
    messy: bool = False,
    horizon_for_stats: int = 7,
) -> SynthSummary:
    """Simulate a retail chain and write its six CSV exports to ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Directory to write into (created if missing). Existing files of the same names are
        overwritten.
    branches : int, default=10
        Number of branches. IDs are zero-padded digits (``"001"``, ``"002"`` …): they look numeric
        on purpose, and must stay strings.
    items : int, default=200
        Number of items (``"ITM0001"`` …); every branch stocks every item.
    days : int, default=365
        Number of calendar days of history, starting at ``start``. Must exceed
        ``horizon_for_stats``.
    seed : int, default=42
        Seed of ``np.random.default_rng``; the same arguments write the same bytes.
    start : str, default="2024-01-01"
        First calendar day of the history.
    messy : bool, default=False
        Write the content the way real exports look and add a handful of invalid rows; see the
        module docstring. Valid content is identical to ``messy=False``.
    horizon_for_stats : int, default=7
        Horizon N used for the label statistics in the summary.

    Returns
    -------
    SynthSummary
        Paths, row counts, and the positive-label rate at ``horizon_for_stats``.

    Examples
    --------
    >>> from stockout_sk.synth import generate_chain
    >>> summary = generate_chain("chain", branches=3, items=20, days=90, seed=1)  # doctest: +SKIP
    >>> summary.rows["stock_current"]  # doctest: +SKIP
    60
    """
    _check_int("branches", branches, minimum=1)
    _check_int("items", items, minimum=1)
    _check_int("days", days, minimum=1)
    _check_int("seed", seed, minimum=0)
    _check_int("horizon_for_stats", horizon_for_stats, minimum=1)
    if days <= horizon_for_stats:
        raise ValueError(
            f"days={days!r} must exceed horizon_for_stats={horizon_for_stats!r}: no label would "
            "mature inside the history. Simulate more days."
        )
    try:
        first_day = pd.Timestamp(start).normalize()
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"start={start!r} is not a date; use ISO format, e.g. '2024-01-01'"
        ) from exc
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    run = _run(branches, items, days, seed, first_day)
    chain, policy, sim = run.chain, run.policy, run.sim
    label_rows, positive_rate, rule_f1 = _label_stats(
        sim.stock, policy.reserved, policy.safety, horizon_for_stats
    )

    dates = pd.date_range(first_day, periods=days, freq="D")
    writer = _Writer(out, dates, chain, run.rng_messy, messy=messy)
    writer.branches()
    writer.item_master()
    writer.employees()
    writer.stock_current(sim, policy, run.rng_content)
    writer.stock_movement(sim)
    writer.sales(sim.sold, run.rng_lines)

    summary = SynthSummary(
        out_dir=out,
        paths={name: out / SCHEMAS[name].filename for name in writer.rows},
        rows=dict(writer.rows),
        injected=dict(writer.injected),
        branches=branches,
        items=items,
        days=days,
        seed=seed,
        start=str(dates[0].date()),
        end=str(dates[-1].date()),
        messy=messy,
        horizon=horizon_for_stats,
        label_rows=label_rows,
        positive_rate=positive_rate,
        rule_f1=rule_f1,
        transfers=int((sim.mv_src < branches).sum()),
    )
    logger.info(
        "synthetic chain written to %s: %d branches × %d items × %d days, rows %s, "
        "positive rate %.3f at horizon %d (rule F1 %.3f)",
        out,
        branches,
        items,
        days,
        summary.rows,
        positive_rate,
        horizon_for_stats,
        rule_f1,
    )
    return summary


@dataclass
class _Run:
    """A simulated chain before it is written, and the random streams still to be used."""

    chain: _Chain
    policy: _Policy
    sim: _Simulation
    rng_content: np.random.Generator  # content drawn after the simulation (snapshot times)
    rng_lines: np.random.Generator  # splitting daily sales into invoice lines
    rng_messy: np.random.Generator  # export quirks only: never changes the content


def _run(branches: int, items: int, days: int, seed: int, first_day: pd.Timestamp) -> _Run:
    """Simulate the chain; the same arguments always give the same chain."""
    # Independent streams: the simulation, the invoice splitting and the messy quirks never share
    # draws, so messy=True cannot perturb the clean content.
    rng_master, rng_sim, rng_lines, rng_messy = np.random.default_rng(seed).spawn(4)
    chain = _build_master(branches, items, first_day, rng_master)
    policy = _build_policy(chain, days, rng_sim)
    sim = _simulate(chain, policy, days, first_day, rng_sim)
    return _Run(chain, policy, sim, rng_sim, rng_lines, rng_messy)


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")


# ----------------------------------------------------------------------------------------------
# Master data
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chain:
    """Branches, items and employees of the simulated chain."""

    branch_ids: list[str]
    branch_names: list[str]
    opening: list[pd.Timestamp]
    item_codes: list[str]
    arabic: list[str]
    english: list[str]
    brand: list[str]
    speed: np.ndarray  # relative sales speed of the item's product
    fresh: np.ndarray  # bool: delivered by the supplier on fixed weekdays
    employees: list[tuple[str, str, str, str]]

    @property
    def n_branches(self) -> int:
        return len(self.branch_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_codes)


def _build_master(
    n_branches: int, n_items: int, first_day: pd.Timestamp, rng: np.random.Generator
) -> _Chain:
    width = max(3, len(str(n_branches)))
    branch_ids = [f"{b + 1:0{width}d}" for b in range(n_branches)]
    places = [(city, district) for city, districts in _CITIES for district in districts]
    branch_names = []
    for b in range(n_branches):
        city, district = places[b % len(places)]
        # Most exports write "District, City" (a comma inside a field); a few the other way round.
        name = f"{district}, {city}" if b % 4 else f"{city} {district}"
        if b >= len(places):
            name = f"{name} {b // len(places) + 1}"
        branch_names.append(name)
    # Opening dates between 2005 and 90 days before the history: every branch trades throughout.
    span = (first_day - pd.Timestamp("2005-01-01")).days - 90
    opening = [
        pd.Timestamp("2005-01-01") + pd.Timedelta(days=int(x))
        for x in rng.integers(0, max(span, 1), n_branches)
    ]

    item_width = max(4, len(str(n_items)))
    item_codes = [f"ITM{i + 1:0{item_width}d}" for i in range(n_items)]
    product = rng.integers(0, len(_PRODUCTS), n_items)
    brand = rng.integers(0, len(_BRANDS), n_items)
    size_draw = rng.integers(0, 12, n_items)
    arabic, english, brands = [], [], []
    for p, br, sz in zip(product.tolist(), brand.tolist(), size_draw.tolist(), strict=True):
        ar, en, _, family, _ = _PRODUCTS[p]
        size_ar, size_en = _SIZES[family][sz % len(_SIZES[family])]
        brand_en, brand_ar = _BRANDS[br]
        arabic.append(f"{ar} {brand_ar} {size_ar}")
        english.append(f"{en} {size_en} - {brand_en}")
        brands.append(brand_en)
    speed = np.array([_PRODUCTS[p][2] for p in product.tolist()], dtype=np.float64)
    fresh = np.array([_PRODUCTS[p][4] for p in product.tolist()], dtype=bool)

    employees = []
    per_branch = rng.integers(4, 10, n_branches)
    first = rng.integers(0, len(_FIRST_NAMES), int(per_branch.sum()) + 3)
    last = rng.integers(0, len(_LAST_NAMES), len(first))
    dept = rng.integers(0, len(_DEPARTMENTS), len(first))
    # Head-office staff (blank BranchID) first, then each branch's staff.
    homes = [""] * 3 + [
        bid for bid, n in zip(branch_ids, per_branch.tolist(), strict=True) for _ in range(n)
    ]
    for n, home in enumerate(homes):
        f, la = _FIRST_NAMES[first[n]], _LAST_NAMES[last[n]]
        # Some HR systems write "Last, First": a quoted field with a comma.
        full = f"{la}, {f}" if n % 7 == 3 else f"{f} {la}"
        department = "Head Office" if not home else _DEPARTMENTS[dept[n]]
        employees.append((f"{n + 1:06d}", full, department, home))

    return _Chain(
        branch_ids=branch_ids,
        branch_names=branch_names,
        opening=opening,
        item_codes=item_codes,
        arabic=arabic,
        english=english,
        brand=brands,
        speed=speed,
        fresh=fresh,
        employees=employees,
    )


# ----------------------------------------------------------------------------------------------
# Demand and replenishment policy
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Policy:
    """Per-key demand parameters and replenishment settings (keys are branch-major)."""

    base: np.ndarray  # mean daily demand before pattern, season, trend and promotions
    dispersion: np.ndarray  # negative-binomial size: small = bursty
    weekly: np.ndarray  # (branches, 7) multiplier by weekday (Monday = 0)
    season_amp: np.ndarray  # (items,) amplitude of the yearly cycle
    season_phase: np.ndarray  # (items,)
    trend: np.ndarray  # log growth per year, per key
    promo: np.ndarray  # (warm-up + days, items) demand multiplier of promotions
    outage: np.ndarray  # (warm-up + days, items) days until the warehouse can ship the item
    safety: np.ndarray  # SafetyStockLevel
    reserved: np.ndarray  # ReservedQuantity
    reorder: np.ndarray  # s: order when the inventory position falls to it
    order_up_to: np.ndarray  # S
    pack: np.ndarray  # case-pack size; orders are multiples of it
    fresh: np.ndarray  # bool: supplier delivers on fixed weekdays instead of (s, S)
    delivery_days: np.ndarray  # (items, 7) bool: weekdays a fresh item is delivered
    lead: np.ndarray  # (branches,) nominal warehouse lead time in days
    delay: np.ndarray  # (branches,) probability that a warehouse order is delayed
    keep_cover: np.ndarray  # stock a donor keeps above safety stock before it transfers


def _build_policy(chain: _Chain, days: int, rng: np.random.Generator) -> _Policy:
    n_b, n_i = chain.n_branches, chain.n_items
    n_keys = n_b * n_i
    item_of = np.tile(np.arange(n_i), n_b)
    branch_of = np.repeat(np.arange(n_b), n_i)

    # Skewed velocity: a long tail of slow movers and a few fast movers, scaled by branch size.
    item_level = chain.speed * rng.lognormal(np.log(_ITEM_LEVEL[0]), _ITEM_LEVEL[1], n_i)
    branch_size = rng.lognormal(0.0, 0.35, n_b)
    base = item_level[item_of] * branch_size[branch_of] * rng.lognormal(0.0, 0.3, n_keys)
    base = np.clip(base, _MIN_BASE, 80.0)
    dispersion = rng.uniform(*_DISPERSION, n_i)[item_of]

    # Thursday and Friday are the busy days (the weekend starts on Friday).
    weekly_shape = np.array([0.9, 0.88, 0.92, 1.05, 1.3, 1.2, 0.95])
    weekly = weekly_shape[None, :] * rng.lognormal(0.0, 0.05, (n_b, 7))
    weekly /= weekly.mean(axis=1, keepdims=True)
    season_amp = rng.uniform(0.0, 0.35, n_i)
    season_phase = rng.uniform(0.0, 2 * np.pi, n_i)
    trend = rng.normal(0.0, 0.2, n_keys)
    promo = _promotions(n_i, _WARMUP_DAYS + days, rng)
    outage = _outages(n_i, _WARMUP_DAYS + days, rng)

    # The planner sees a mis-estimated demand, not the truth: the policy is imperfect.
    estimate = base * rng.lognormal(0.0, _ESTIMATE_SIGMA, n_keys)
    safety = np.maximum(1, np.rint(estimate * _SAFETY_DAYS)).astype(np.int64)
    reserved = np.where(
        rng.random(n_keys) < 0.7, 0, rng.integers(1, 4, n_keys) * (safety >= 3)
    ).astype(np.int64)
    lead = rng.integers(*_LEAD_DAYS, n_b)  # nominal warehouse lead time per branch
    # Most reorder points cover the lead time with a margin; the planner got some keys wrong
    # (demand grew, the lead time changed): those run short in every cycle until fixed.
    under = rng.random(n_keys) < _UNDER_SHARE
    margin = np.where(
        under, rng.uniform(*_UNDER_MARGIN_DAYS, n_keys), rng.uniform(*_MARGIN_DAYS, n_keys)
    )
    cover = np.maximum(lead[branch_of] + margin, 0.0)
    reorder = safety + reserved + np.ceil(estimate * cover).astype(np.int64)
    # Case packs grow with the item's speed: slow movers are ordered by the unit.
    pack = np.array([1, 6, 12, 24])[np.searchsorted([1.0, 4.0, 12.0], item_level)][item_of]
    cycle = rng.uniform(5.0, 20.0, n_keys)
    batch = np.maximum(pack, np.ceil(estimate * cycle / pack) * pack).astype(np.int64)
    order_up_to = reorder + batch

    fresh = chain.fresh[item_of]
    # Fresh items: 2 or 3 delivery weekdays; order up to the demand until the next delivery.
    delivery_days = np.zeros((n_i, 7), dtype=bool)
    for i in range(n_i):  # once per item (not per key or day): negligible
        delivery_days[i, rng.choice(7, size=int(rng.integers(2, 4)), replace=False)] = True
    # Longest gap between two deliveries of the week, per item.
    weekdays = [np.flatnonzero(row) for row in delivery_days]
    gap = np.array([np.diff(np.r_[w, w[0] + 7]).max() for w in weekdays])[item_of]
    fresh_cover = np.maximum(gap + margin, 0.5)
    fresh_up_to = safety + reserved + np.ceil(estimate * fresh_cover).astype(np.int64)
    order_up_to = np.where(fresh, fresh_up_to, order_up_to)

    # A branch gives stock away only beyond safety stock plus 10 days of its sales.
    keep_cover = safety + np.ceil(base * 10.0).astype(np.int64)
    return _Policy(
        base=base,
        dispersion=dispersion,
        weekly=weekly,
        season_amp=season_amp,
        season_phase=season_phase,
        trend=trend,
        promo=promo,
        outage=outage,
        safety=safety,
        reserved=reserved,
        reorder=reorder,
        order_up_to=order_up_to,
        pack=pack.astype(np.int64),
        fresh=fresh,
        delivery_days=delivery_days,
        lead=lead,
        delay=rng.uniform(*_DELAY_PROB, n_b),
        keep_cover=keep_cover,
    )


def _outages(n_items: int, n_days: int, rng: np.random.Generator) -> np.ndarray:
    """Warehouse out-of-stock windows per item: days left until it can ship again (0 = it can)."""
    count = rng.poisson(n_days / _OUTAGE_EVERY, n_items)
    items = np.repeat(np.arange(n_items), count)
    begins = rng.integers(0, n_days, len(items))
    lengths = rng.integers(*_OUTAGE_DAYS, len(items))
    left = np.zeros((n_days, n_items), dtype=np.int64)
    for item, begin, end in zip(items, begins, begins + lengths, strict=True):
        # A handful of windows per item; overlapping ones keep the later restock day.
        days = np.arange(begin, min(end, n_days))
        left[days, item] = np.maximum(left[days, item], end - days)
    return left


def _promotions(n_items: int, n_days: int, rng: np.random.Generator) -> np.ndarray:
    """Chain-wide promotion windows per item as a ``days × items`` demand multiplier."""
    count = rng.poisson(n_days / _PROMO_EVERY, n_items)
    item = np.repeat(np.arange(n_items), count)
    begin = rng.integers(0, n_days, len(item))
    length = rng.integers(*_PROMO_DAYS, len(item))
    uplift = np.log(rng.uniform(*_PROMO_UPLIFT, len(item)))
    # Difference array: +log(uplift) where a window opens, −log(uplift) where it closes.
    steps = np.zeros((n_days + 1, n_items))
    np.add.at(steps, (begin, item), uplift)
    np.add.at(steps, (np.minimum(begin + length, n_days), item), -uplift)
    return np.exp(np.cumsum(steps[:-1], axis=0)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------------


@dataclass
class _Simulation:
    """Simulated flows and stock of the written days.

    ``stock`` and ``sold`` are ``days × keys``. Movements are parallel arrays, one element per
    movement row, in the order they are written; ``mv_src``/``mv_dst`` are node indices: branches
    ``0..B−1``, then the warehouse ``B`` and the supplier ``B+1``.
    """

    stock: np.ndarray
    sold: np.ndarray
    mv_day: np.ndarray
    mv_src: np.ndarray
    mv_dst: np.ndarray
    mv_item: np.ndarray
    mv_qty: np.ndarray


def _simulate(
    chain: _Chain, policy: _Policy, days: int, first_day: pd.Timestamp, rng: np.random.Generator
) -> _Simulation:
    n_b, n_i = chain.n_branches, chain.n_items
    n_keys = n_b * n_i
    item_of = np.tile(np.arange(n_i), n_b)
    branch_of = np.repeat(np.arange(n_b), n_i)
    warehouse, supplier = n_b, n_b + 1
    items = np.arange(n_i)

    stock_out = np.zeros((days, n_keys), dtype=np.int32)
    sold_out = np.zeros((days, n_keys), dtype=np.int32)
    moves: list[tuple[np.ndarray, ...]] = []

    # Start anywhere in the replenishment cycle; the warm-up settles the rest.
    low = np.minimum(policy.reorder, policy.order_up_to)
    stock = rng.integers(low, np.maximum(policy.reorder, policy.order_up_to) + 1).astype(np.int64)
    on_order = np.zeros(n_keys, dtype=np.int64)
    due_wh = np.zeros((_RING, n_keys), dtype=np.int64)
    due_sup = np.zeros((_RING, n_keys), dtype=np.int64)
    lead_of = policy.lead[branch_of]
    delay_of = policy.delay[branch_of]
    dispersion = policy.dispersion
    weekly_of = policy.weekly[branch_of]  # (keys, 7)
    up_to = policy.order_up_to
    available_floor = policy.safety + policy.reserved
    safety2 = available_floor.reshape(n_b, n_i)
    keep2 = (policy.keep_cover + policy.reserved).reshape(n_b, n_i)
    top_up2 = np.ceil(2.0 * policy.base).astype(np.int64).reshape(n_b, n_i)

    for step in range(_WARMUP_DAYS + days):
        d = step - _WARMUP_DAYS  # index of the written day; negative during the warm-up
        today = first_day + pd.Timedelta(days=d)
        slot = step % _RING

        # 1. Morning receipts.
        from_wh, from_sup = due_wh[slot].copy(), due_sup[slot].copy()
        due_wh[slot] = 0
        due_sup[slot] = 0
        received = from_wh + from_sup
        stock += received
        on_order -= received
        if d >= 0:
            for source, qty in ((warehouse, from_wh), (supplier, from_sup)):
                keys = np.flatnonzero(qty)
                moves.append(
                    (
                        np.full(len(keys), d),
                        np.full(len(keys), source),
                        branch_of[keys],
                        item_of[keys],
                        qty[keys],
                    )
                )

        # 2. Sales, censored by what is on the shelf.
        years = d / 365.0
        season = 1.0 + policy.season_amp * np.sin(
            2 * np.pi * today.day_of_year / 365.25 + policy.season_phase
        )
        mean = (
            policy.base
            * weekly_of[:, today.day_of_week]
            * season[item_of]
            * np.exp(policy.trend * years)
            * policy.promo[step][item_of]
        )
        demand = rng.negative_binomial(dispersion, dispersion / (dispersion + mean))
        sold = np.minimum(demand, stock)
        stock -= sold

        # 3. Evening transfers: per item, the branch with most excess cover helps the branch
        #    furthest below safety stock (when someone bothers to: not every day, not every item).
        shelf = stock.reshape(n_b, n_i)
        deficit = safety2 - shelf
        surplus = shelf - keep2
        receiver = deficit.argmax(axis=0)
        donor = surplus.argmax(axis=0)
        need = deficit[receiver, items]
        spare = surplus[donor, items]
        go = (need > 0) & (spare > 0) & (rng.random(n_i) < _TRANSFER_PROB)
        if go.any():
            t_items = items[go]
            t_qty = np.minimum(spare[go], need[go] + top_up2[receiver[go], t_items])
            shelf[donor[go], t_items] -= t_qty
            shelf[receiver[go], t_items] += t_qty
            if d >= 0:
                moves.append((np.full(len(t_items), d), donor[go], receiver[go], t_items, t_qty))

        # 4. Replenishment review.
        position = stock + on_order
        tomorrow = (today.day_of_week + 1) % 7
        fresh_due = policy.fresh & policy.delivery_days[item_of, tomorrow]
        order_keys = np.flatnonzero(
            (~policy.fresh & (position <= policy.reorder)) | (fresh_due & (position < up_to))
        )
        if len(order_keys):
            pack = policy.pack[order_keys]
            qty = -(-(up_to[order_keys] - position[order_keys]) // pack) * pack
            fresh_k = policy.fresh[order_keys]
            jitter = rng.choice(_LEAD_JITTER, len(order_keys))
            delayed = rng.random(len(order_keys)) < delay_of[order_keys]
            lead = np.clip(lead_of[order_keys] + jitter, 1, 6) + delayed * rng.integers(
                2, 8, len(order_keys)
            )
            # Fresh goods come tomorrow (rarely a day late); a few rush orders of other goods go
            # to the supplier directly when the warehouse is short.
            lead = np.where(fresh_k, 1 + (rng.random(len(order_keys)) < 0.03), lead)
            direct = fresh_k | (rng.random(len(order_keys)) < 0.04)
            # The warehouse cannot ship an item it is out of: those orders wait for the restock.
            lead = np.where(direct, lead, lead + policy.outage[step, item_of[order_keys]])
            arrive = (step + lead) % _RING
            due_sup[arrive[direct], order_keys[direct]] += qty[direct]
            due_wh[arrive[~direct], order_keys[~direct]] += qty[~direct]
            on_order[order_keys] += qty

        if d >= 0:
            stock_out[d] = stock
            sold_out[d] = sold

    columns = (
        [np.concatenate(c).astype(np.int64) for c in zip(*moves, strict=True)]
        if moves
        else [np.zeros(0, dtype=np.int64)] * 5
    )
    return _Simulation(stock_out, sold_out, *columns)


def _label_stats(
    stock: np.ndarray, reserved: np.ndarray, safety: np.ndarray, horizon: int
) -> tuple[int, float, float]:
    """Matured label rows, their positive rate, and the F1 of the rule baseline.

    ``stock`` is ``days × keys``; the label at as-of day ``t`` is
    ``min_{k=1..N} (S(t+k) − R) < SS`` for every ``t`` with ``t + N`` inside the history.
    """
    n_asof = stock.shape[0] - horizon
    future_min = stock[1 : 1 + n_asof].copy()
    for k in range(2, horizon + 1):
        np.minimum(future_min, stock[k : k + n_asof], out=future_min)
    label = (future_min - reserved[None, :]) < safety[None, :]
    rule = stock[:n_asof] < safety[None, :]
    positives = int(label.sum())
    hits = int((label & rule).sum())
    predicted = int(rule.sum())
    f1 = 2.0 * hits / (positives + predicted) if positives + predicted else 0.0
    return int(label.size), positives / label.size, f1


# ----------------------------------------------------------------------------------------------
# Writing the CSV exports
# ----------------------------------------------------------------------------------------------

# File-level quirks of a messy export (fixed, so the sample's README can say which file has what).
_BOM_FILES = frozenset({"sales_transactions", "stock_current", "item_master"})
_CRLF_FILES = frozenset({"stock_movement", "item_master", "employees"})

# strftime patterns of the date variants a messy export mixes within one column. Timestamps with
# an offset carry the local wall-clock time, so their written date is the true date.
_DATE_FORMATS = {
    "iso": "%Y-%m-%d",
    "dmy": "%d/%m/%Y",
    "ymd_slash": "%Y/%m/%d",
    "ts": "%Y-%m-%d %H:%M:%S",
    "ts_t": "%Y-%m-%dT%H:%M:%S",
    "ts_tz": "%Y-%m-%dT%H:%M:%S+03:00",
}
_TIME_SLOTS = 4  # distinct times of day per date in a messy date column

_BAD_DATES = ("2024-02-30", "31/31/2024", "not a date", "2024-13-01")
_BAD_QUANTITIES = ("N/A", "abc", "#VALUE!", "1O")


def _quote(value: str) -> str:
    """A CSV field: quoted (with doubled quotes) only when it has to be."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _force_quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class _Writer:
    """Formats and writes the six files; with ``messy`` it varies the representation per row."""

    def __init__(
        self,
        out: Path,
        dates: pd.DatetimeIndex,
        chain: _Chain,
        rng: np.random.Generator,
        *,
        messy: bool,
    ) -> None:
        self.out = out
        self.dates = dates
        self.chain = chain
        self.rng = rng
        self.messy = messy
        self.rows: dict[str, int] = {}
        self.injected: dict[str, int] = {}

    # -- helpers ---------------------------------------------------------------------------

    def _write(self, name: str, chunks: Iterable[list[str]], injected: int = 0) -> None:
        schema = SCHEMAS[name]
        bom = self.messy and name in _BOM_FILES
        newline = "\r\n" if self.messy and name in _CRLF_FILES else "\n"
        count = 0
        with open(
            self.out / schema.filename, "w", encoding="utf-8-sig" if bom else "utf-8", newline=""
        ) as handle:
            handle.write(",".join(schema.columns) + newline)
            for lines in chunks:
                if lines:
                    handle.write(newline.join(lines) + newline)
                    count += len(lines)
        self.rows[name] = count
        self.injected[name] = injected if self.messy else 0

    def _pick(self, n: int, probs: Sequence[float]) -> np.ndarray:
        """Variant index per row: always 0 for a clean export."""
        if not self.messy or len(probs) == 1:
            return np.zeros(n, dtype=np.int64)
        return self.rng.choice(len(probs), size=n, p=np.asarray(probs) / sum(probs))

    def _date_table(self, variants: Sequence[str]) -> list[str]:
        """Strings for ``(variant, day, time slot)`` flattened as ``(v·days + d)·slots + s``."""
        n_days = len(self.dates)
        slots = _TIME_SLOTS if self.messy else 1
        seconds = (
            self.rng.integers(7 * 3600, 23 * 3600, (n_days, slots))
            if self.messy
            else (np.zeros((n_days, slots), dtype=np.int64))
        )
        stamps = pd.DatetimeIndex(
            (self.dates.values[:, None] + seconds.astype("timedelta64[s]")).ravel()
        )
        table: list[str] = []
        for variant in variants:
            table.extend(stamps.strftime(_DATE_FORMATS[variant]).tolist())
        return table

    def _date_index(self, day: np.ndarray, probs: Sequence[float]) -> np.ndarray:
        variant = self._pick(len(day), probs)
        slots = _TIME_SLOTS if self.messy else 1
        slot = self.rng.integers(0, slots, len(day)) if self.messy else 0
        return (variant * len(self.dates) + day) * slots + slot

    @staticmethod
    def _spaced(ids: Sequence[str], tails: Sequence[str] | None = None) -> list[str]:
        """Variants 0 (as is), 1 (leading space), 2 (trailing space) of each ID, + its tail.

        The tail (``",<name>"``) follows the ID unchanged: stray whitespace never touches a
        quoted field, where it would make the CSV malformed rather than merely untidy.
        """
        tails = tails if tails is not None else [""] * len(ids)
        return [
            f"{before}{i}{after}{tail}"
            for before, after in (("", ""), (" ", ""), ("", " "))
            for i, tail in zip(ids, tails, strict=True)
        ]

    def _space_index(self, index: np.ndarray, size: int, share: float = 0.01) -> np.ndarray:
        return self._pick(len(index), (1.0 - share, share / 2, share / 2)) * size + index

    def _quantities(self, qty: np.ndarray, float_share: float = 0.0) -> list[str]:
        """Quantities as text; messy exports sometimes pad them or write ``12.0``."""
        text = [str(q) for q in qty.tolist()]
        if not self.messy:
            return text
        variant = self._pick(len(text), (1.0 - 0.01 - float_share, 0.005, 0.005, float_share))
        for r in np.flatnonzero(variant).tolist():
            text[r] = (f" {text[r]}", f"{text[r]} ", f"{text[r]}.0")[variant[r] - 1]
        return text

    def _insert(self, lines: list[str], extra: list[str]) -> list[str]:
        """Insert extra rows at random positions (deterministic for the messy stream)."""
        for row in extra:
            lines.insert(int(self.rng.integers(0, len(lines) + 1)), row)
        return lines

    # -- master data -----------------------------------------------------------------------

    def branches(self) -> None:
        ch = self.chain
        opened = pd.DatetimeIndex(ch.opening)
        variant = self._pick(len(opened), (0.7, 0.3))
        dates = [
            d.strftime(_DATE_FORMATS["ymd_slash" if v else "iso"])
            for d, v in zip(opened, variant.tolist(), strict=True)
        ]
        ids = self._spaced(ch.branch_ids)
        idx = self._space_index(np.arange(ch.n_branches), ch.n_branches, share=0.05)
        lines = [
            f"{ids[k]},{_quote(name)},{date}"
            for k, name, date in zip(idx.tolist(), ch.branch_names, dates, strict=True)
        ]
        self._write("branches", [lines])

    def item_master(self) -> None:
        ch = self.chain
        codes = self._spaced(ch.item_codes)
        idx = self._space_index(np.arange(ch.n_items), ch.n_items, share=0.03)
        lines = [
            f"{codes[k]},{_quote(ar)},{_quote(en)},{_quote(brand)}"
            for k, ar, en, brand in zip(idx.tolist(), ch.arabic, ch.english, ch.brand, strict=True)
        ]
        self._write("item_master", [lines])

    def employees(self) -> None:
        rows = self.chain.employees
        lines = []
        pad = self._pick(len(rows), (0.95, 0.025, 0.025)).tolist()
        for (emp, name, dept, home), p in zip(rows, pad, strict=True):
            if p and home:
                home = f" {home}" if p == 1 else f"{home} "
            lines.append(f"{emp},{_quote(name)},{_quote(dept)},{home}")
        self._write("employees", [lines])

    # -- stock snapshot ----------------------------------------------------------------------

    def stock_current(self, sim: _Simulation, policy: _Policy, rng: np.random.Generator) -> None:
        ch = self.chain
        n_b, n_i = ch.n_branches, ch.n_items
        n_days, n_keys = sim.stock.shape
        branch_of = np.repeat(np.arange(n_b), n_i)
        item_of = np.tile(np.arange(n_i), n_b)
        # Content (not a quirk): exports are not synchronous, a few keys were last updated
        # 1–3 days before the end of the history. The quantity is the stock of that day.
        lag = np.where(rng.random(n_keys) < 0.04, rng.integers(1, 4, n_keys), 0)
        lag = np.minimum(lag, n_days - 1)
        day = n_days - 1 - lag
        current = sim.stock[day, np.arange(n_keys)].astype(np.int64)
        seconds = rng.integers(20 * 3600, 24 * 3600, n_keys)
        stamps = pd.DatetimeIndex(self.dates.values[day] + seconds.astype("timedelta64[s]"))
        variant = self._pick(n_keys, (0.6, 0.2, 0.2))
        formats = ("ts", "ts_t", "ts_tz")
        stamp_text = {v: stamps.strftime(_DATE_FORMATS[f]).tolist() for v, f in enumerate(formats)}
        updated = [stamp_text[v][k] for k, v in enumerate(variant.tolist())]

        b_text = self._spaced(ch.branch_ids, [f",{_quote(n)}" for n in ch.branch_names])
        i_text = self._spaced(ch.item_codes, [f",{_quote(a)}" for a in ch.arabic])
        b_idx = self._space_index(branch_of, n_b)
        i_idx = self._space_index(item_of, n_i)
        cur = self._quantities(current, float_share=0.05)
        res = self._quantities(policy.reserved)
        ss = self._quantities(policy.safety, float_share=0.05)
        lines = [
            f"{b_text[b]},{i_text[i]},{c},{r},{s},{u}"
            for b, i, c, r, s, u in zip(
                b_idx.tolist(), i_idx.tolist(), cur, res, ss, updated, strict=True
            )
        ]
        extra: list[str] = []
        if self.messy:
            last = self.dates[-1].strftime("%Y-%m-%d")
            for n in range(2):
                b = int(self.rng.integers(0, n_b))
                branch = f"{ch.branch_ids[b]},{_quote(ch.branch_names[b])}"
                extra.append(f"{branch},,,{5 + n},0,3,{last} 21:0{n}:00")  # no ItemCode
            # An item unknown elsewhere, so the bad row cannot shadow a valid snapshot row.
            branch = f"{ch.branch_ids[0]},{_quote(ch.branch_names[0])}"
            extra.append(f"{branch},ITMX0001,,4,0,2,{_BAD_DATES[0]}")
            self._insert(lines, extra)
        self._write("stock_current", [lines], injected=len(extra))

    # -- movements -------------------------------------------------------------------------

    def stock_movement(self, sim: _Simulation) -> None:
        ch = self.chain
        n_rows = len(sim.mv_day)
        node_ids = [*ch.branch_ids, WAREHOUSE_ID, SUPPLIER_ID]
        node_names = [*ch.branch_names, _WAREHOUSE_NAME, _SUPPLIER_NAME]
        # Messy exports quote every name, needed or not.
        name = _force_quote if self.messy else _quote
        n_nodes = len(node_ids)
        node_text = self._spaced(node_ids, [f",{name(n)}" for n in node_names])
        item_text = self._spaced(ch.item_codes, [f",{name(a)}" for a in ch.arabic])
        date_variants = ("iso", "ts", "ts_t", "ts_tz") if self.messy else ("iso",)
        date_text = self._date_table(date_variants)
        date_probs = (0.4, 0.2, 0.2, 0.2) if self.messy else (1.0,)

        duplicates: set[int] = set()
        bad: dict[int, list[str]] = {}
        if self.messy and n_rows:
            duplicates = {int(r) for r in self.rng.choice(n_rows, min(5, n_rows), replace=False)}
            for n, kind in enumerate(("date", "date", "qty", "qty", "item", "item")):
                at = int(self.rng.integers(0, n_rows))
                b, i = (
                    int(self.rng.integers(0, ch.n_branches)),
                    int(self.rng.integers(0, ch.n_items)),
                )
                day = self.dates[min(at * len(self.dates) // n_rows, len(self.dates) - 1)]
                date = (
                    _BAD_DATES[n % len(_BAD_DATES)] if kind == "date" else day.strftime("%Y-%m-%d")
                )
                qty = _BAD_QUANTITIES[n % len(_BAD_QUANTITIES)] if kind == "qty" else str(n + 3)
                item = (
                    f",{name('')}" if kind == "item" else f"{ch.item_codes[i]},{name(ch.arabic[i])}"
                )
                src = f"{WAREHOUSE_ID},{name(_WAREHOUSE_NAME)}"
                dst = f"{ch.branch_ids[b]},{name(ch.branch_names[b])}"
                bad.setdefault(at, []).append(f"MVX{n + 1:05d},{date},{src},{dst},{item},{qty}")

        def chunks() -> Iterator[list[str]]:
            step = 200_000
            for r0 in range(0, n_rows, step):
                r1 = min(r0 + step, n_rows)
                day = sim.mv_day[r0:r1]
                d_idx = self._date_index(day, date_probs)
                s_idx = self._space_index(sim.mv_src[r0:r1], n_nodes)
                t_idx = self._space_index(sim.mv_dst[r0:r1], n_nodes)
                i_idx = self._space_index(sim.mv_item[r0:r1], ch.n_items)
                qty = self._quantities(sim.mv_qty[r0:r1])
                lines = [
                    f"MV{r:08d},{date_text[a]},{node_text[s]},{node_text[t]},{item_text[i]},{q}"
                    for r, a, s, t, i, q in zip(
                        range(r0 + 1, r1 + 1),
                        d_idx.tolist(),
                        s_idx.tolist(),
                        t_idx.tolist(),
                        i_idx.tolist(),
                        qty,
                        strict=True,
                    )
                ]
                # Walk backwards so insertions do not shift the rows still to visit.
                marked = sorted((duplicates | bad.keys()) & set(range(r0, r1)), reverse=True)
                for r in marked:
                    if r in duplicates:
                        lines.insert(r - r0 + 1, lines[r - r0])
                    for row in bad.get(r, ()):
                        lines.insert(r - r0 + 1, row)
                yield lines

        injected = len(duplicates) + sum(len(v) for v in bad.values())
        self._write("stock_movement", chunks(), injected=injected)

    # -- sales -----------------------------------------------------------------------------

    def sales(self, sold: np.ndarray, rng: np.random.Generator) -> None:
        ch = self.chain
        n_days, _ = sold.shape
        n_b, n_i = ch.n_branches, ch.n_items
        yymmdd = self.dates.strftime("%y%m%d").tolist()
        date_variants = ("iso", "dmy", "ts") if self.messy else ("iso",)
        date_probs = (0.6, 0.3, 0.1) if self.messy else (1.0,)
        date_text = self._date_table(date_variants)
        # Invoice numbers are <branch><yymmdd><nnn>: digits with leading zeros, an ID to keep as
        # text. Each line position draws from its own block of numbers, so an item never appears
        # twice on one invoice, while different items share invoices as in a real basket.
        # "BranchID,BranchName,<invoice prefix>" per (space variant, branch, day):
        spaced_ids = self._spaced(ch.branch_ids)
        names = [_quote(n) for n in ch.branch_names] * 3
        branch_text = [
            f"{bid},{name},{ch.branch_ids[vb % n_b]}{yymmdd[d]}"
            for vb, (bid, name) in enumerate(zip(spaced_ids, names, strict=True))
            for d in range(n_days)
        ]
        item_text = self._spaced(ch.item_codes, [f",{_quote(e)}" for e in ch.english])
        pool = 300  # invoices per branch-day and line position (900–999: the bad rows)
        number = [f"{n:03d}" for n in range(3 * pool)]

        n_chunks = -(-n_days // _CHUNK_DAYS)
        bad_at: dict[int, list[str]] = {}
        if self.messy:
            for n, kind in enumerate(("date",) * 3 + ("qty",) * 3 + ("item",) * 3):
                c = int(self.rng.integers(0, n_chunks))
                d = min(c * _CHUNK_DAYS + int(self.rng.integers(0, _CHUNK_DAYS)), n_days - 1)
                b, i = int(self.rng.integers(0, n_b)), int(self.rng.integers(0, n_i))
                date = (
                    _BAD_DATES[n % len(_BAD_DATES)]
                    if kind == "date"
                    else self.dates[d].strftime("%Y-%m-%d")
                )
                qty = _BAD_QUANTITIES[n % len(_BAD_QUANTITIES)] if kind == "qty" else str(n % 4 + 1)
                item = "," if kind == "item" else f"{ch.item_codes[i]},{_quote(ch.english[i])}"
                branch = f"{ch.branch_ids[b]},{_quote(ch.branch_names[b])}"
                invoice = f"{ch.branch_ids[b]}{yymmdd[d]}{900 + n}"
                row = f"{date},{branch},{invoice},{item},{qty}"
                bad_at.setdefault(c, []).append(row)

        def chunks() -> Iterator[list[str]]:
            for c, d0 in enumerate(range(0, n_days, _CHUNK_DAYS)):
                block = sold[d0 : d0 + _CHUNK_DAYS]
                day, key = np.nonzero(block)
                qty = block[day, key].astype(np.int64)
                day += d0
                line_day, line_key, position, line_qty = _split_lines(day, key, qty, rng)
                invoice = position * pool + rng.integers(0, pool, len(line_qty))
                branch = line_key // n_i
                d_idx = self._date_index(line_day, date_probs)
                b_idx = self._space_index(branch, n_b) * n_days + line_day
                i_idx = self._space_index(line_key % n_i, n_i)
                q_text = self._quantities(line_qty)
                lines = [
                    f"{date_text[a]},{branch_text[b]}{number[v]},{item_text[i]},{q}"
                    for a, b, v, i, q in zip(
                        d_idx.tolist(),
                        b_idx.tolist(),
                        invoice.tolist(),
                        i_idx.tolist(),
                        q_text,
                        strict=True,
                    )
                ]
                yield self._insert(lines, bad_at.get(c, []))

        injected = sum(len(v) for v in bad_at.values())
        self._write("sales_transactions", chunks(), injected=injected)


def _split_lines(
    day: np.ndarray, key: np.ndarray, qty: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split each key-day's sales into 1–3 invoice lines with positive quantities.

    Returns the day, key, line position (0, 1, 2) and quantity of every line, lines of a key-day
    adjacent and in order.
    """
    lines = np.minimum(qty, rng.choice(np.array([1, 2, 3]), len(qty), p=[0.6, 0.3, 0.1]))
    first = np.cumsum(lines) - lines  # index of each key-day's first line
    owner = np.repeat(np.arange(len(qty)), lines)
    position = np.arange(len(owner)) - first[owner]
    parts = np.ones(len(owner), dtype=np.int64)
    parts[first[lines == 1]] = qty[lines == 1]
    for m in (2, 3):
        rows = np.flatnonzero(lines == m)
        if len(rows):
            # One unit per line, the rest spread evenly at random: parts are ≥ 1 and sum to qty.
            spread = rng.multinomial(qty[rows] - m, np.full(m, 1.0 / m))
            parts[first[rows][:, None] + np.arange(m)] += spread
    return day[owner], key[owner], position, parts
