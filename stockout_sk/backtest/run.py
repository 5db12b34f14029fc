"""The rolling-origin backtest itself: :func:`run_backtest`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from stockout_sk.backtest.fold import build_table, origins_of, run_fold
from stockout_sk.backtest.report import BacktestReport
from stockout_sk.config import ModelConfig
from stockout_sk.params import check_finite, check_int

__all__ = ["DEFAULT_TOP_SHARE", "run_backtest"]

logger = logging.getLogger(__name__)

#: The share of the ranked list ``recall_at_top`` reads by default (the top 5 %).
DEFAULT_TOP_SHARE = 0.05


def run_backtest(
    chain,
    config: ModelConfig | None = None,
    *,
    folds: int = 6,
    window_days: int = 1,
    step_days: int = 7,
    origins: Sequence[pd.Timestamp | str] | None = None,
    top_share: float = DEFAULT_TOP_SHARE,
    plain: bool = True,
    out_dir: Path | None = None,
    data: str = "",
    progress: Callable[[str], None] | None = None,
) -> BacktestReport:
    """Train on each rolling origin and score its morning list against the days after it.

    Parameters
    ----------
    chain : ChainData
        The whole history (:func:`stockout_sk.ingest.load_chain`).
    config : ModelConfig, optional
        The product's settings (windows, threshold method, refit …).
    folds : int, default 6
        Origins, when ``origins`` is not given: the last ``folds``, ``step_days`` apart, up to
        the last as-of day whose label has matured (:func:`plan_origins`).
    window_days : int, default 1
        As-of days scored from each origin on: ``1`` is the morning list of the export's last
        day (what a daily retrain serves); more also scores the next days with the same model,
        whose history then lags by up to ``window_days − 1`` days.
    step_days : int, default 7
        Days between two planned origins.
    origins : sequence of dates, optional
        Explicit export end days (e.g. "what if we had exported 60 days").
    top_share : float, default 0.05
        ``recall_at_top`` reads this share of the ranked list.
    plain : bool, default True
        Also fit and score the plain LightGBM.
    out_dir : Path, optional
        Write ``backtest.json``, ``backtest.md`` and ``backtest.png`` there.
    data : str
        Where the chain came from, for the report.
    progress : callable, optional
        Called with one line per step (default: the module's logger).

    Returns
    -------
    BacktestReport

    Raises
    ------
    ValueError
        Bad arguments, an origin whose export is below the windows' floor
        (:class:`~stockout_sk.evaluate.NotEnoughHistoryError`, naming the origin), or an origin
        without matured rows after it.
    """
    config = config or ModelConfig()
    folds = check_int(folds, "folds", caller="run_backtest")
    window_days = check_int(window_days, "window_days", caller="run_backtest")
    top_share = check_finite(top_share, "top_share", caller="run_backtest")
    if not 0.0 < top_share <= 1.0:
        raise ValueError(f"run_backtest: top_share must be in (0, 1], got {top_share!r}.")
    dataset = build_table(chain, config)
    chosen = origins_of(
        dataset, folds=folds, window_days=window_days, step_days=step_days, origins=origins
    )
    say = progress or logger.info
    say(
        f"backtest: {len(chosen)} origin(s) {', '.join(str(o.date()) for o in chosen)}; each "
        f"trains as `stockout-sk train` would on the export ending that day and scores "
        f"{window_days} as-of day(s) from it against the {config.horizon} days that follow"
    )
    results = []
    for number, origin in enumerate(chosen, start=1):
        try:
            results.append(
                run_fold(
                    number,
                    origin,
                    chain,
                    dataset,
                    config,
                    window_days=window_days,
                    top_share=top_share,
                    plain=plain,
                    progress=progress,
                )
            )
        except ValueError as error:
            where = f"backtest fold {number} (origin {origin.date()})"
            raise type(error)(f"{where}: {error}") from error
    report = BacktestReport(
        folds=results,
        horizon=config.horizon,
        window_days=window_days,
        top_share=top_share,
        refit=config.refit,
        data=data,
    )
    if out_dir is not None:
        report.write(Path(out_dir))
    return report
