"""The morning-list job: read the chain, choose the model as the API does, write CSV and page."""

from __future__ import annotations

import logging
from pathlib import Path

from stockout_sk.config import CsvFormat, ServingSettings, load_serving_settings
from stockout_sk.ingest import load_chain
from stockout_sk.scoring.morning_list import MorningList, build_morning_list
from stockout_sk.scoring.page import render_html
from stockout_sk.serving import ModelHolder, Snapshot

__all__ = ["output_paths", "resolve_snapshot", "score_chain", "write_morning_list"]

logger = logging.getLogger(__name__)


def output_paths(out: str | Path) -> tuple[Path, Path]:
    """The CSV and HTML files for ``--out``: ``x.csv`` → (``x.csv``, ``x.html``), and so on.

    Raises
    ------
    ValueError
        ``out`` has a suffix other than ``.csv`` or ``.html`` (or none).
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".html", ".htm"):
        raise ValueError(
            f"--out must name a .csv or .html file (the other is written beside it), got "
            f"{str(out)!r}; e.g. --out artifacts/morning/morning_list.csv"
        )
    return out.with_suffix(".csv"), out.with_suffix(".html")


def write_morning_list(morning: MorningList, out: str | Path) -> tuple[Path, Path]:
    """Write the ranked CSV and the HTML page; return their paths (see :func:`output_paths`)."""
    csv_path, html_path = output_paths(out)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    morning.frame.to_csv(csv_path, index=False, float_format="%.6g")
    html_path.write_text(render_html(morning), encoding="utf-8")
    logger.info(
        "morning list: %d rows, %d at risk → %s, %s",
        len(morning.frame),
        morning.at_risk,
        csv_path,
        html_path,
    )
    return csv_path, html_path


def resolve_snapshot(settings: ServingSettings | None = None) -> Snapshot:
    """What scores the list: one registry poll, with the API's fallback rules."""
    holder = ModelHolder(settings or load_serving_settings())
    holder.refresh()
    snapshot = holder.snapshot
    if snapshot.reason:
        logger.warning("scoring with the rule baseline: %s", snapshot.reason)
    return snapshot


def score_chain(
    data_dir: str | Path,
    out: str | Path,
    settings: ServingSettings | None = None,
    *,
    chunksize: int = 100_000,
    top_reasons: int = 3,
    csv_format: CsvFormat | None = None,
) -> tuple[MorningList, tuple[Path, Path]]:
    """Read the chain, score it with the production model, write the CSV and the HTML page.

    Parameters
    ----------
    data_dir : str or Path
        The six CSV exports.
    out : str or Path
        ``.csv`` or ``.html`` path; the other file is written beside it.
    settings : ServingSettings, optional
        Registry and model; defaults to the environment.
    chunksize : int
        Rows per CSV chunk when reading.
    top_reasons : int
        Contributions per row.
    csv_format : CsvFormat, optional
        Encoding and delimiter of the exports (default: the environment, else detected).

    Returns
    -------
    tuple
        ``(MorningList, (csv_path, html_path))``.
    """
    output_paths(out)  # a bad --out fails before the expensive steps
    chain = load_chain(data_dir, chunksize=chunksize, csv_format=csv_format)
    snapshot = resolve_snapshot(settings)
    morning = build_morning_list(chain, snapshot, top_reasons=top_reasons)
    return morning, write_morning_list(morning, out)
