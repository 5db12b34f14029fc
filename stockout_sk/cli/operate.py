"""The commands that operate production: the registry, the API, the morning list, monitoring.

Like :mod:`stockout_sk.cli.commands`, each imports what it runs inside its own body, so that
``stockout-sk --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json

from stockout_sk.cli.commands import _csv_format
from stockout_sk.cli.output import drift_table, emit_json, history_table, say, serve_banner
from stockout_sk.vocabulary import Source


def cmd_registry(args: argparse.Namespace) -> int:
    """Show the registry or its alias history, promote a version, or roll back.

    None of these creates a store: where there is none, the command says so and fails.
    """
    from stockout_sk import registry
    from stockout_sk.config import load_settings

    settings = load_settings()
    say(f"store: {registry.redact_uri(registry.resolve_tracking_uri(settings))}")
    if args.action in ("show", "history"):
        view = registry.show(settings)
        if args.action == "history":
            payload = {
                "model_name": view.model_name,
                "tracking_uri": view.tracking_uri,
                "history": [move.to_dict() for move in view.history],
                "rollback_target": view.rollback_plan().target,
            }
            print(history_table(view))
        else:
            payload = view.to_dict()
            print(json.dumps(payload, indent=2, default=str))
    elif args.action == "promote":
        if args.version is None:
            raise SystemExit("stockout-sk registry promote: give the VERSION to promote")
        payload = registry.promote(
            str(args.version), settings, reason=args.reason, force=args.force
        ).to_dict()
        print(json.dumps(payload, indent=2, default=str))
    else:
        payload = registry.rollback(settings, reason=args.reason).to_dict()
        for skipped in payload["skipped"]:
            say(f"passed over {skipped}")
        print(json.dumps(payload, indent=2, default=str))
    if args.json:
        emit_json(payload)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The HTTP API (``uvicorn api.main:app``), configured from the environment."""
    import uvicorn

    from stockout_sk import registry
    from stockout_sk.config import load_serving_settings

    # Fail on a bad STOCKOUT_* variable here, with its name, not inside every worker.
    settings = load_serving_settings()
    uri = registry.resolve_tracking_uri(settings.registry)
    store = registry.local_store_path(uri)
    for line in serve_banner(
        model=f"{settings.registry.model_name}@{settings.alias}",
        host=args.host,
        port=args.port,
        workers=args.workers,
        store=registry.redact_uri(uri),
        store_missing=store is not None and not store.exists(),
        api_key_set=bool(settings.api_key),
    ):
        say(line)
    uvicorn.run("api.main:app", host=args.host, port=args.port, workers=args.workers)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """The morning list: every branch×item of stock_current scored with the production model."""
    from stockout_sk.config import load_settings
    from stockout_sk.registry import redact_uri, resolve_tracking_uri
    from stockout_sk.scoring import score_chain

    say(f"store: {redact_uri(resolve_tracking_uri(load_settings()))}")
    morning, (csv_path, html_path) = score_chain(
        args.data,
        args.out,
        chunksize=args.chunksize,
        csv_format=_csv_format(args),
        force=args.force,
        top_reasons=args.reasons,
    )
    summary = morning.summary()
    scored_by = (
        f"{summary['model_name']} v{summary['model_version']}"
        if summary["source"] == Source.REGISTRY
        else f"the rule baseline ({summary['fallback_reason']})"
    )
    not_scored = (
        f"; {summary['not_scored']:,} not scored ("
        + ", ".join(f"{n:,} {kind}" for kind, n in summary["not_scored_by_kind"].items())
        + ")"
        if summary["not_scored"]
        else ""
    )
    say(
        f"{summary['rows']:,} branch×items scored as of {summary['as_of_last']} by {scored_by}: "
        f"{summary['at_risk']:,} at risk{not_scored} → {csv_path}, {html_path}"
    )
    if args.json:
        emit_json({**summary, "csv": str(csv_path), "html": str(html_path)})
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """Judge the production model on a later period; roll back or fall back on a breach."""
    from stockout_sk.config import load_settings
    from stockout_sk.monitoring import run_cme
    from stockout_sk.registry import redact_uri, resolve_tracking_uri

    if args.log_run and not args.dry_run:
        raise ValueError("--log-run goes with --dry-run (a monitoring run that acts is logged)")
    say(f"store: {redact_uri(resolve_tracking_uri(load_settings()))}")
    report = run_cme(
        args.data,
        dry_run=args.dry_run,
        out_dir=args.out,
        chunksize=args.chunksize,
        csv_format=_csv_format(args),
        log_to_mlflow=True if args.log_run else None,
    )
    print(drift_table(report))
    overlap = report.summary()["overlap"]
    seen = (
        f" ({overlap['rows']:,} of {overlap['of']:,} rows overlap the model's training data, "
        f"up to {overlap['training_end']})"
        if overlap["rows"]
        else ""
    )
    say(
        f"{report.model_name} v{report.model_version} on {report.data['rows']:,} rows "
        f"({report.data['first_asof']}..{report.data['last_asof']}): decision "
        f"{report.decision.upper()}{seen}; action {report.action} — {report.action_detail}"
    )
    for reason in report.reasons:
        say(f"  - {reason}")
    for note in report.notes:
        say(f"  note: {note}")
    say(f"report: {report.report_path}")
    say(
        f"MLflow run: {report.mlflow_run_id}"
        if report.mlflow_run_id
        else "MLflow run: none (dry run; --log-run logs one)"
    )
    if args.json:
        emit_json(report.summary())
    return 0
