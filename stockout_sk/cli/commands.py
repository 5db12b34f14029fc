"""One function per subcommand: ``args`` in, exit status out (0 done, 1 the work failed).

Each command imports what it runs inside its own body: the library pulls in pandas, LightGBM,
MLflow and Prefect, which take seconds to import, and ``stockout-sk --help`` (or a typo) should
answer at once. This is the only reason for those imports' place; there is no cycle to avoid.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from stockout_sk.cli.output import (
    emit_json,
    metrics_table,
    say,
)
from stockout_sk.contract import DATE

#: Longest history ``_min_history_days`` searches for (windows set beyond it are not checked).
_MAX_ASOF_DAYS = 3660


def _model_config(args: argparse.Namespace):
    """The model settings: the environment's windows, then the command line's overrides."""
    from stockout_sk.config import load_model_config

    overrides = {
        "horizon": getattr(args, "horizon", None),
        "holdout_days": getattr(args, "holdout_days", None),
        "validation_days": getattr(args, "validation_days", None),
        "threshold_method": getattr(args, "threshold_method", None),
    }
    if getattr(args, "n_estimators", None):
        overrides["n_estimators"] = args.n_estimators
    if getattr(args, "checkpoint_dir", None):
        overrides["checkpoint_dir"] = str(args.checkpoint_dir)
    if getattr(args, "n_jobs", None) is not None:
        overrides["n_jobs"] = args.n_jobs
    if getattr(args, "asof_stride", None):
        overrides["asof_stride"] = args.asof_stride
    return load_model_config(**overrides)


def _dask_address(args: argparse.Namespace) -> str | None:
    """``--dask``, else ``STOCKOUT_DASK_SCHEDULER``, else ``None`` (one process)."""
    from stockout_sk.config import load_settings

    return getattr(args, "dask", None) or load_settings().dask_scheduler


def _csv_format(args: argparse.Namespace):
    """The exports' encoding and delimiter: ``--encoding``/``--delimiter`` over the environment."""
    from stockout_sk.config import load_csv_format

    return load_csv_format(encoding=args.encoding, delimiter=args.delimiter)


def preflight(args: argparse.Namespace) -> None:
    """Read every setting the command will use, so that a bad one stops it before any work.

    Runs before the log file is opened: a refused setting leaves nothing behind (no store, no
    artifacts folder), only the one-line message naming the variable or option.
    """
    from stockout_sk.config import (
        INGEST_WORKERS_ENV,
        load_ingest_workers,
        load_serving_settings,
        load_settings,
    )

    load_settings()
    if args.command in ("serve", "score"):
        load_serving_settings()
    if hasattr(args, "encoding"):
        _csv_format(args)
    if getattr(args, "ingest_workers", None) is not None:
        # The flows' ingestion reads the environment: the option reaches every step this way.
        os.environ[INGEST_WORKERS_ENV] = str(args.ingest_workers)
    if hasattr(args, "ingest_workers"):
        load_ingest_workers()
    if hasattr(args, "horizon") and args.command != "synth":
        _model_config(args)


def _load(args: argparse.Namespace, out: Path | None):
    """Ingest ``--data``, saying what was read and how long it took."""
    from stockout_sk.ingest import load_chain

    started = time.perf_counter()
    chain = load_chain(
        args.data,
        out_dir=out,
        chunksize=args.chunksize,
        csv_format=_csv_format(args),
        horizon=getattr(args, "horizon", 7),
    )
    say(chain.report.format())
    say(f"ingested {args.data} in {time.perf_counter() - started:.1f}s")
    return chain


def _min_history_days(config) -> int:
    """Days of export training needs: the shortest history ``evaluate.plan_windows`` accepts.

    ``plan_windows`` sizes the holdout, the purge gaps, the threshold folds and the training
    span from the as-of days there are (shrinking them to their floors on a short export, or
    keeping the sizes ``--holdout-days`` / ``--validation-days`` set); the export needs
    ``horizon`` more days than the as-of days, for the last label to mature.
    """
    from stockout_sk.evaluate import NotEnoughHistoryError, plan_windows

    for asof_days in range(1, _MAX_ASOF_DAYS + 1):
        try:
            plan_windows(
                asof_days,
                horizon=config.horizon,
                holdout_days=config.holdout_days,
                validation_days=config.validation_days,
            )
        except NotEnoughHistoryError:
            continue
        return asof_days + config.horizon
    return _MAX_ASOF_DAYS + config.horizon


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
    """Check the six CSVs and print the per-file report; 1 when the data is not fit to train on.

    ``usable`` (= ``ok`` in the JSON, = exit 0) means every row is accounted for and no finding
    blocks training: quarantined rows are expected in real exports, and listed in ``rejects/``.
    The report is written to ``--out`` also when a fatal error stops ingestion.
    """
    from stockout_sk.ingest import DataContractError, load_chain

    config = _model_config(args)
    try:
        chain = load_chain(
            args.data,
            out_dir=args.out,
            chunksize=args.chunksize,
            csv_format=_csv_format(args),
            horizon=config.horizon,
            min_history_days=_min_history_days(config),
        )
    except DataContractError as exc:
        say(f"error: {exc}")
        if args.out:
            say(f"validation_report.json (with the error) written under {args.out}")
        if args.json:
            report = exc.report.to_dict() if exc.report is not None else {"error": str(exc)}
            emit_json({**report, "ok": False, "usable": False})
        return 1
    report = chain.report
    print(report.format())
    if args.out:
        print(f"\nrejects and validation_report.json written under {args.out}")
    rejected = sum(f.rejected for f in report.files.values())
    if not report.usable:
        print("\nNOT USABLE for training:")
        if not report.reconciled:
            print(
                "  - rows do not reconcile (read != accepted + rejected): a bug, please report it"
            )
        for finding in report.blocking:
            print(f"  - {finding.file + ': ' if finding.file else ''}{finding.message}")
    elif rejected:
        print(f"\nusable; {rejected:,} row(s) were quarantined (see the rejects files)")
    else:
        print("\nusable; every row was accepted")
    if args.json:
        emit_json(report.to_dict())
    return 0 if report.usable else 1


