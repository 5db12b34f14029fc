"""One function per subcommand: ``args`` in, exit status out (0 done, 1 the work failed).

Each command imports what it runs inside its own body: the library pulls in pandas, LightGBM,
MLflow and Prefect, which take seconds to import, and ``stockout-sk --help`` (or a typo) should
answer at once. This is the only reason for those imports' place; there is no cycle to avoid.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from stockout_sk.cli.output import drift_table, emit_json, metrics_table, say
from stockout_sk.contract import DATE
from stockout_sk.schemas import STOCK_CURRENT
from stockout_sk.vocabulary import Source


def _model_config(args: argparse.Namespace):
    """The model settings with the command line's overrides."""
    from stockout_sk.config import ModelConfig

    overrides = {"horizon": getattr(args, "horizon", None)}
    if getattr(args, "n_estimators", None):
        overrides["n_estimators"] = args.n_estimators
    if getattr(args, "checkpoint_dir", None):
        overrides["checkpoint_dir"] = str(args.checkpoint_dir)
    if getattr(args, "asof_stride", None):
        overrides["asof_stride"] = args.asof_stride
    return ModelConfig().with_overrides(**overrides)


def _dask_address(args: argparse.Namespace) -> str | None:
    """``--dask``, else ``STOCKOUT_DASK_SCHEDULER``, else ``None`` (one process)."""
    from stockout_sk.config import load_settings

    return getattr(args, "dask", None) or load_settings().dask_scheduler


def _load(data: Path, out: Path | None, chunksize: int):
    """Ingest a data directory, saying what was read and how long it took."""
    from stockout_sk.ingest import load_chain

    started = time.perf_counter()
    chain = load_chain(data, out_dir=out, chunksize=chunksize)
    say(chain.report.format())
    say(f"ingested {data} in {time.perf_counter() - started:.1f}s")
    return chain


def cmd_synth(args: argparse.Namespace) -> int:
    """Write a simulated chain (the six CSVs) to a directory."""
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
    say(f"wrote a simulated chain to {args.out} in {time.perf_counter() - started:.1f}s")
    payload = summary.to_dict()
    if args.json:
        emit_json(payload)
    else:
        for key, value in payload.items():
            say(f"  {key}: {value}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check the six CSVs and print the per-file report; 1 when the data is not usable."""
    from stockout_sk.ingest import load_chain

    chain = load_chain(args.data, out_dir=args.out, chunksize=args.chunksize)
    report = chain.report
    print(report.format())
    if args.out:
        print(f"\nrejects and validation_report.json written under {args.out}")
    # Usable: every row is accounted for and there is a snapshot to anchor stock on. Quarantined
    # rows are expected in real exports (they are in rejects/); a fatal contract problem raised
    # DataContractError above and exits 1 from main().
    snapshot_file = STOCK_CURRENT.filename
    snapshot = next((f for f in report.files.values() if f.file == snapshot_file), None)
    usable = report.reconciled and snapshot is not None and snapshot.accepted > 0
    if not usable:
        print(f"\nnot usable: rows do not reconcile or {snapshot_file} has no accepted row")
    elif not report.ok:
        print("\nusable; some rows were quarantined (see the rejects files)")
    if args.json:
        emit_json({**report.to_dict(), "usable": usable})
    return 0 if usable else 1


def cmd_build_dataset(args: argparse.Namespace) -> int:
    """Write the labelled point-in-time table (.csv or .parquet)."""
    from stockout_sk.labels import build_dataset

    chain = _load(args.data, args.rejects, args.chunksize)
    dataset = build_dataset(chain, horizon=args.horizon)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        dataset.frame.to_parquet(out, index=False)
    elif out.suffix.lower() == ".csv":
        frame = dataset.frame.assign(**{DATE: dataset.frame[DATE].dt.strftime("%Y-%m-%d")})
        frame.to_csv(out, index=False)
    else:
        raise ValueError(f"--out must end in .csv or .parquet, got {str(out)!r}")
    report = dataset.report
    say(
        f"wrote {report['rows']:,} labelled rows ({report['keys']:,} branch×item keys, as-of "
        f"{report['first_asof']}..{report['last_asof']}, horizon {report['horizon']}) to {out}; "
        f"positive rate {report['positive_rate']:.3f}"
    )
    if report["negative_stock_cells"]:
        say(
            f"data quality: {report['negative_stock_cells']} key-days reconstructed below zero "
            f"({report['negative_stock_keys']} keys), clipped at 0"
        )
    if args.json:
        emit_json(report)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Fit on the training window and score the purged holdout (no registry)."""
    from stockout_sk.training import train_and_evaluate

    config = _model_config(args)
    out = args.out
    address = _dask_address(args)
    if address:
        from stockout_sk import distributed
        from stockout_sk.training import TrainingResult, evaluate_fitted

        say(f"ingest, labels and fit on the Dask cluster {address}")
        run = distributed.train_on_cluster(address, args.data, config)
        say(run.chain.report.format())
        report = evaluate_fitted(run.fitted, run.prepared, out_dir=out)
        result = TrainingResult(run.fitted, report, run.prepared, run.timings)
    else:
        chain = _load(args.data, None, args.chunksize)
        result = train_and_evaluate(chain, config, out_dir=out)
    payload = result.to_dict()
    print(metrics_table(payload))
    if out:
        print(f"\nplots and summary written to {out}")
    if args.json:
        emit_json(payload)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Run the Prefect flow: train, evaluate, register, promote."""
    from flows.run_pipeline import run

    stride = getattr(args, "asof_stride", None)
    summary = run(
        data_dir=str(args.data),
        horizon=args.horizon,
        min_f1=args.min_f1,
        out_dir=str(args.out),
        dask=getattr(args, "dask", None),
        model_overrides={"asof_stride": stride} if stride else None,
    )
    print(metrics_table({**summary, "model": summary["metrics"]}))
    say(
        f"model {summary['model_name']} v{summary['version']}: {summary['decision']} "
        f"({summary['reason']}); aliases {summary['aliases']}"
    )
    if args.json:
        emit_json(summary)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: ingest → validate → dataset → train → evaluate → register → promote."""
    return cmd_train(args)


def cmd_registry(args: argparse.Namespace) -> int:
    """Show the registry, promote a version, or roll back."""
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
        emit_json(payload)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The HTTP API (``uvicorn api.main:app``), configured from the environment."""
    import uvicorn

    from stockout_sk.config import load_serving_settings

    # Fail on a bad STOCKOUT_* variable here, with its name, not inside every worker.
    settings = load_serving_settings()
    say(
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
    say(
        f"{summary['rows']:,} branch×items scored as of {summary['as_of_last']} by {scored_by}: "
        f"{summary['at_risk']:,} at risk → {csv_path}, {html_path}"
    )
    if args.json:
        emit_json({**summary, "csv": str(csv_path), "html": str(html_path)})
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """Judge the production model on a later period; roll back or fall back on a breach."""
    from stockout_sk.monitoring import run_cme

    report = run_cme(args.data, dry_run=args.dry_run, out_dir=args.out, chunksize=args.chunksize)
    print(drift_table(report))
    say(
        f"{report.model_name} v{report.model_version} on {report.data['rows']:,} rows "
        f"({report.data['first_asof']}..{report.data['last_asof']}): decision "
        f"{report.decision.upper()}; action {report.action} — {report.action_detail}"
    )
    for reason in report.reasons:
        say(f"  - {reason}")
    say(f"report: {report.report_path}")
    if args.json:
        emit_json(report.summary())
    return 0
