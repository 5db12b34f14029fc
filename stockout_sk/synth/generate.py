"""Simulate a chain and write its exports: :func:`generate_chain` and its :class:`SynthSummary`.

All randomness comes from ``np.random.default_rng(seed)`` and its spawned children, so the same
arguments always write the same bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.params import check_int
from stockout_sk.schemas import SCHEMAS
from stockout_sk.synth.catalogue import Chain, build_master
from stockout_sk.synth.export import Writer
from stockout_sk.synth.policy import Policy, build_policy
from stockout_sk.synth.simulate import Simulation, label_stats, simulate

__all__ = ["SynthSummary", "generate_chain"]

logger = logging.getLogger(__name__)


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
        Write the content the way real exports look and add a handful of invalid rows; see
        :mod:`stockout_sk.synth.formats`. Valid content is identical to ``messy=False``.
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
    branches = check_int(branches, "branches", caller="generate_chain")
    items = check_int(items, "items", caller="generate_chain")
    days = check_int(days, "days", caller="generate_chain")
    seed = check_int(seed, "seed", minimum=0, caller="generate_chain")
    horizon_for_stats = check_int(horizon_for_stats, "horizon_for_stats", caller="generate_chain")
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
    label_rows, positive_rate, rule_f1 = label_stats(
        sim.stock, policy.reserved, policy.safety, horizon_for_stats
    )

    dates = pd.date_range(first_day, periods=days, freq="D")
    writer = Writer(out, dates, chain, run.rng_messy, messy=messy)
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

    chain: Chain
    policy: Policy
    sim: Simulation
    rng_content: np.random.Generator  # content drawn after the simulation (snapshot times)
    rng_lines: np.random.Generator  # splitting daily sales into invoice lines
    rng_messy: np.random.Generator  # export quirks only: never changes the content


def _run(branches: int, items: int, days: int, seed: int, first_day: pd.Timestamp) -> _Run:
    """Simulate the chain; the same arguments always give the same chain."""
    # Independent streams: the simulation, the invoice splitting and the messy quirks never share
    # draws, so messy=True cannot perturb the clean content.
    rng_master, rng_sim, rng_lines, rng_messy = np.random.default_rng(seed).spawn(4)
    chain = build_master(branches, items, first_day, rng_master)
    policy = build_policy(chain, days, rng_sim)
    sim = simulate(chain, policy, days, first_day, rng_sim)
    return _Run(chain, policy, sim, rng_sim, rng_lines, rng_messy)
