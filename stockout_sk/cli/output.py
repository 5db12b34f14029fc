"""What the commands print: progress on stderr, one JSON line on stdout, plain-text tables."""

from __future__ import annotations

import json
import logging
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stockout_sk.monitoring import MonitoringReport

#: Third-party loggers kept at WARNING unless ``-vv`` asks for debug output.
_NOISY_LOGGERS = ("mlflow", "prefect", "alembic", "httpx", "urllib3", "matplotlib")
#: The metrics of the model-versus-baselines table, in column order.
_TABLE_METRICS = ("f1", "precision", "recall", "pr_auc", "roc_auc", "brier")


def setup_logging(verbosity: int) -> None:
    """Log to stderr: 0 warnings, 1 info, 2 or more debug (third-party libraries too)."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)


def say(message: str) -> None:
    """Progress for a person, on stderr (stdout stays for results)."""
    print(message, file=sys.stderr, flush=True)


def emit_json(payload: dict[str, Any]) -> None:
    """The ``--json`` result: one line on stdout, strict JSON (no NaN)."""
    sys.stdout.write(json.dumps(payload, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def metrics_table(payload: dict[str, Any]) -> str:
    """The model's and the baselines' holdout metrics, one row each, and the threshold."""
    keys = _TABLE_METRICS
    rows = {"model": payload["model"], **payload["baselines"]}
    lines = [f"{'':10s}" + "".join(f"{k:>10s}" for k in keys)]
    for name, metrics in rows.items():
        cells = "".join(
            f"{metrics[k]:>10.3f}" if metrics.get(k) is not None else f"{'n/a':>10s}" for k in keys
        )
        lines.append(f"{name:10s}{cells}")
    tail = f"threshold {payload['model']['threshold']:.4f}"
    if "rows" in payload:
        rows_ = payload["rows"]
        tail += f"; rows train {rows_['train']:,} / holdout {rows_['holdout']:,}"
    if "positive_rate" in payload:
        tail += f"; holdout positive rate {payload['positive_rate']:.3f}"
    lines.append(tail)
    return "\n".join(lines)


def drift_table(report: MonitoringReport) -> str:
    """PSI and KL of each monitored variable, then the latest rolling window's scores."""

    def fmt(value: float | None) -> str:
        return f"{value:>10.3f}" if value is not None else f"{'n/a':>10s}"

    lines = [f"{'variable':26s}{'PSI':>10s}{'KL':>10s}  status"]
    for d in report.drift:
        lines.append(f"{d.name:26s}{fmt(d.psi)}{fmt(d.kl)}  {d.status}")
    if report.rolling:
        latest = report.rolling[-1]
        lines.append(
            f"latest window {latest.window_start}..{latest.window_end}: F1 {latest.f1:.3f} "
            f"(rule {latest.rule_f1:.3f}, holdout {fmt(report.holdout_f1).strip()}), PR-AUC "
            f"{fmt(latest.pr_auc).strip()}"
        )
    return "\n".join(lines)
