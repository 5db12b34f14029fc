"""Speed and memory of the model pipeline against raw LightGBM, side by side in one run.

Measured (each group in its own fresh Python process, so peak RSS is its own):

* **fit** — ``pipeline.fit`` (:func:`stockout_sk.pipeline.build_pipeline`, ``ModelConfig``
  defaults) on the training rows of the time split (holdout = latest ``holdout_days`` as-of days,
  purge gap N), with the chain's flows and transfers: wall time and peak RSS. Then, not timed as
  part of it, the sampler and the feature steps' ``fit_transform`` on the rows it kept (the
  pipeline's order) rebuild the exact matrix the classifier saw, and a raw
  ``lightgbm.LGBMClassifier`` with the same parameters is fitted on it
  (timed alone): the ratio pipeline / raw is the pipeline's overhead. Both models must give the
  same probabilities (printed). ``--fit-model`` times :func:`stockout_sk.training.fit_model` instead
  (two fits: threshold on training-side validation, then the final one).
* **single row** — ``pipeline.predict_proba`` on a one-row DataFrame of raw request fields
  (``Date`` an ISO string), ≥ 2,000 calls after a warm-up, each on a different holdout row:
  median and p99; per feature step; and the raw booster with one thread on the already-transformed
  row (``pipeline[-1].booster_.predict(row, num_threads=1)``). Ratio of the medians.
* **batch** — ``pipeline.predict_proba`` rows/s on 10,000 and 100,000 raw holdout rows vs the raw
  booster on the same already-transformed matrix (``num_threads=0``, what the pipeline's
  classifier uses for batches; one thread shown too). The rows are picked at random from the
  1 M-row holdout frame, so their ID and date strings are Python objects scattered over memory:
  the worst case for the per-value work (the target is checked on it). The same rows with
  fresh strings in row order — what parsing a JSON body or reading a CSV gives — are timed too.
* **model size** — the fitted pipeline as ``skops.io.dumps`` (loaded back with
  ``stockout_sk.registry.TRUSTED_TYPES``) and as pickle.

The chain is generated once and cached like ``bench_dataset.py`` (messy exports, seed 1); the
labelled table, its split and the fitted pipeline are cached under ``--workdir`` as well
(``--refit`` fits again).

Usage::

    .venv/bin/python benchmarks/bench_model.py [--branches 50] [--items 1000] [--days 365]
        [--data DIR] [--workdir /tmp/stockout-bench] [--calls 3000] [--refit] [--fit-model]
        [--skip-raw-fit] [--n-estimators N] [--n-jobs N]

Targets (model issue): single-row median ≤ 1 ms; batch ≥ 200,000 rows/s on 2 cores. Prints a
table per group with the load averages, then one JSON line; exits 0 either way (the machine may be
busy).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dataset import (  # a sibling script
    REPO,
    chain_args,
    ensure_chain,
    loadavg,
    peak_rss_mb,
    rss_mb,
    run_child,
)

SINGLE_ROW_TARGET_MS = 1.0
BATCH_TARGET_ROWS_S = 200_000
BATCH_SIZES = (10_000, 100_000)


def _fmt_load(values: list[float]) -> str:
    return "/".join(f"{x:.1f}" for x in values)


def _reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (Linux ≥ 4.0), so ru_maxrss is this step's own."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _config(args: argparse.Namespace):
    from stockout_sk.config import ModelConfig

    overrides = {"n_estimators": args.n_estimators, "n_jobs": args.n_jobs}
    return ModelConfig().with_overrides(**overrides)


def _pickle_dump(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def _pickle_load(path: Path):
    with path.open("rb") as f:
        return pickle.load(f)


def raw_requests(frame):
    """Raw request rows as a client sends them: string IDs, ISO-string ``Date``, float numbers."""
    import pandas as pd

    from stockout_sk.contract import RAW_FIELDS

    out = frame.loc[:, list(RAW_FIELDS)].reset_index(drop=True).copy()
    out["BranchID"] = out["BranchID"].astype(str).astype(object)
    out["ItemCode"] = out["ItemCode"].astype(str).astype(object)
    out["Date"] = pd.to_datetime(out["Date"]).dt.strftime("%Y-%m-%d").astype(object)
    return out


def _fresh_strings(frame):
    """``frame`` with new string objects allocated in row order (as a JSON or CSV parser makes
    them), instead of objects shared with a larger frame."""
    import numpy as np

    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = np.asarray(out[name].to_numpy().astype(str)).astype(object)
    return out


# --------------------------------------------------------------------------- child: prepare
def child_prepare(args: argparse.Namespace) -> dict:
    """Ingest, label and split once; cache the training rows, flows, transfers and holdout."""
    import numpy as np

    from stockout_sk.evaluate import plan_windows, time_split
    from stockout_sk.ingest import load_chain
    from stockout_sk.labels import build_dataset

    config = _config(args)
    out = Path(args.prep)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    chain = load_chain(args.data)
    dataset = build_dataset(chain, horizon=config.horizon)
    frame = dataset.frame
    # The product's windows for this history (stockout_sk.training.prepare sizes them alike).
    windows = plan_windows(
        frame["Date"].nunique(), horizon=config.horizon, holdout_days=config.holdout_days
    )
    split = time_split(
        frame["Date"],
        horizon=config.horizon,
        holdout_days=windows.holdout_days,
        min_train_days=windows.training_side_days,
    )
    train = frame[np.asarray(split.train)]
    holdout = frame[np.asarray(split.holdout)]
    _pickle_dump(
        {"train": train.reset_index(drop=True), "flows": chain.flows, "transfers": chain.transfers},
        out / "train.pkl",
    )
    _pickle_dump(holdout.reset_index(drop=True), out / "holdout.pkl")
    info = {
        "seconds": time.perf_counter() - started,
        "rows": len(frame),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "positive_rate": float(frame["label"].mean()),
        "train_positive_rate": float(train["label"].mean()),
        "flow_rows": len(chain.flows),
        "transfer_rows": len(chain.transfers),
        "peak_rss_mb": peak_rss_mb(),
    }
    (out / "prep.json").write_text(json.dumps(info, indent=2))
    return info


# --------------------------------------------------------------------------- child: fit
def child_fit(args: argparse.Namespace) -> dict:
    import numpy as np
    from imblearn.pipeline import Pipeline as ImbPipeline
    from lightgbm import LGBMClassifier
    from sklearn.base import clone

    from stockout_sk.pipeline import build_pipeline
    from stockout_sk.training import fit_model, split_xy

    config = _config(args)
    prep = Path(args.prep)
    loaded = _pickle_load(prep / "train.pkl")
    train, flows, transfers = loaded["train"], loaded["flows"], loaded["transfers"]
    del loaded
    X, y = split_xy(train)
    gc.collect()
    result: dict = {
        "n_jobs": config.n_jobs,
        "n_estimators": config.n_estimators,
        "config": config.to_dict(),
        "train_rows": len(X),
        "positive_rate": float(y.mean()),
        "rss_before_fit_mb": rss_mb(),
        "loadavg_before": loadavg(),
    }
    reset = _reset_peak_rss()
    result["peak_is_fit_only"] = reset
    checkpoints = tempfile.mkdtemp(prefix="ckpt-", dir=args.workdir)  # fresh: never resumes
    config = config.with_overrides(checkpoint_dir=checkpoints)

    print(
        f"fitting the pipeline on {len(X):,} rows (n_jobs={config.n_jobs}, "
        f"{config.n_estimators} trees) …",
        file=sys.stderr,
        flush=True,
    )
    started = time.perf_counter()
    if args.fit_model:
        from types import SimpleNamespace

        fitted = fit_model(train, SimpleNamespace(flows=flows, transfers=transfers), config)
        pipeline = fitted.pipeline
        result["what"] = "fit_model (threshold fit + final fit)"
    else:
        pipeline = build_pipeline(config)
        pipeline.fit(X, y, history__flows=flows, history__transfers=transfers)
        result["what"] = "pipeline.fit"
    result["fit_seconds"] = time.perf_counter() - started
    result["fit_peak_rss_mb"] = peak_rss_mb()
    result["loadavg_fit"] = loadavg()
    sampler = pipeline.named_steps["sampler"]
    result["sampler_applied"] = bool(sampler.applied_)
    kept = getattr(sampler, "sample_indices_", None)  # may stop being a fitted attribute
    result["classifier_rows"] = None if kept is None else len(kept)
    _pickle_dump(pipeline, prep / "pipeline.pkl")
    print(f"pipeline fitted in {result['fit_seconds']:.0f} s", file=sys.stderr, flush=True)

    if not args.skip_raw_fit:
        # The exact matrix the classifier saw, rebuilt step by step in the pipeline's order
        # (sampler, then the feature steps' fit_transform on the rows it kept).
        started = time.perf_counter()
        kept_X, ys = clone(sampler).fit_resample(X, y)
        result["sampler_seconds"] = time.perf_counter() - started
        features = ImbPipeline(
            [(n, clone(pipeline.named_steps[n])) for n in ("calendar", "history", "hashing")]
        )
        started = time.perf_counter()
        Xs = features.fit_transform(kept_X, ys, history__flows=flows, history__transfers=transfers)
        result["features_fit_transform_seconds"] = time.perf_counter() - started
        del kept_X
        gc.collect()
        Xs = np.asarray(Xs)
        result["matrix"] = {"rows": Xs.shape[0], "columns": Xs.shape[1], "dtype": str(Xs.dtype)}
        params = pipeline[-1].get_params()
        for own in ("threshold", "checkpoint_dir", "checkpoint_every"):
            params.pop(own, None)
        raw = LGBMClassifier(**params)
        print(f"fitting raw LightGBM on {Xs.shape} …", file=sys.stderr, flush=True)
        result["loadavg_before_raw"] = loadavg()
        started = time.perf_counter()
        raw.fit(Xs, ys)
        result["raw_fit_seconds"] = time.perf_counter() - started
        result["loadavg_raw"] = loadavg()
        result["overhead_ratio"] = result["fit_seconds"] / result["raw_fit_seconds"]
        probe = Xs[:: max(1, len(Xs) // 20_000)]
        ours = pipeline[-1].booster_.predict(probe)
        theirs = raw.booster_.predict(probe)
        result["raw_vs_pipeline_max_abs_diff"] = float(np.max(np.abs(ours - theirs)))
    result["loadavg"] = loadavg()
    return result


# --------------------------------------------------------------------------- child: predict
def _quantiles_ms(ns: list[int]) -> dict:
    import numpy as np

    ms = np.asarray(ns, dtype=np.float64) / 1e6
    return {
        "median_ms": float(np.median(ms)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
    }


def _time_calls(fn, inputs: list, warmup: int) -> list[int]:
    for i in range(warmup):
        fn(inputs[i % len(inputs)])
    clock = time.perf_counter_ns
    out = []
    for item in inputs:
        t0 = clock()
        fn(item)
        out.append(clock() - t0)
    return out


def _best_of(fn, repeats: int) -> tuple[float, float]:
    """Median and best wall time of ``repeats`` calls (after one warm-up call)."""
    import numpy as np

    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(min(times))


def child_predict(args: argparse.Namespace) -> dict:
    import numpy as np

    from stockout_sk.pipeline import features_of

    prep = Path(args.prep)
    pipeline = _pickle_load(prep / "pipeline.pkl")
    holdout = _pickle_load(prep / "holdout.pkl")
    requests = raw_requests(holdout)
    rng = np.random.default_rng(0)
    features = features_of(pipeline)
    booster = pipeline[-1].booster_
    result: dict = {"holdout_rows": len(requests), "n_jobs": pipeline[-1].n_jobs}

    # ---- single row
    n_calls = max(args.calls, 2000)
    picks = rng.choice(len(requests), size=n_calls, replace=len(requests) < n_calls)
    rows = [requests.iloc[[i]].reset_index(drop=True) for i in picks]
    matrices = [np.asarray(features.transform(r)) for r in rows]
    print(f"single row: {n_calls} calls …", file=sys.stderr, flush=True)
    result["loadavg_before_single"] = loadavg()
    single = {}
    single["pipeline.predict_proba"] = _quantiles_ms(
        _time_calls(pipeline.predict_proba, rows, args.warmup)
    )
    # The same calls step by step (each step's transform on the previous step's output).
    inputs = rows
    for name in ("calendar", "history", "hashing"):
        step = pipeline.named_steps[name]
        single[f"  {name}.transform"] = _quantiles_ms(_time_calls(step.transform, inputs, 50))
        inputs = [step.transform(x) for x in inputs]
    single["  classifier.predict_proba"] = _quantiles_ms(
        _time_calls(pipeline[-1].predict_proba, matrices, 50)
    )
    single["booster.predict (1 thread)"] = _quantiles_ms(
        _time_calls(lambda m: booster.predict(m, num_threads=1), matrices, args.warmup)
    )
    result["single"] = single
    result["single_calls"] = n_calls
    result["single_ratio"] = (
        single["pipeline.predict_proba"]["median_ms"]
        / single["booster.predict (1 thread)"]["median_ms"]
    )
    result["loadavg_single"] = loadavg()

    # ---- batch
    batch = []
    for size in BATCH_SIZES:
        idx = rng.choice(len(requests), size=size, replace=len(requests) < size)
        frame = requests.iloc[idx].reset_index(drop=True)
        print(f"batch of {size:,} rows …", file=sys.stderr, flush=True)
        load_before = loadavg()
        pipe_med, pipe_best = _best_of(lambda f=frame: pipeline.predict_proba(f), args.repeats)
        feat_med, _ = _best_of(lambda f=frame: features.transform(f), args.repeats)
        matrix = np.asarray(features.transform(frame))
        boost_med, boost_best = _best_of(
            lambda m=matrix: booster.predict(m, num_threads=0), args.repeats
        )
        one_med, _ = _best_of(lambda m=matrix: booster.predict(m, num_threads=1), args.repeats)
        same = np.allclose(
            pipeline.predict_proba(frame)[:, 1], booster.predict(matrix), rtol=0, atol=1e-12
        )
        parsed = _fresh_strings(frame)
        parsed_med, _ = _best_of(lambda f=parsed: pipeline.predict_proba(f), args.repeats)
        batch.append(
            {
                "rows": size,
                "pipeline_s": pipe_med,
                "pipeline_rows_s": size / pipe_med,
                "pipeline_best_rows_s": size / pipe_best,
                "features_s": feat_med,
                "booster_s": boost_med,
                "booster_rows_s": size / boost_med,
                "booster_best_rows_s": size / boost_best,
                "booster_1thread_rows_s": size / one_med,
                "ratio": pipe_med / boost_med,
                "parsed_rows_s": size / parsed_med,
                "same_probabilities": bool(same),
                "loadavg_before": load_before,
                "loadavg": loadavg(),
            }
        )
    result["batch"] = batch
    result["repeats"] = args.repeats

    # ---- size
    del holdout, requests, rows, matrices
    gc.collect()
    size: dict = {"pickle_bytes": len(pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL))}
    history = pipeline.named_steps["history"]
    size["history_arrays_bytes"] = int(
        sum(v.nbytes for v in vars(history).values() if isinstance(v, np.ndarray))
    )
    size["history_keys"] = len(history.keys_)
    size["booster_trees"] = booster.num_trees()
    try:
        import skops.io

        from stockout_sk.registry import TRUSTED_TYPES

        t0 = time.perf_counter()
        blob = skops.io.dumps(pipeline)
        size["skops_dumps_s"] = time.perf_counter() - t0
        size["skops_bytes"] = len(blob)
        t0 = time.perf_counter()
        skops.io.loads(blob, trusted=list(TRUSTED_TYPES))
        size["skops_loads_s"] = time.perf_counter() - t0
        untrusted = skops.io.get_untrusted_types(data=blob)
        size["skops_untrusted_beyond_registry"] = sorted(set(untrusted) - set(TRUSTED_TYPES))
    except Exception as exc:
        size["skops_error"] = f"{type(exc).__name__}: {exc}"
    result["size"] = size
    result["peak_rss_mb"] = peak_rss_mb()
    result["loadavg"] = loadavg()
    return result


CHILDREN = {"prepare": child_prepare, "fit": child_fit, "predict": child_predict}


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    chain_args(parser, workdir_help="caches live here")
    parser.add_argument("--refit", action="store_true", help="re-prepare and refit (no cache)")
    parser.add_argument("--fit-model", action="store_true", help="time fit_model (two fits)")
    parser.add_argument("--skip-raw-fit", action="store_true", help="no raw LightGBM fit")
    parser.add_argument("--n-estimators", type=int, help="override ModelConfig.n_estimators")
    parser.add_argument("--n-jobs", type=int, help="override ModelConfig.n_jobs (default 1)")
    parser.add_argument("--calls", type=int, default=3000, help="single-row calls (≥ 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="single-row warm-up calls")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per batch size")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--prep", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return 0

    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.data is not None:
        data = args.data.resolve()
        if not (data / "stock_current.csv").is_file():
            raise SystemExit(f"{data} does not hold the six CSV files (stock_current.csv missing)")
    else:
        data, _ = ensure_chain(
            args.workdir, args.branches, args.items, args.days, args.seed, not args.clean
        )
    config = _config(args)
    tag = f"model-{data.name}-h{config.horizon}-hd{config.holdout_days or 'sized'}"
    tag += f"-n{config.n_estimators}-j{config.n_jobs}" + ("-fm" if args.fit_model else "")
    prep = args.workdir / tag
    common = ["--data", str(data), "--workdir", str(args.workdir), "--prep", str(prep)]
    common += ["--n-estimators", str(config.n_estimators), "--n-jobs", str(config.n_jobs)]
    common += ["--calls", str(args.calls), "--warmup", str(args.warmup)]
    common += ["--repeats", str(args.repeats)]
    common += ["--fit-model"] * args.fit_model + ["--skip-raw-fit"] * args.skip_raw_fit

    if args.refit or not (prep / "prep.json").is_file():
        print(f"preparing the labelled table into {prep} …", file=sys.stderr, flush=True)
        prepared = run_child(["--child", "prepare", *common], __file__)
    else:
        prepared = json.loads((prep / "prep.json").read_text())
        print(f"reusing the prepared table in {prep}", file=sys.stderr, flush=True)
    fit_json = prep / "fit.json"
    if args.refit or not fit_json.is_file() or not (prep / "pipeline.pkl").is_file():
        fit = run_child(["--child", "fit", *common], __file__)
        fit_json.write_text(json.dumps(fit, indent=2))
        fit["cached"] = False
    else:
        fit = json.loads(fit_json.read_text())
        fit["cached"] = True
        print(f"reusing the fitted pipeline and fit numbers in {prep}", file=sys.stderr)
    print("measuring predictions …", file=sys.stderr, flush=True)
    pred = run_child(["--child", "predict", *common], __file__)

    # ---- report
    print(f"\nbench_model on {data} ({os.cpu_count()} CPUs)")
    print(
        f"table: {prepared['rows']:,} labelled rows → train {prepared['train_rows']:,}, holdout "
        f"{prepared['holdout_rows']:,}; positive rate {prepared['positive_rate']:.3f}"
    )
    print(
        f"ModelConfig: n_jobs={fit['n_jobs']} (LightGBM training threads), "
        f"n_estimators={fit['n_estimators']}, num_leaves={fit['config']['num_leaves']}, "
        f"hash_features={fit['config']['hash_features']}, history_days="
        f"{fit['config']['history_days']}"
    )

    print("\nFIT" + ("  (cached from an earlier run)" if fit["cached"] else ""))
    print(
        f"  {fit['what']}: {fit['fit_seconds']:.1f} s, peak RSS {fit['fit_peak_rss_mb']:.0f} MB "
        f"({'the fit alone' if fit['peak_is_fit_only'] else 'child lifetime'}; "
        f"{fit['rss_before_fit_mb']:.0f} MB held before it: training rows + flows); "
        f"load avg {_fmt_load(fit['loadavg_before'])} → {_fmt_load(fit['loadavg_fit'])}"
    )
    kept = fit["classifier_rows"] or fit.get("matrix", {}).get("rows")
    print(
        f"  sampler applied: {fit['sampler_applied']} → the classifier fits "
        f"{f'{kept:,}' if kept else '?'} of {fit['train_rows']:,} rows"
    )
    if "raw_fit_seconds" in fit:
        m = fit["matrix"]
        print(
            f"  (feature steps fit_transform {fit['features_fit_transform_seconds']:.1f} s, "
            f"sampler {fit['sampler_seconds']:.1f} s, matrix {m['rows']:,} × {m['columns']} "
            f"{m['dtype']})"
        )
        print(
            f"  raw LGBMClassifier.fit, same parameters, same matrix: "
            f"{fit['raw_fit_seconds']:.1f} s; load avg {_fmt_load(fit['loadavg_raw'])}"
        )
        print(
            f"  overhead ratio pipeline / raw fit: {fit['overhead_ratio']:.2f}  "
            f"(max |Δp| between the two models: {fit['raw_vs_pipeline_max_abs_diff']:.1e})"
        )

    single = pred["single"]
    print(
        f"\nSINGLE ROW, in process ({pred['single_calls']:,} calls after {args.warmup} warm-up; "
        f"load avg {_fmt_load(pred['loadavg_before_single'])} → "
        f"{_fmt_load(pred['loadavg_single'])})"
    )
    print(f"  {'call':<36}{'median ms':>11}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, q in single.items():
        print(
            f"  {name:<36}{q['median_ms']:>11.3f}{q['p90_ms']:>9.3f}{q['p99_ms']:>9.3f}"
            f"{q['mean_ms']:>9.3f}"
        )
    med = single["pipeline.predict_proba"]["median_ms"]
    print(
        f"  ratio pipeline / booster (medians): {pred['single_ratio']:.1f}×; target median ≤ "
        f"{SINGLE_ROW_TARGET_MS:g} ms: {'met' if med <= SINGLE_ROW_TARGET_MS else 'NOT met'}"
    )

    print(f"\nBATCH predict_proba (median of {args.repeats} after a warm-up)")
    print(
        f"  {'rows':>8}{'pipeline rows/s':>17}{'features s':>12}{'booster rows/s':>16}"
        f"{'booster 1-thr rows/s':>22}{'ratio':>7}{'same p':>8}{'as parsed rows/s':>18}"
        f"{'load avg':>16}"
    )
    for b in pred["batch"]:
        parsed = f"{b['parsed_rows_s']:,.0f}" if "parsed_rows_s" in b else "–"
        print(
            f"  {b['rows']:>8,}{b['pipeline_rows_s']:>17,.0f}{b['features_s']:>12.3f}"
            f"{b['booster_rows_s']:>16,.0f}{b['booster_1thread_rows_s']:>22,.0f}"
            f"{b['ratio']:>7.1f}{b['same_probabilities']!s:>8}{parsed:>18}"
            f"{_fmt_load(b['loadavg']):>16}"
        )
    print(
        "  (rows picked at random from the holdout frame: scattered string objects, the worst "
        "case; 'as parsed': the same rows with fresh strings in row order, as from JSON or CSV)"
    )
    worst = min(b["pipeline_rows_s"] for b in pred["batch"])
    print(
        f"  target ≥ {BATCH_TARGET_ROWS_S:,} rows/s: "
        f"{'met' if worst >= BATCH_TARGET_ROWS_S else 'NOT met'} (slowest size {worst:,.0f})"
    )

    size = pred["size"]
    print("\nMODEL SIZE")
    print(f"  pickle: {size['pickle_bytes'] / 1e6:.1f} MB")
    if "skops_bytes" in size:
        print(
            f"  skops:  {size['skops_bytes'] / 1e6:.1f} MB (dumps {size['skops_dumps_s']:.1f} s, "
            f"loads with TRUSTED_TYPES {size['skops_loads_s']:.1f} s; untrusted types beyond the "
            f"registry's list: {size['skops_untrusted_beyond_registry'] or 'none'})"
        )
    else:
        print(f"  skops: failed — {size['skops_error']}")
    print(
        f"  history step arrays {size['history_arrays_bytes'] / 1e6:.1f} MB for "
        f"{size['history_keys']:,} keys; {size['booster_trees']} trees"
    )
    print(
        f"  predict child peak RSS {pred['peak_rss_mb']:.0f} MB; load avg now "
        f"{_fmt_load(loadavg())}"
    )
    print(
        json.dumps(
            {
                "bench": "model",
                "data": str(data),
                "prepared": prepared,
                "fit": fit,
                "predict": pred,
                "cpus": os.cpu_count(),
                "loadavg": loadavg(),
                "repo": str(REPO),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
