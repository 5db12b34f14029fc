"""``stockout-sk``: the command line of the system (also ``python -m stockout_sk``).

Every command prints progress to stderr; with ``--json`` the LAST line on stdout is one JSON
object, so scripts can read ``stockout-sk … --json | tail -n 1``. Exit status: 0 success, 1 the
work failed (bad data, a model below the gate is not an error), 2 usage error.

The CLI is the composition root: it may reach into ``flows`` (Prefect) and ``api`` (FastAPI) —
lazily, inside the command that needs them — while the library never imports either.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from stockout_sk import __version__
from stockout_sk.vocabulary import Source

logger = logging.getLogger("stockout_sk.cli")


# ---------------------------------------------------------------------------- helpers
def _emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def _setup_logging(verbosity: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    # Third-party chatter stays at WARNING unless asked for with -vv.
    for noisy in ("mlflow", "prefect", "alembic", "httpx", "urllib3", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _model_config(args: argparse.Namespace):
    from stockout_sk.config import ModelConfig

    overrides = {"horizon": getattr(args, "horizon", None)}
    if getattr(args, "n_estimators", None):
        overrides["n_estimators"] = args.n_estimators
    if getattr(args, "checkpoint_dir", None):
        overrides["checkpoint_dir"] = str(args.checkpoint_dir)
    return ModelConfig().with_overrides(**overrides)


def _load(data: Path, out: Path | None, chunksize: int):
    from stockout_sk.ingest import load_chain

    started = time.perf_counter()
    chain = load_chain(data, out_dir=out, chunksize=chunksize)
    _say(chain.report.format())
    _say(f"ingested {data} in {time.perf_counter() - started:.1f}s")
    return chain


# --------------------------------------------------------------------------- commands
def cmd_synth(args: argparse.Namespace) -> int:
    from stockout_sk.synth import generate_chain

    started = time.perf_counter()
    summary = generate_chain(
        args.out,
        branches=args.branches,
        items=args.items,
        days=args.days,
        seed=args.seed,
        start=args.start,
        messy=args.messy,
    )
    _say(f"wrote a simulated chain to {args.out} in {time.perf_counter() - started:.1f}s")
    payload = summary.to_dict() if hasattr(summary, "to_dict") else dict(vars(summary))
    if args.json:
        _emit_json(payload)
    else:
        for key, value in payload.items():
            _say(f"  {key}: {value}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from stockout_sk.ingest import load_chain

    chain = load_chain(args.data, out_dir=args.out, chunksize=args.chunksize)
    report = chain.report
    print(report.format())
    if args.out:
        print(f"\nrejects and validation_report.json written under {args.out}")
    # Usable: every row is accounted for and there is a snapshot to anchor stock on. Quarantined
    # rows are expected in real exports (they are in rejects/); a fatal contract problem raised
    # DataContractError above and exits 1 from main().
    snapshot = next((f for f in report.files.values() if f.file == "stock_current.csv"), None)
    usable = report.reconciled and snapshot is not None and snapshot.accepted > 0
    if not usable:
        print("\nnot usable: rows do not reconcile or stock_current.csv has no accepted row")
    elif not report.ok:
        print("\nusable; some rows were quarantined (see the rejects files)")
    if args.json:
        _emit_json({**report.to_dict(), "usable": usable})
    return 0 if usable else 1


def cmd_build_dataset(args: argparse.Namespace) -> int:
    from stockout_sk.labels import build_dataset

    chain = _load(args.data, args.rejects, args.chunksize)
    dataset = build_dataset(chain, horizon=args.horizon)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        dataset.frame.to_parquet(out, index=False)
    elif out.suffix.lower() == ".csv":
        frame = dataset.frame.assign(Date=dataset.frame["Date"].dt.strftime("%Y-%m-%d"))
        frame.to_csv(out, index=False)
    else:
        raise ValueError(f"--out must end in .csv or .parquet, got {str(out)!r}")
    report = dataset.report
    _say(
        f"wrote {report['rows']:,} labelled rows ({report['keys']:,} branch×item keys, as-of "
        f"{report['first_asof']}..{report['last_asof']}, horizon {report['horizon']}) to {out}; "
        f"positive rate {report['positive_rate']:.3f}"
    )
    if report["negative_stock_cells"]:
        _say(
            f"data quality: {report['negative_stock_cells']} key-days reconstructed below zero "
            f"({report['negative_stock_keys']} keys), clipped at 0"
        )
    if args.json:
        _emit_json(report)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from stockout_sk.training import train_and_evaluate

    chain = _load(args.data, None, args.chunksize)
    config = _model_config(args)
    out = args.out
    result = train_and_evaluate(chain, config, out_dir=out)
    payload = result.to_dict()
    print(_metrics_table(payload))
    if out:
        print(f"\nplots and summary written to {out}")
    if args.json:
        _emit_json(payload)
    return 0


def _metrics_table(payload: dict[str, Any]) -> str:
    keys = ("f1", "precision", "recall", "pr_auc", "roc_auc", "brier")
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


def cmd_train(args: argparse.Namespace) -> int:
    from flows.run_pipeline import run

    summary = run(
        data_dir=str(args.data),
        horizon=args.horizon,
        min_f1=args.min_f1,
        out_dir=str(args.out),
    )
    print(_metrics_table({**summary, "model": summary["metrics"]}))
    _say(
        f"model {summary['model_name']} v{summary['version']}: {summary['decision']} "
        f"({summary['reason']}); aliases {summary['aliases']}"
    )
    if args.json:
        _emit_json(summary)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: ingest → validate → dataset → train → evaluate → register → promote."""
    return cmd_train(args)


