"""The chain simulated day by day, and the label statistics of the simulated stock.

Within a day every branch×item key is one element of a numpy array, so the cost grows with
``days`` Python iterations over vectorised operations. What happens each simulated day, in this
order:

1. **Receipts** in the morning: replenishment orders placed earlier arrive from the warehouse
   ``WH01`` (or, for fresh items and a few rush orders, directly from the supplier ``SUP01``).
   Neither ID is a branch: they are external sources of inflow.
2. **Sales** during the day: demand (:mod:`stockout_sk.synth.policy`) is censored by the stock on
   hand (what is not there is not sold, and the lost sale is not written anywhere, exactly as in a
   real export).
3. **Transfers** in the evening: for some items, the branch with the most excess cover sends stock
   to the branch furthest below its safety stock (one ``stock_movement`` row between two branches).
4. **Replenishment review**: an (s, S) policy per key orders up to ``S`` in case-pack multiples
   when the inventory position (on hand + on order) falls to the reorder point ``s``; fresh items
   are ordered for fixed delivery weekdays instead. Orders arrive a day late or are delayed by
   several days, and wait while the warehouse is out of the item. Stock therefore dips below
   safety stock for reasons that velocity, delivery rhythm and a key's recent history reveal days
   ahead, not only when today's stock is already low.

End-of-day stock obeys ``S(d) = S(d−1) + inflow − outflow − sold`` exactly, with every flow written
to a CSV, so reconstructing stock backwards from ``stock_current.csv`` (``docs/DESIGN.md``, "The
label") reproduces the simulated stock without a single negative day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockout_sk.synth.catalogue import Chain
from stockout_sk.synth.policy import LEAD_JITTER, TRANSFER_PROB, WARMUP_DAYS, Policy

__all__ = ["Simulation", "label_stats", "simulate"]

# Ring buffer of future receipts; must exceed the longest lead time (nominal + jitter, a delay
# and a warehouse outage).
_RING = 64


@dataclass
class Simulation:
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


def simulate(
    chain: Chain, policy: Policy, days: int, first_day: pd.Timestamp, rng: np.random.Generator
) -> Simulation:
    """Simulate the warm-up and the ``days`` written days of the chain (see the module docstring).

    Parameters
    ----------
    chain : Chain
        The master data.
    policy : Policy
        Demand and replenishment settings per key, drawn from ``rng`` just before.
    days : int
        Written days; the :data:`~stockout_sk.synth.policy.WARMUP_DAYS` before them are
        simulated but not kept.
    first_day : pd.Timestamp
        Calendar day of the first written day (weekday and season follow from it).
    rng : np.random.Generator
        The simulation stream.

    Returns
    -------
    Simulation
        Stock and sales of the written days, and their movements in the order they are written.
    """
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

    for step in range(WARMUP_DAYS + days):
        d = step - WARMUP_DAYS  # index of the written day; negative during the warm-up
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
        go = (need > 0) & (spare > 0) & (rng.random(n_i) < TRANSFER_PROB)
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
            jitter = rng.choice(LEAD_JITTER, len(order_keys))
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
    return Simulation(stock_out, sold_out, *columns)


def label_stats(
    stock: np.ndarray, reserved: np.ndarray, safety: np.ndarray, horizon: int
) -> tuple[int, float, float]:
    """Matured label rows, their positive rate, and the F1 of the rule baseline.

    ``stock`` is ``days × keys``; the label at as-of day ``t`` is
    ``min_{k=1..N} (S(t+k) − R) < SS`` for every ``t`` with ``t + N`` inside the history
    (``docs/DESIGN.md``, "The label"). The rule baseline predicts ``S(t) < SS``.
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
