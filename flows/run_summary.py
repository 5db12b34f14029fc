"""The main job's summary as a person reads it in the Prefect UI (a Markdown artifact)."""

from __future__ import annotations

from typing import Any

from flows.refit import deployed_text
from stockout_sk.evaluate import METRIC_KEYS
from stockout_sk.registry import TrackingInfo
from stockout_sk.vocabulary import Alias

__all__ = ["summary_markdown"]


def summary_markdown(
    summary: dict[str, Any], tracking: TrackingInfo, evaluation: dict[str, Any]
) -> str:
    """The run summary a person reads in the Prefect UI."""

    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    header = "| | " + " | ".join(METRIC_KEYS) + " |"
    lines = [
        f"# {summary['model_name']} version {summary['version']}: **{summary['decision']}**",
        "",
        f"*Reason:* {summary['reason']}",
        "",
        "## Holdout metrics",
        "",
        header,
        "|---|" + "---:|" * len(METRIC_KEYS),
        "| model | " + " | ".join(fmt(summary["metrics"][k]) for k in METRIC_KEYS) + " |",
    ]
    for name, block in summary["baselines"].items():
        lines.append(
            f"| {name} baseline | " + " | ".join(fmt(block[k]) for k in METRIC_KEYS) + " |"
        )
    rows = evaluation.get("rows", {})
    aliases = summary["aliases"]
    lines += [
        "",
        f"* Rows: train {rows.get('train')}, holdout {rows.get('holdout')} "
        f"(positive rate {fmt(evaluation.get('positive_rate'))}).",
        f"* Time {summary['windows']['reason']}.",
        f"* Threshold: {summary['threshold_folds']['method']} over "
        f"{len(summary['threshold_folds']['folds'])} purged rolling-origin fold(s); the folds' "
        f"own cuts {[f['threshold'] for f in summary['threshold_folds']['folds']]}.",
        f"* Gate: a threshold that ranks, F1 ≥ {summary['min_f1']:.3f}, beats both baselines "
        "and not worse than production re-scored on the same holdout.",
        f"* Deployed: {deployed_text(summary.get('deployed'))}",
        f"* Aliases now: {Alias.PRODUCTION} → {aliases.get(Alias.PRODUCTION)}, "
        f"{Alias.STAGING} → {aliases.get(Alias.STAGING)}.",
        f"* MLflow: {summary['run_link']} (experiment `{tracking.experiment}`).",
        "",
        "## Step times (s)",
        "",
        "| step | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {step} | {seconds:.2f} |" for step, seconds in summary["timings"].items()]
    return "\n".join(lines) + "\n"