def cmd_registry(args: argparse.Namespace) -> int:
    from stockout_sk import registry
    from stockout_sk.config import load_settings

    settings = load_settings()
    registry.configure_tracking(settings)
    if args.action == "show":
        result = registry.show(settings)
    elif args.action == "promote":
        if args.version is None:
            raise SystemExit("stockout-sk registry promote: give the VERSION to promote")
        result = registry.promote(str(args.version), settings, reason=args.reason)
    else:
        result = registry.rollback(settings, reason=args.reason)
    payload = result.to_dict()
    print(json.dumps(payload, indent=2, default=str))
    if args.json:
        _emit_json(payload)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The HTTP API (``uvicorn api.main:app``), configured from the environment."""
    import uvicorn

    from stockout_sk.config import load_serving_settings

    # Fail on a bad STOCKOUT_* variable here, with its name, not inside every worker.
    settings = load_serving_settings()
    _say(
        f"serving {settings.registry.model_name}@{settings.alias} on http://{args.host}:"
        f"{args.port} ({args.workers} worker(s)); docs at /docs"
    )
    uvicorn.run("api.main:app", host=args.host, port=args.port, workers=args.workers)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """The morning list: every branch×item of stock_current scored with the production model."""
    from stockout_sk.scoring import score_chain

    morning, (csv_path, html_path) = score_chain(args.data, args.out, chunksize=args.chunksize)
    summary = morning.summary()
    scored_by = (
        f"{summary['model_name']} v{summary['model_version']}"
        if summary["source"] == Source.REGISTRY
        else f"the rule baseline ({summary['fallback_reason']})"
    )
    _say(
        f"{summary['rows']:,} branch×items scored as of {summary['as_of_last']} by {scored_by}: "
        f"{summary['at_risk']:,} at risk → {csv_path}, {html_path}"
    )
    if args.json:
        _emit_json({**summary, "csv": str(csv_path), "html": str(html_path)})
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """Judge the production model on a later period; roll back or fall back on a breach."""
    from stockout_sk.monitoring import run_cme

    report = run_cme(args.data, dry_run=args.dry_run, out_dir=args.out, chunksize=args.chunksize)
    print(_drift_table(report))
    _say(
        f"{report.model_name} v{report.model_version} on {report.data['rows']:,} rows "
        f"({report.data['first_asof']}..{report.data['last_asof']}): decision "
        f"{report.decision.upper()}; action {report.action} — {report.action_detail}"
    )
    for reason in report.reasons:
        _say(f"  - {reason}")
    _say(f"report: {report.report_path}")
    if args.json:
        _emit_json(report.summary())
    return 0


def _drift_table(report: Any) -> str:
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


# ------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="stockout-sk",
        description=(
            "Predict which items at which branches will fall below their safety stock in the "
            "next N days: ingest six CSV exports, train and register a model, serve it, watch it."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=1, help="more log output (-vv for debug)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings and errors on stderr"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str):
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    def data_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data", type=Path, required=True, help="directory holding the six CSV exports"
        )
        p.add_argument(
            "--chunksize", type=int, default=100_000, help="rows per CSV chunk (default 100000)"
        )

    def json_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="end with one JSON line on stdout")

    def horizon_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--horizon", type=int, default=7, help="N, days ahead (default 7)")

    p = add("synth", cmd_synth, "write a simulated chain (the six CSVs) to a directory")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--branches", type=int, default=10)
    p.add_argument("--items", type=int, default=200)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--start", default="2024-01-01", help="first simulated day (ISO)")
    p.add_argument(
        "--messy", action="store_true", help="inject real-export quirks and a few bad rows"
    )
    json_arg(p)

    p = add("validate", cmd_validate, "check the six CSVs and print the per-file report")
    data_arg(p)
    p.add_argument("--out", type=Path, help="write rejects/<file>.csv and the report here")
    json_arg(p)

    p = add("build-dataset", cmd_build_dataset, "write the labelled point-in-time table")
    data_arg(p)
    p.add_argument("--out", type=Path, required=True, help="output file (.csv or .parquet)")
    p.add_argument("--rejects", type=Path, help="also write rejects/ and the report here")
    horizon_arg(p)
    json_arg(p)

    p = add(
        "evaluate",
        cmd_evaluate,
        "fit on the training window and score the purged holdout (no registry)",
    )
    data_arg(p)
    horizon_arg(p)
    p.add_argument("--out", type=Path, help="write plots and summary.json/md here")
    p.add_argument("--n-estimators", type=int, help="LightGBM trees (default from config)")
    p.add_argument("--checkpoint-dir", type=Path, help="LightGBM checkpoints (default artifacts/)")
    json_arg(p)

    for name, func, text in (
        ("train", cmd_train, "run the Prefect flow: train, evaluate, register, promote"),
        ("run", cmd_run, "the main job (make run): the whole flow on a data directory"),
    ):
        p = add(name, func, text)
        data_arg(p)
        horizon_arg(p)
        p.add_argument(
            "--min-f1", type=float, default=None, help="promotion gate on holdout F1 (0.7)"
        )
        p.add_argument(
            "--out", type=Path, default=Path("artifacts/run"), help="local reports folder"
        )
        json_arg(p)

    p = add("registry", cmd_registry, "show the registry, promote a version, or roll back")
    p.add_argument("action", choices=("show", "promote", "rollback"))
    p.add_argument("version", nargs="?", help="version to promote")
    p.add_argument("--reason", default="manual", help="recorded on the version")
    json_arg(p)

    p = add("serve", cmd_serve, "serve the HTTP API (the production model, hot-reloaded)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")

    p = add("score", cmd_score, "write the morning list: every branch×item scored (CSV + HTML)")
    data_arg(p)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the .csv (or .html) to write; the other is written beside it",
    )
    json_arg(p)

    p = add(
        "monitor",
        cmd_monitor,
        "judge the production model on a later period (rolling F1, PSI/KL drift); on a breach "
        "roll back, or fall back to the rule baseline",
    )
    data_arg(p)
    p.add_argument(
        "--dry-run", action="store_true", help="decide and report; change nothing in the registry"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder of the HTML report (default artifacts/monitoring/<UTC time>-v<version>)",
    )
    json_arg(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stockout-sk`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(0 if args.quiet else args.verbose)
    from stockout_sk.ingest import DataContractError

    try:
        return int(args.func(args) or 0)
    except DataContractError as exc:
        _say(f"error: {exc}")
        return 1
    except (ValueError, TypeError, FileNotFoundError, LookupError) as exc:
        logger.debug("command failed", exc_info=True)
        _say(f"error: {exc}")
        return 1
