"""The morning-list job: read the chain, choose the model as the API does, write CSV and page.

Files written beside ``--out`` (``x.csv`` or ``x.html``): ``x.csv`` (the ranked list),
``x.html`` (the page), ``x_unscored.csv`` (what could not be scored, and why) and ``ingest/``
(``rejects/<file>.csv`` and ``validation_report.json``, from which the quarantined snapshot rows
are named). An existing list is replaced only when asked (``force``), and never an input file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from stockout_sk.config import CsvFormat, ServingSettings, load_serving_settings
from stockout_sk.ingest import load_chain
from stockout_sk.reports import spreadsheet_safe
from stockout_sk.schemas import SCHEMAS
from stockout_sk.scoring.morning_list import MorningList, build_morning_list
from stockout_sk.scoring.page import render_html
from stockout_sk.serving import ModelHolder, Snapshot

__all__ = [
    "INGEST_DIR",
    "check_outputs",
    "output_paths",
    "resolve_snapshot",
    "score_chain",
    "write_morning_list",
]

logger = logging.getLogger(__name__)

#: Folder beside the list that holds the rejects and the validation report of its ingestion.
INGEST_DIR = "ingest"


def output_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """The files ``--out`` stands for: ``x.csv`` → (``x.csv``, ``x.html``, ``x_unscored.csv``).

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
    csv_path = out.with_suffix(".csv")
    return csv_path, out.with_suffix(".html"), csv_path.with_name(f"{out.stem}_unscored.csv")


def _input_files(data_dirs: Iterable[str | Path]) -> set[Path]:
    found = set()
    for folder in data_dirs:
        folder = Path(folder)
        found |= {(folder / schema.filename).resolve() for schema in SCHEMAS.values()}
        if folder.is_dir():
            found |= {p.resolve() for p in folder.iterdir() if p.is_file()}
    return found


def check_outputs(
    out: str | Path, *, inputs: Iterable[str | Path] = (), force: bool = False
) -> tuple[Path, Path, Path]:
    """The files of ``--out`` (:func:`output_paths`), once it is safe to write them.

    Parameters
    ----------
    out : str or Path
        ``--out``.
    inputs : iterable of str or Path
        Data folders (``--data``): no file in them is ever overwritten, ``force`` or not.
    force : bool
        Replace a list that exists (yesterday's); without it an existing file is refused.

    Raises
    ------
    ValueError
        A bad suffix, an output that is an input file, or an existing output without ``force``;
        the message names the file and what to do.
    """
    paths = output_paths(out)
    protected = _input_files(inputs)
    for path in paths:
        if path.resolve() in protected:
            raise ValueError(
                f"--out {str(out)!r} would write {str(path)!r}, a file of the input folder: "
                "choose an --out outside --data (--force never overwrites an input file)"
            )
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise ValueError(
            f"--out {str(out)!r}: {', '.join(existing)} already exist(s); pass --force to "
            "replace the previous list, or choose another --out"
        )
    return paths


def write_morning_list(
    morning: MorningList, out: str | Path, *, inputs: Iterable[str | Path] = (), force: bool = True
) -> tuple[Path, Path]:
    """Write the ranked CSV, the page and the unscored CSV; return the CSV and page paths.

    Text cells go through :func:`~stockout_sk.reports.spreadsheet_safe`: a name that starts
    with ``=`` or ``@`` reaches a spreadsheet as text, never as a formula. The checks of
    :func:`check_outputs` apply (``force`` defaults to replacing: the caller checked earlier).
    """
    csv_path, html_path, unscored_path = check_outputs(out, inputs=inputs, force=force)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    spreadsheet_safe(morning.frame).to_csv(csv_path, index=False, float_format="%.6g")
    spreadsheet_safe(morning.unscored).to_csv(unscored_path, index=False)
    html_path.write_text(render_html(morning), encoding="utf-8")
    logger.info(
        "morning list: %d rows, %d at risk, %d not scored → %s, %s, %s",
        len(morning.frame),
        morning.at_risk,
        morning.not_scored,
        csv_path,
        html_path,
        unscored_path,
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
    force: bool = False,
) -> tuple[MorningList, tuple[Path, Path]]:
    """Read the chain, score it with the production model, write the CSV and the HTML page.

    Parameters
    ----------
    data_dir : str or Path
        The six CSV exports.
    out : str or Path
        ``.csv`` or ``.html`` path; the other file is written beside it, with
        ``<name>_unscored.csv`` and the ingestion's ``ingest/`` folder.
    settings : ServingSettings, optional
        Registry and model; defaults to the environment.
    chunksize : int
        Rows per CSV chunk when reading.
    top_reasons : int
        Reasons per row.
    csv_format : CsvFormat, optional
        Encoding and delimiter of the exports (default: the environment, else detected).
    force : bool
        Replace an existing list at ``out`` (never an input file).

    Returns
    -------
    tuple
        ``(MorningList, (csv_path, html_path))``.
    """
    # A bad or unsafe --out fails before the expensive steps.
    csv_path, _, _ = check_outputs(out, inputs=[data_dir], force=force)
    chain = load_chain(
        data_dir,
        out_dir=csv_path.parent / INGEST_DIR,
        chunksize=chunksize,
        csv_format=csv_format,
    )
    snapshot = resolve_snapshot(settings)
    morning = build_morning_list(chain, snapshot, top_reasons=top_reasons)
    return morning, write_morning_list(morning, out, inputs=[data_dir], force=force)
