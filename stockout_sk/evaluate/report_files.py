"""The files a person reads after a training run: four plots, ``summary.md``, ``summary.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stockout_sk.evaluate.metrics import METRIC_KEYS
from stockout_sk.evaluate.plots import (
    plot_calibration,
    plot_confusion,
    plot_feature_importance,
    plot_pr_curve,
)
from stockout_sk.reports import save_png

if TYPE_CHECKING:
    from stockout_sk.evaluate.baselines import BaselineScores
    from stockout_sk.evaluate.holdout import EvaluationReport

__all__ = ["write_report"]


def write_report(
    report: EvaluationReport,
    y: np.ndarray,
    proba: np.ndarray,
    baselines: Mapping[str, BaselineScores],
    feature_importance: pd.Series | None,
    out_dir: Path,
) -> list[Path]:
    """Write the plots and the summaries into ``out_dir``; return the paths written, in order.

    A skipped feature-importance plot is explained in ``report.notes`` (before ``summary.md`` is
    written, so the summary says it too).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        save_png(plot_pr_curve(y, proba, report, baselines), out_dir / "pr_curve.png"),
        save_png(plot_calibration(y, proba, report), out_dir / "calibration.png"),
        save_png(
            plot_confusion(y, proba, report.model["threshold"]), out_dir / "confusion_matrix.png"
        ),
    ]
    if feature_importance is None:
        report.notes.append("No feature importance was given: feature_importance.png not written.")
    elif len(feature_importance) == 0:
        report.notes.append("Feature importance is empty: feature_importance.png not written.")
    else:
        figure = plot_feature_importance(feature_importance)
        written.append(save_png(figure, out_dir / "feature_importance.png"))

    summary_md = out_dir / "summary.md"
    summary_md.write_text(_summary_markdown(report, baselines, written), encoding="utf-8")
    summary_json = out_dir / "summary.json"
    summary_json.write_text(
        json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    return [*written, summary_md, summary_json]


def _summary_markdown(
    report: EvaluationReport, baselines: Mapping[str, BaselineScores], plots: list[Path]
) -> str:
    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    header = "| | F1 | precision | recall | PR-AUC | ROC-AUC | Brier | threshold |"
    lines = [
        f"# Holdout evaluation (horizon {report.horizon} days)",
        "",
        header,
        "|---|" + "---:|" * (header.count("|") - 2),
    ]
    named = [("model", report.model)] + [
        (f"{name} baseline", metrics) for name, metrics in report.baselines.items()
    ]
    for label, metrics in named:
        cells = " | ".join(fmt(metrics[key]) for key in METRIC_KEYS)
        lines.append(f"| {label} | {cells} |")

    train = report.rows.get("train")
    lines += [
        "",
        f"* Rows: train {'n/a' if train is None else f'{train:,}'}, "
        f"holdout {report.rows['holdout']:,} ({report.model['positives']:,} positive, "
        f"rate {report.positive_rate:.3f}).",
        f"* Model threshold {report.model['threshold']:.4g}: {report.threshold_source}; "
        "a row is flagged when its probability is at or above it.",
    ]
    for name, baseline in baselines.items():
        lines.append(
            f"* {name} baseline: `{baseline.rule}` (score = margin over SS, cut at "
            f"{baseline.threshold:g}); Brier on its 0/1 decision."
        )
    lines.append("* PR-AUC is average precision; n/a means undefined on these rows.")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"* {note}" for note in report.notes]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"
