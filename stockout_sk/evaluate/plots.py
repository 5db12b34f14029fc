"""The holdout plots as matplotlib Figures (no pyplot): precision-recall, reliability, confusion
matrix, feature importance. Building a figure writes nothing; :mod:`.report_files` saves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from stockout_sk.reports import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from stockout_sk.evaluate.baselines import BaselineScores
    from stockout_sk.evaluate.holdout import EvaluationReport

__all__ = ["plot_calibration", "plot_confusion", "plot_feature_importance", "plot_pr_curve"]

#: Bars in the feature-importance plot.
_TOP_FEATURES = 20


def _no_data(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, wrap=True)


def plot_pr_curve(
    y: np.ndarray,
    proba: np.ndarray,
    report: EvaluationReport,
    baselines: Mapping[str, BaselineScores],
) -> Figure:
    """Precision-recall curves of the model and the baselines, with each one's decision point."""
    figure = new_figure(7.0, 6.5)
    ax = figure.add_subplot()
    ax.set(
        xlabel="recall",
        ylabel="precision",
        xlim=(0.0, 1.0),
        ylim=(0.0, 1.02),
        title=f"Precision-recall on the holdout (n={len(y):,}, horizon {report.horizon} d)",
    )
    ax.grid(alpha=0.3)
    if not y.any():
        _no_data(ax, "No positive rows in the holdout:\nthe precision-recall curve is undefined.")
        return figure

    curves = [("model", proba, report.model, "C0")] + [
        (f"{name} baseline", b.score, report.baselines[name], color)
        for (name, b), color in zip(baselines.items(), ("C1", "C2"), strict=True)
    ]
    for label, score, metrics, color in curves:
        precision, recall, _ = precision_recall_curve(y, score)
        ax.step(
            recall,
            precision,
            where="post",
            color=color,
            label=f"{label} (AP {metrics['pr_auc']:.3f})",
        )
        # Operating point: where each one actually decides, with its F1.
        ax.plot(
            metrics["recall"],
            metrics["precision"],
            marker="o" if label == "model" else "s",
            markersize=9 if label == "model" else 7,
            color=color,
            markeredgecolor="black",
            linestyle="none",
            label=f"{label} decision (F1 {metrics['f1']:.3f}, t={metrics['threshold']:.3g})",
        )
    ax.axhline(report.positive_rate, color="grey", linestyle=":", label="no skill (positive rate)")
    # Below the axes: inside, it would hide the baselines' curves near the positive rate.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize="small")
    return figure


def plot_calibration(y: np.ndarray, proba: np.ndarray, report: EvaluationReport) -> Figure:
    """Reliability in ten probability bins over the distribution of scores per label."""
    figure = new_figure(6.5, 7.5)
    top, bottom = figure.subplots(2, 1, height_ratios=(3, 2), sharex=True)

    edges = np.linspace(0.0, 1.0, 11)
    # Right-closed last bin so a probability of exactly 1.0 is counted.
    bins = np.clip(np.digitize(proba, edges[1:-1]), 0, len(edges) - 2)
    counts = np.bincount(bins, minlength=len(edges) - 1)
    filled = counts > 0
    mean_proba = np.bincount(bins, weights=proba, minlength=len(counts))[filled] / counts[filled]
    observed = np.bincount(bins, weights=y, minlength=len(counts))[filled] / counts[filled]

    top.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    top.plot(mean_proba, observed, marker="o", color="C0", label="model")
    for x_pos, y_pos, count in zip(mean_proba, observed, counts[filled], strict=True):
        top.annotate(
            f"{count:,}", (x_pos, y_pos), textcoords="offset points", xytext=(5, 5), fontsize=7
        )
    top.set(
        ylabel="observed positive rate",
        xlim=(0.0, 1.0),
        ylim=(-0.02, 1.1),
        title=f"Reliability (10 bins, n per bin shown); Brier {report.model['brier']:.4f}",
    )
    top.grid(alpha=0.3)
    top.legend(loc="upper left", fontsize="small")

    for label, mask, color in (("label 0", y == 0, "C0"), ("label 1", y == 1, "C3")):
        if mask.any():
            bottom.hist(proba[mask], bins=edges, alpha=0.6, color=color, label=label)
    bottom.axvline(
        report.model["threshold"],
        color="black",
        linestyle="--",
        label=f"threshold {report.model['threshold']:.3g}",
    )
    bottom.set(xlabel="predicted probability", ylabel="rows", title="Distribution of scores")
    bottom.legend(loc="best", fontsize="small")
    return figure


def plot_confusion(y: np.ndarray, proba: np.ndarray, threshold: float) -> Figure:
    """Counts and per-class rates of the decisions at ``threshold``."""
    pred = (proba >= threshold).astype(int)
    counts = np.zeros((2, 2), dtype=np.int64)
    np.add.at(counts, (y, pred), 1)
    per_actual = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, per_actual, out=np.zeros((2, 2)), where=per_actual > 0)

    figure = new_figure(5.5, 5.0)
    ax = figure.add_subplot()
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=ax, label="share of the actual class")
    names = (("TN", "FP"), ("FN", "TP"))
    for i in range(2):
        for j in range(2):
            ax.text(
                j,
                i,
                f"{names[i][j]}\n{counts[i, j]:,}\n{rates[i, j]:.1%} of actual {i}",
                ha="center",
                va="center",
                color="white" if rates[i, j] > 0.5 else "black",
            )
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["0: fine", "1: below SS"],
        yticklabels=["0: fine", "1: below SS"],
        xlabel="predicted",
        ylabel="actual",
        title=f"Confusion matrix at threshold {threshold:.3g} (n={len(y):,})",
    )
    return figure


def plot_feature_importance(importance: pd.Series) -> Figure:
    """The largest gains as horizontal bars, the most important on top."""
    values = pd.to_numeric(pd.Series(importance), errors="coerce").dropna()
    top = values.sort_values(ascending=False, kind="stable").head(_TOP_FEATURES)
    figure = new_figure(7.5, 1.2 + 0.3 * max(len(top), 1))
    ax = figure.add_subplot()
    # Reversed so the most important feature is the top bar.
    ax.barh([str(name) for name in top.index[::-1]], top.to_numpy()[::-1], color="C0")
    ax.set(
        xlabel="gain",
        title=f"Feature importance (top {len(top)} of {len(values)} by gain)",
    )
    ax.grid(axis="x", alpha=0.3)
    return figure
