"""What the commands print: progress on stderr, one JSON line on stdout, plain-text tables.

Logging itself is :mod:`stockout_sk.logs`; here are the command line's choices: which commands
write a log file and where (:func:`log_file_for`).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stockout_sk import logs
from stockout_sk.logs import quiet_third_parties, run_log_path

if TYPE_CHECKING:
    from stockout_sk.monitoring import MonitoringReport
    from stockout_sk.registry import RegistryView

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


def history_table(view: RegistryView) -> str:
    """The alias history, newest first: when, what, from → to, who, why; then the rollback
    target."""
    name = view.model_name
    if not view.registered:
        return f"{name} is not registered in this store"
    if not view.history:
        return (
            f"{name}: no recorded moves of 'production' (moves made before the alias history "
            "was kept are not listed; `stockout-sk registry show` has each version's decision)"
        )
    lines = [f"{'when (UTC)':25s} {'action':17s} {'production':12s} by / why"]
    for move in reversed(view.history):
        held = f"{move.from_version or '-'} → {move.to_version or '-'}"
        lines.append(f"{move.at:25s} {move.action:17s} {held:12s} {move.by}")
        lines.append(f"{'':56s} {move.reason}")
    plan = view.rollback_plan()
    target = f"version {plan.target}" if plan.target else "none (promote a version by hand)"
    lines.append(f"a rollback now returns to: {target}")
    lines += [f"  passed over {skipped}" for skipped in plan.skipped]
    return "\n".join(lines)


def serve_banner(
    *,
    model: str,
    host: str,
    port: int,
    workers: int,
    store: str,
    store_missing: bool,
    api_key_set: bool,
) -> list[str]:
    """What ``serve`` says before it starts: where, which store, whether a key guards it.

    Examples
    --------
    >>> lines = serve_banner(model="m@production", host="0.0.0.0", port=8000, workers=1,
    ...                      store="sqlite:////srv/mlflow.db", store_missing=False,
    ...                      api_key_set=False)
    >>> lines[-1].startswith("WARNING: listening on 0.0.0.0")
    True
    """
    lines = [
        f"serving {model} on http://{host}:{port} ({workers} worker(s)); docs at /docs",
        f"store: {store}",
    ]
    if store_missing:
        lines.append(
            "  no MLflow store there yet (nothing created by serving): the rule baseline "
            "answers until a model is trained and promoted there"
        )
    if api_key_set:
        lines.append("API key: active (X-API-Key required on every endpoint but /health)")
    else:
        lines.append(
            "API key: none (STOCKOUT_API_KEY unset): every endpoint is open to whoever "
            "reaches the port"
        )
        if not is_loopback(host):
            lines.append(
                f"WARNING: listening on {host}, beyond loopback, without an API key: anyone on "
                "the network can call /predict and /model/reload. Set STOCKOUT_API_KEY, or "
                "serve on --host 127.0.0.1 behind a proxy that authenticates"
            )
    return lines


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``127.0.0.1``, ``::1``, ``localhost``).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface
