"""The morning list as a Prefect 3 flow: ingest → resolve the model → score → write.

Each step is a task calling one library function (:mod:`stockout_sk.ingest`,
:mod:`stockout_sk.scoring`); the flow wires them, writes the ranked CSV and the HTML page, and
leaves a Markdown artifact with the highest-risk rows in the Prefect UI. The model is the one the
API would serve (``production``, or the rule baseline — then the artifact says why).

Run it once::

    python -m flows.score --data sample_data --out artifacts/morning/morning_list.csv

Schedule it next to the daily retrain with ``python -m flows.deploy --score-cron "30 5 * * *"``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.common import (
    DEFAULT_DATA_DIR,
    configure_logging,
    flow_serving_settings,
    ingest,
    run_main,
    run_with_startup_timeout,
)
from stockout_sk.ingest import ChainData
from stockout_sk.scoring import (
    MorningList,
    build_morning_list,
    check_outputs,
    resolve_snapshot,
    write_morning_list,
)
from stockout_sk.serving import Snapshot
from stockout_sk.vocabulary import Source

__all__ = ["DEFAULT_OUT", "run", "score"]

SUMMARY_ARTIFACT_KEY = "morning-list"
DEFAULT_OUT = "artifacts/morning/morning_list.csv"


@task(name="resolve-model", cache_policy=NO_CACHE)
def resolve_model(model_name: str | None, tracking_uri: str | None) -> Snapshot:
    """The production model, or the rule baseline with the reason (as the API decides)."""
    return resolve_snapshot(flow_serving_settings(model_name, tracking_uri))


@task(name="score", cache_policy=NO_CACHE)
def score_rows(chain: ChainData, snapshot: Snapshot, top_reasons: int) -> MorningList:
    """Score every branch×item of stock_current as of its snapshot date."""
    return build_morning_list(chain, snapshot, top_reasons=top_reasons)


@task(name="write", cache_policy=NO_CACHE)
def write(morning: MorningList, out: str, data_dir: str, overwrite: bool) -> tuple[str, str]:
    """The ranked CSV, the HTML page and the unscored CSV (never over an input file)."""
    csv_path, html_path = write_morning_list(morning, out, inputs=[data_dir], force=overwrite)
    return str(csv_path), str(html_path)


@flow(name="score", log_prints=False)
def score(
    data_dir: str = DEFAULT_DATA_DIR,
    out: str = DEFAULT_OUT,
    model_name: str | None = None,
    tracking_uri: str | None = None,
    top_reasons: int = 3,
    overwrite: bool = True,
) -> dict[str, Any]:
    """Write the morning list: every branch×item scored with the production model.

    Parameters
    ----------
    data_dir : str
        Folder with the six CSV files.
    out : str
        ``.csv`` (or ``.html``) path; the other file is written beside it.
    model_name, tracking_uri : str, optional
        Registered model and MLflow store; default from the environment
        (``STOCKOUT_MODEL_NAME``, ``MLFLOW_TRACKING_URI``).
    top_reasons : int
        Reasons listed per row.
    overwrite : bool
        Replace the list already at ``out`` (a schedule writes the same file every morning);
        ``False`` refuses, as ``stockout-sk score`` does without ``--force``. An input file is
        never overwritten.

    Returns
    -------
    dict
        :meth:`MorningList.summary` plus ``csv`` and ``html`` paths.
    """
    log = get_run_logger()
    # A bad or unsafe path fails before reading the data.
    csv_path, _, _ = check_outputs(out, inputs=[data_dir], force=overwrite)
    model_future = resolve_model.submit(model_name, tracking_uri)
    # The rejects go beside the list (ingest/): the page names each quarantined snapshot row.
    chain = ingest(data_dir, str(csv_path.parent))
    snapshot = model_future.result()
    morning = score_rows(chain, snapshot, top_reasons)
    csv_path, html_path = write(morning, out, data_dir, overwrite)
    summary = {**morning.summary(), "csv": csv_path, "html": html_path}
    create_markdown_artifact(
        markdown=summary_markdown(morning, csv_path, html_path),
        key=SUMMARY_ARTIFACT_KEY,
        description=f"{summary['at_risk']} at risk of {summary['rows']}",
    )
    log.info(
        "morning list: %d rows, %d at risk (source %s, version %s) → %s",
        summary["rows"],
        summary["at_risk"],
        summary["source"],
        summary["model_version"],
        csv_path,
    )
    return summary


def summary_markdown(morning: MorningList, csv_path: str, html_path: str, rows: int = 20) -> str:
    """The highest-risk rows as Markdown, for the Prefect UI."""
    summary = morning.summary()
    if summary["source"] == Source.REGISTRY:
        source = f"{summary['model_name']} version {summary['model_version']}"
    else:
        source = f"**rule baseline** — {summary['fallback_reason']}"
    lines = [
        f"# Morning list for {summary['as_of_last']}",
        "",
        f"* Scored by: {source}",
        f"* {summary['at_risk']} at risk of {summary['rows']} branch×items "
        f"({summary['branches']} branches); {summary['not_scored']} not scored",
        f"* Files: `{csv_path}`, `{html_path}`",
        "",
        "| # | branch | item | probability | days to safety stock | shortfall | headroom | "
        "top reason |",
        "|---:|---|---|---:|---:|---:|---:|---|",
    ]

    def number(value: float) -> str:
        return "—" if value != value else f"{value:,.0f}"

    for row in morning.frame.head(rows).itertuples(index=False):
        name = str(row.ItemName).replace("|", "/")
        reason = str(row.reason_1).replace("|", "/") if hasattr(row, "reason_1") else ""
        lines.append(
            f"| {row.rank} | {row.BranchID} | {row.ItemCode} {name} | {row.probability:.0%} | "
            f"{number(row.days_to_safety_stock)} | {number(row.expected_shortfall)} | "
            f"{row.headroom:,.0f} | {reason} |"
        )
    return "\n".join(lines) + "\n"


def run(**parameters: Any) -> dict[str, Any]:
    """Run the flow with the start-up timeout Prefect's temporary server needs."""
    return run_with_startup_timeout(score, **parameters)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the flow once and print its summary as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA_DIR, help="folder with the six CSV files")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"CSV to write (default {DEFAULT_OUT})")
    parser.add_argument("--model-name", default=None)
    args = parser.parse_args(argv)
    log_file = configure_logging(Path(args.out).parent, "score")

    def once() -> int:
        summary = run(data_dir=args.data, out=args.out, model_name=args.model_name)
        print(json.dumps(summary, allow_nan=False, default=str))
        return 0

    return run_main(once, log_file)


if __name__ == "__main__":
    raise SystemExit(main())