def cmd_build_dataset(args: argparse.Namespace) -> int:
    """Write the labelled point-in-time table (.csv or .parquet)."""
    from stockout_sk.ingest.memory import _reused_pages
    from stockout_sk.labels import build_dataset

    # One block for both: the labels' arrays reuse the pages ingestion freed, instead of new
    # ones the kernel zeroes (about 0.4 s less on the 50×1000×365 chain).
    with _reused_pages():
        chain = _load(args, args.rejects)
        dataset = build_dataset(chain, horizon=args.horizon)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        dataset.frame.to_parquet(out, index=False)
    elif out.suffix.lower() == ".csv":
        frame = dataset.frame.assign(**{DATE: dataset.frame[DATE].dt.strftime("%Y-%m-%d")})
        frame.to_csv(out, index=False)
    else:  # the parser allows no other suffix (parser.table_file)
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
        run = distributed.train_on_cluster(
            address, args.data, config, csv_format=_csv_format(args), chunksize=args.chunksize
        )
        say(run.chain.report.format())
        report = evaluate_fitted(run.fitted, run.prepared, out_dir=out)
        result = TrainingResult(run.fitted, report, run.prepared, run.timings)
    else:
        chain = _load(args, None)
        result = train_and_evaluate(chain, config, out_dir=out)
    payload = result.to_dict()
    say(result.prepared.windows.reason)
    say(result.fitted.validation["description"])
    print(metrics_table(payload))
    if out:
        print(f"\nplots and summary written to {out}")
    if args.json:
        emit_json(payload)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """Train on each rolling origin and score the days after it (no registry)."""
    from stockout_sk.backtest import run_backtest

    config = _model_config(args)
    chain = _load(args, None)
    report = run_backtest(
        chain,
        config,
        folds=args.folds,
        window_days=args.window_days,
        step_days=args.step_days,
        origins=args.origin,
        top_share=args.top_share,
        plain=not args.no_plain,
        out_dir=args.out,
        data=str(args.data),
        progress=say,
    )
    print(report.table())
    if args.out:
        print(f"\nbacktest.json, backtest.md and backtest.png written to {args.out}")
    if args.json:
        emit_json(report.to_dict())
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Run the Prefect flow: train, evaluate, register, promote."""
    from stockout_sk.config import load_settings

    # Every setting is checked before the flow starts (the options by the parser): a bad
    # STOCKOUT_* value fails here, naming the variable, with nothing read or registered.
    load_settings()
    from flows.run_pipeline import run

    # The windows from the environment and the options, checked before any work starts.
    config = _model_config(args)
    csv_format = _csv_format(args)  # a bad --encoding fails before Prefect starts
    stride = getattr(args, "asof_stride", None)
    summary = run(
        data_dir=str(args.data),
        horizon=args.horizon,
        min_f1=args.min_f1,
        out_dir=str(args.out),
        holdout_days=config.holdout_days,
        validation_days=config.validation_days,
        encoding=csv_format.encoding,
        delimiter=csv_format.delimiter,
        chunksize=args.chunksize,
        log_checkpoints=args.log_checkpoints,
        dask=getattr(args, "dask", None),
        model_overrides={
            key: value
            for key, value in (
                ("n_jobs", args.n_jobs),
                ("asof_stride", stride),
                ("threshold_method", getattr(args, "threshold_method", None)),
            )
            if value is not None
        }
        or None,
    )
    say(summary["windows"]["reason"])
    for line in summary.get("recovered", []):
        say(f"left by an earlier run, now marked: {line}")
    print(metrics_table({**summary, "model": summary["metrics"]}))
    say(
        f"model {summary['model_name']} v{summary['version']}: {summary['decision']} "
        f"({summary['reason']}); aliases {summary['aliases']}"
    )
    if summary.get("deployed"):
        deployed = summary["deployed"]
        rows = deployed["fit_rows"]
        say(
            f"deployed v{deployed['version']}: v{deployed['refit_of']} refitted on every matured "
            f"row ({rows['rows']:,} rows, {rows['start']}..{rows['end']})"
        )
    if args.json:
        emit_json(summary)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: ingest → validate → dataset → train → evaluate → register → promote."""
    return cmd_train(args)
