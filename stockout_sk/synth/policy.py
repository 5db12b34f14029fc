"""Demand and the replenishment policy of every branch×item, drawn once before the simulation.

Demand is ``base × weekly pattern × yearly season × trend × promotion`` with negative-binomial
noise. The safety stock is a chain rule (3 days of the planner's slightly mis-estimated demand) and
the reorder point ``s`` covers the branch's *nominal* lead time plus a margin; orders go up to ``S``
in case-pack multiples. Fresh items are ordered for fixed delivery weekdays instead. The policy is
imperfect on purpose: the reorder point of a minority of keys is set too low, demand drifts away
from the estimate, promotions lift it for days (:func:`_promotions`) and the warehouse runs out of
an item for weeks (:func:`_outages`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stockout_sk.synth.catalogue import Chain

__all__ = ["LEAD_JITTER", "TRANSFER_PROB", "WARMUP_DAYS", "Policy", "build_policy"]

# Simulated days before ``start`` that are not written: they put orders in flight and spread the
# keys over their replenishment cycles, so the first written day does not look like a cold start.
WARMUP_DAYS = 35

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
LEAD_JITTER = (0, 0, 0, 1)  # actual lead time = nominal + one of these
_DELAY_PROB = (0.0, 0.12)  # per branch: share of warehouse orders delayed by 2–7 extra days
_PROMO_EVERY = 200.0  # mean days between two promotions of an item
_PROMO_DAYS = (4, 15)  # length of a promotion (days, upper bound exclusive)
_PROMO_UPLIFT = (1.3, 2.0)  # demand multiplier during a promotion
_OUTAGE_EVERY = 400.0  # mean days between two warehouse outages of an item
_OUTAGE_DAYS = (7, 22)  # length of an outage (days, upper bound exclusive)
TRANSFER_PROB = 0.15  # chance per item and day that a possible transfer is made


@dataclass(frozen=True)
class Policy:
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


def build_policy(chain: Chain, days: int, rng: np.random.Generator) -> Policy:
    """Draw the demand and replenishment settings of every branch×item of ``chain``.

    Parameters
    ----------
    chain : Chain
        The master data: item speeds and freshness shape demand and ordering.
    days : int
        Written days; promotions and outages also cover the :data:`WARMUP_DAYS` before them.
    rng : np.random.Generator
        The simulation stream: :func:`~stockout_sk.synth.simulate.simulate` goes on drawing
        from it.

    Returns
    -------
    Policy
    """
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
    promo = _promotions(n_i, WARMUP_DAYS + days, rng)
    outage = _outages(n_i, WARMUP_DAYS + days, rng)

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
    return Policy(
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
