"""The report's three plots: PSI per variable, the score distribution, rolling F1."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stockout_sk.monitoring.formatting import fmt
from stockout_sk.monitoring.report import MonitoringReport
from stockout_sk.reference import PREDICTION
from stockout_sk.reports import new_figure
from stockout_sk.vocabulary import DriftStatus

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["STATUS_COLOURS", "plot_psi", "plot_rolling", "plot_score"]

#: Colour of each drift status, in the plots and the HTML table.
STATUS_COLOURS = {
    DriftStatus.OK: "#2e7d32",
    DriftStatus.WARN: "#ef8f00",
    DriftStatus.ACT: "#c62828",
    DriftStatus.NOT_JUDGED: "#8a94a3",
}


def plot_psi(report: MonitoringReport) -> Figure:
    """Horizontal bars of PSI per variable, coloured by status, with the warn and act lines."""
    drift = report.drift
    cfg = report.config
    figure = new_figure(8.0, 1.8 + 0.38 * max(len(drift), 1))
    ax = figure.add_subplot()
    names = [d.name for d in drift][::-1]
    values = [d.psi if d.psi is not None else 0.0 for d in drift][::-1]
    colours = [STATUS_COLOURS[d.status] for d in drift][::-1]
    ax.barh(names, values, color=colours)
    ax.axvline(cfg.psi_warn, color=STATUS_COLOURS[DriftStatus.WARN], linestyle="--", label="warn")
    ax.axvline(cfg.psi_act, color=STATUS_COLOURS[DriftStatus.ACT], linestyle="--", label="act")
    # Capped so that one huge PSI does not flatten the others; its bar is labelled with its value.
    top = max(cfg.psi_act * 1.3, min(max(values, default=0.0) * 1.15, cfg.psi_act * 4))
    for y, value in enumerate(values):
        x = min(value, top * 0.88) + top * 0.01
        ax.text(x, y, f"{value:.3f}", va="center", fontsize=8)
    ax.set(
        xlim=(0, top),
        xlabel="PSI vs reference (reference quantile bins)",
        title=f"Drift per variable ({report.data['first_asof']} … {report.data['last_asof']})",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=2, fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return figure


def plot_score(report: MonitoringReport) -> Figure:
    """Shares of the predicted probability per reference bin: reference against now."""
    figure = new_figure(8.0, 4.2)
    ax = figure.add_subplot()
    score = next((d for d in report.drift if d.name == PREDICTION), None)
    if score is None or not score.reference_shares:
        ax.text(0.5, 0.5, "no score reference", ha="center", va="center", transform=ax.transAxes)
        return figure
    edges = score.edges
    labels = [f"{lo:.3g}–{hi:.3g}" for lo, hi in itertools.pairwise(edges)]
    if score.has_missing_bin:
        labels.append("missing")
    x = np.arange(len(labels))
    ax.bar(x - 0.2, score.reference_shares, width=0.4, label=f"reference ({score.reference})")
    ax.bar(x + 0.2, score.current_shares, width=0.4, label="now", color="C3")
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    ax.set(
        ylabel="share of rows",
        xlabel="predicted probability (reference quantile bins; end bins open-ended)",
        title=f"Score distribution: PSI {fmt(score.psi)}, KL {fmt(score.kl)}",
    )
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return figure


def plot_rolling(report: MonitoringReport) -> Figure:
    """Model and rule F1 (and model PR-AUC) per window end, with the holdout F1 and act line."""
    figure = new_figure(8.0, 5.0)
    ax = figure.add_subplot()
    rolling = report.rolling
    if not rolling:
        ax.text(
            0.5,
            0.5,
            "no window with matured labels",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        return figure
    ends = pd.to_datetime([w.window_end for w in rolling])
    ax.plot(ends, [w.f1 for w in rolling], marker="o", markersize=3, label="model F1")
    ax.plot(ends, [w.rule_f1 for w in rolling], marker="s", markersize=3, label="rule F1")
    ax.plot(
        ends,
        [np.nan if w.pr_auc is None else w.pr_auc for w in rolling],
        linestyle=":",
        color="C0",
        label="model PR-AUC",
    )
    if report.holdout_f1 is not None:
        ax.axhline(report.holdout_f1, color="black", linewidth=1, label="holdout F1")
        ax.axhline(
            report.holdout_f1 - report.config.f1_margin,
            color=STATUS_COLOURS[DriftStatus.ACT],
            linestyle="--",
            linewidth=1,
            label=f"holdout F1 − {report.config.f1_margin:g} (act)",
        )
    unjudged = [i for i, w in enumerate(rolling) if not w.judged]
    if unjudged:
        ax.scatter(
            ends[unjudged],
            [rolling[i].f1 for i in unjudged],
            facecolors="none",
            edgecolors="grey",
            s=60,
            label="not judged (few positives)",
        )
    ax.set(
        ylim=(0, 1),
        ylabel="F1 / PR-AUC",
        xlabel=f"window end ({report.config.window_days}-day windows)",
        title="Rolling evaluation on matured labels",
    )
    ax.grid(alpha=0.3)
    # Below the axes: inside, it hides the curves.
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=3)
    ax.tick_params(axis="x", labelrotation=30)
    return figure
