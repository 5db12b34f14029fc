"""What the commands print: progress on stderr, one JSON line on stdout, plain-text tables.

Logging itself is :mod:`stockout_sk.logs`; here are the command line's choices: which commands
write a log file and where (:func:`log_file_for`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stockout_sk import logs
from stockout_sk.logs import quiet_third_parties, run_log_path

if TYPE_CHECKING:
    from stockout_sk.monitoring import MonitoringReport

#: The metrics of the model-versus-baselines table, in column order.
_TABLE_METRICS = ("f1", "precision", "recall", "pr_auc", "roc_auc", "brier")
#: Commands whose run writes a log file, and the folder it goes under (``<folder>/logs/``):
#: the command's output folder, else the artifacts folder.
_LOGGED = {
    "train": lambda a: a.out,
    "run": lambda a: a.out,
    "evaluate": lambda a: a.out,
    "score": lambda a: Path(a.out).parent,
    "build-dataset": lambda a: Path(a.out).parent,
    "monitor": lambda a: a.out,
    "validate": lambda a: a.out,
}
#: Commands that validate only when told where: no log file without ``--out``.
_ONLY_WITH_OUT = ("validate",)
#: The folder under the artifacts folder for a command without ``--out`` (default: its name).
_DEFAULT_FOLDER = {"monitor": "monitoring"}
#: Commands that use MLflow (its loggers are routed through ours, see logs.adopt_library_loggers).
USES_MLFLOW = ("train", "run", "score", "monitor", "registry", "serve")


def log_file_for(args: argparse.Namespace, artifacts_dir: str | Path) -> Path | None:
    """The run's log file (``<folder>/logs/<UTC time>-<command>.log``), or ``None``.

    Commands that only read or serve (``registry``, ``serve``, ``synth``) write none.
    """
    command = getattr(args, "command", None)
    if command not in _LOGGED:
        return None
    folder = _LOGGED[command](args)
    if folder is None:
        if command in _ONLY_WITH_OUT:
            return None
        folder = Path(artifacts_dir) / _DEFAULT_FOLDER.get(command, command)
    return run_log_path(folder, command)


def setup_logging(verbosity: int, log_file: Path | None = None) -> Path | None:
    """Console and log file for a command (see :mod:`stockout_sk.logs`)."""
    quiet_third_parties()
    return logs.setup_logging(verbosity, log_file)


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
