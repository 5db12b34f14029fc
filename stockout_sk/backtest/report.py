"""What a backtest says: per fold and on average, a table, a JSON summary and one plot.

Averages over folds come with a 90 % Student-t interval of the mean (folds are few, so the
interval is wide on purpose), and the pipeline is compared with each other model fold by fold:
the mean difference, its interval and on how many folds the pipeline was at least as good.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from stockout_sk.backtest.fold import MODEL_LABELS, MODELS, FoldResult
from stockout_sk.jsonable import jsonable
from stockout_sk.reports import new_figure, save_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["BACKTEST_FILES", "BacktestReport", "mean_interval"]

#: The files :meth:`BacktestReport.write` writes.
BACKTEST_FILES: tuple[str, ...] = ("backtest.json", "backtest.md", "backtest.png")
#: The metrics summarised, in table order.
METRICS: tuple[str, ...] = ("pr_auc", "f1", "recall_at_top")
_LEVEL = 0.9


def mean_interval(values: list[float], level: float = _LEVEL) -> dict[str, float | int | None]:
    """Mean, its Student-t interval at ``level``, min, max and count of the finite ``values``.

    Examples
    --------
    >>> r = mean_interval([0.5, 0.7])
    >>> r["mean"], r["n"], round(r["low"], 3), round(r["high"], 3)
    (0.6, 2, -0.031, 1.231)
    """
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = len(finite)
    if not n:
        return {"mean": None, "low": None, "high": None, "min": None, "max": None, "n": 0}
    mean = float(finite.mean())
    if n > 1:
        half = float(stats.t.ppf(0.5 + level / 2, n - 1) * finite.std(ddof=1) / math.sqrt(n))
    else:
        half = math.nan
    return {
        "mean": mean,
        "low": mean - half if n > 1 else None,
        "high": mean + half if n > 1 else None,
        "min": float(finite.min()),
        "max": float(finite.max()),
        "n": n,
    }


@dataclass
class BacktestReport:
    """Every fold of a rolling-origin backtest and their summary.

    Attributes
    ----------
    folds : list of FoldResult
        Oldest origin first.
    horizon, window_days : int
        Label horizon and as-of days scored from each origin on.
    top_share : float
        The share of the ranked list ``recall_at_top`` looks at.
    refit : bool
        Whether each origin's deployed model was the refit on every matured row.
    data : str
        Where the chain came from (for the report).
    paths : list of Path
        Files written by :meth:`write`.
    """

    folds: list[FoldResult]
    horizon: int
    window_days: int
    top_share: float
    refit: bool
    data: str = ""
    paths: list[Path] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        """The models every fold scored, in report order."""
        return [m for m in MODELS if all(m in f.metrics for f in self.folds)]

    def summary(self) -> dict[str, Any]:
        """Per model and metric the mean over folds with its interval; the pipeline's margins.

        Returns
        -------
        dict
            ``{"mean": {model: {metric: mean_interval}}, "versus": {other: {metric: {...,
            "wins": k, "folds": n}}}}`` where ``versus`` holds the fold-by-fold difference
            ``pipeline − other`` and ``wins`` counts the folds where it is ≥ 0.
        """
        mean = {
            model: {
                metric: mean_interval([f.metrics[model][metric] for f in self.folds])
                for metric in METRICS
            }
            for model in self.models
        }
        versus: dict[str, dict[str, Any]] = {}
        for other in self.models:
            if other == "model":
                continue
            versus[other] = {}
            for metric in ("pr_auc", "f1"):
                deltas = [
                    f.metrics["model"][metric] - f.metrics[other][metric]
                    for f in self.folds
                    if f.metrics["model"][metric] is not None
                    and f.metrics[other][metric] is not None
                ]
                versus[other][metric] = {
                    **mean_interval(deltas),
                    "wins": int(sum(d >= 0 for d in deltas)),
                    "folds": len(deltas),
                }
        return {"mean": mean, "versus": versus}

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary (``backtest.json`` and ``--json``)."""
        return jsonable(
            {
                "data": self.data,
                "horizon": self.horizon,
                "window_days": self.window_days,
                "top_share": self.top_share,
                "refit": self.refit,
                "models": {m: MODEL_LABELS[m] for m in self.models},
                "folds": [f.to_dict() for f in self.folds],
                "summary": self.summary(),
            }
        )

    def table(self) -> str:
        """Per fold and on average: each model's PR-AUC, F1 and recall in the top share."""
        top = f"rec@{self.top_share:.0%}"
        header = f"{'fold':<6}{'origin':<12}{'export':>7}{'rows':>8}{'pos':>6}  "
        header += "".join(f"{MODEL_LABELS[m]:^27}" for m in self.models)
        sub = " " * 41 + "".join(f"{'PR-AUC':>9}{'F1':>8}{top:>10}" for _ in self.models)
        lines = [header, sub]
        for f in self.folds:
            row = (
                f"{f.fold:<6}{f.origin.date()!s:<12}{f.export_days:>6}d{f.rows:>8,}"
                f"{f.positives:>6,}  "
            )
            row += "".join(
                f"{_fmt(f.metrics[m]['pr_auc']):>9}{_fmt(f.metrics[m]['f1']):>8}"
                f"{_fmt(f.metrics[m]['recall_at_top']):>10}"
                for m in self.models
            )
            lines.append(row)
        summary = self.summary()
        row = f"{'mean':<41}  "
        row += "".join(
            "".join(
                f"{_fmt(summary['mean'][m][metric]['mean']):>{w}}"
                for metric, w in zip(METRICS, (9, 8, 10), strict=True)
            )
            for m in self.models
        )
        lines.append(row)
        lines.append("")
        for other, block in summary["versus"].items():
            parts = []
            for metric in ("pr_auc", "f1"):
                d = block[metric]
                interval = (
                    f" [{d['low']:+.3f}, {d['high']:+.3f}]" if d.get("low") is not None else ""
                )
                parts.append(
                    f"{metric.upper().replace('_', '-')} {_fmt(d['mean'], '+.3f')}{interval}, "
                    f"≥ on {d['wins']}/{d['folds']} folds"
                )
            lines.append(f"pipeline − {MODEL_LABELS[other]}: " + "; ".join(parts))
        lines.append(
            f"(means over {len(self.folds)} fold(s); intervals: 90% Student-t of the mean over "
            f"folds; each fold scores {self._scored_text()})"
        )
        return "\n".join(lines)

    def _scored_text(self) -> str:
        if self.window_days == 1:
            return f"the morning list of its origin (next {self.horizon} days)"
        return f"{self.window_days} as-of days from its origin"

    def figure(self) -> Figure:
        """One figure: PR-AUC and F1 of every model, fold by fold."""
        figure = new_figure(11.0, 4.5)
        axes = figure.subplots(1, 2)
        origins = [str(f.origin.date()) for f in self.folds]
        x = np.arange(len(self.folds))
        for ax, metric, title in zip(axes, ("pr_auc", "f1"), ("PR-AUC", "F1"), strict=True):
            for position, model in enumerate(self.models):
                values = [f.metrics[model][metric] for f in self.folds]
                ax.plot(
                    x,
                    [np.nan if v is None else v for v in values],
                    marker="o",
                    label=MODEL_LABELS[model],
                    color=f"C{position}",
                    linewidth=2.2 if model == "model" else 1.2,
                )
            ax.set_xticks(x, origins, rotation=30, ha="right")
            ax.set(
                ylim=(0.0, 1.02),
                xlabel="origin (export end)",
                title=f"{title}: {self._scored_text()}",
            )
            ax.grid(alpha=0.3)
        axes[0].legend(loc="lower left", fontsize="small")
        return figure

    def write(self, out_dir: Path) -> list[Path]:
        """Write ``backtest.json``, ``backtest.md`` (the table) and ``backtest.png``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / name for name in BACKTEST_FILES]
        paths[0].write_text(
            json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        paths[1].write_text(
            f"# Backtest of {self.data}\n\n```\n{self.table()}\n```\n", encoding="utf-8"
        )
        save_png(self.figure(), paths[2])
        self.paths = paths
        return paths


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)
