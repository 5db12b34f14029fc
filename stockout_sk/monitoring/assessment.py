"""Assess: the matured rows of a new period, scored as served, judged (no registry change).

Monitoring refits nothing. It scores the rows with the production pipeline as it is, exactly as
``POST /predict`` would: the history step carries flows only up to the end of its training data,
so a row dated later uses the latest history the model has (its ``staleness_days``), while the
row's own quantities are fresh. The monitored model features (velocity, days of cover, …) come
from the same fitted ``calendar`` and ``history`` steps the model uses. A model whose carried
history is stale is judged with that staleness, because that is what its users get.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.config import MonitoringConfig
from stockout_sk.contract import DATE, KEY_FIELDS, LABEL, RAW_FIELDS
from stockout_sk.evaluate import classification_metrics, rule_baseline
from stockout_sk.ingest import ChainData
from stockout_sk.jsonable import jsonable, plain
from stockout_sk.labels import build_dataset
from stockout_sk.monitoring.compare import drift_table
from stockout_sk.monitoring.model_reference import ModelReference
from stockout_sk.monitoring.report import MonitoringReport
from stockout_sk.monitoring.rolling import rolling_evaluation
from stockout_sk.monitoring.verdict import judge
from stockout_sk.pipeline import features_of
from stockout_sk.registry import ProductionModel

__all__ = ["assess"]

logger = logging.getLogger(__name__)


def assess(
    data: ChainData,
    model: ProductionModel,
    reference: ModelReference,
    config: MonitoringConfig | None = None,
    *,
    data_source: str = "ChainData",
) -> MonitoringReport:
    """Score the matured rows of ``data`` as served and judge the model (no registry change).

    Parameters
    ----------
    data : ChainData
        The new period (typically the next weeks of the same chain).
    model : ProductionModel
        The model to judge (``registry.load_production``).
    reference : ModelReference
        Its reference distributions (:func:`~stockout_sk.monitoring.load_reference`).
    config : MonitoringConfig, optional
    data_source : str
        Where the data came from (for the report).

    Returns
    -------
    MonitoringReport
        ``decision`` is ``ok``, ``warn`` or — until :func:`~stockout_sk.monitoring.respond`
        plans it — ``act``.

    Raises
    ------
    ValueError
        No label has matured in ``data`` (the period is not longer than the horizon).
    """
    config = config or MonitoringConfig()
    pipeline = model.pipeline
    history = pipeline.named_steps.get("history") if hasattr(pipeline, "named_steps") else None
    horizon = model.horizon or getattr(history, "horizon", None)
    notes: list[str] = []
    if horizon is None:
        horizon = 7
        notes.append("the model records no horizon: labels use N = 7 days")
    dataset = build_dataset(data, horizon=int(horizon))
    frame = dataset.frame
    if frame.empty:
        raise ValueError(
            f"no label has matured in {data_source} (history {data.history_start.date()}.."
            f"{data.history_end.date()}, horizon {horizon} days): monitoring needs at least "
            f"{int(horizon) + 1} days of data; wait for more days or pass a longer period"
        )
    if history is not None and hasattr(history, "start_day_"):
        # Rows dated before the history the model carries cannot be scored as a request would
        # be today (their history features are unknown): judging the model or its inputs on
        # them measures that gap, not drift. They are left out and counted.
        exact_from = pd.Timestamp(
            np.datetime64(int(history.start_day_) + max(history.windows) - 1, "D")
        )
        older = frame[DATE] < exact_from
        if older.all():
            raise ValueError(
                f"every matured row of {data_source} is dated before {exact_from.date()}, the "
                "first day the production model's carried history covers: monitor a period "
                "after the model's training data (the next days of the same chain)"
            )
        if older.any():
            notes.append(
                f"{int(older.sum()):,} of {len(frame):,} matured rows are dated before "
                f"{exact_from.date()}, outside the history the model carries; they are not "
                "judged"
            )
            frame = frame.loc[~older].reset_index(drop=True)
    X = frame.loc[:, list(RAW_FIELDS)]
    y = frame[LABEL].to_numpy()
    # As the API scores: the production pipeline as it is, nothing refitted (module docstring).
    proba = np.asarray(pipeline.predict_proba(X)[:, 1], dtype=np.float64)
    features = features_of(pipeline, "history").transform(X)

    rolling = rolling_evaluation(
        frame,
        proba,
        threshold=model.threshold,
        window_days=config.window_days,
        min_positives=config.min_window_positives,
    )
    overall = {
        "model": jsonable(classification_metrics(y, proba, threshold=model.threshold)),
        "rule": jsonable(rule_baseline(X).metrics(y)),
    }
    drift, drift_notes = drift_table(X, features, proba, reference, config)
    notes += drift_notes

    data_info = _data_info(frame, history, data_source)
    holdout_f1 = _holdout_f1(model)
    verdict = judge(
        drift,
        rolling,
        holdout_f1=holdout_f1,
        config=config,
        training_end=data_info["history_end"],
        overlap_rows=data_info["rows_within_training_history"],
    )
    report = MonitoringReport(
        model_name=model.model_name,
        model_version=str(model.version),
        model_run_id=model.run_id,
        threshold=float(model.threshold),
        horizon=int(horizon),
        holdout_f1=holdout_f1,
        data=data_info,
        rolling=rolling,
        overall=overall,
        drift=drift,
        verdict=verdict,
        config=config,
        decision=verdict.level,
        reasons=verdict.reasons,
        notes=notes + verdict.notes,
    )
    report.fingerprint = _fingerprint(report)
    logger.info(
        "%s version %s on %s rows (%s..%s): %s — %s",
        model.model_name,
        model.version,
        f"{len(frame):,}",
        data_info["first_asof"],
        data_info["last_asof"],
        verdict.level,
        "; ".join(verdict.reasons),
    )
    return report


def _data_info(frame: pd.DataFrame, history: Any, source: str) -> dict[str, Any]:
    dates = pd.to_datetime(frame[DATE])
    info: dict[str, Any] = {
        "source": source,
        "rows": len(frame),
        "positives": int(frame[LABEL].sum()),
        "keys": int(frame[list(KEY_FIELDS)].drop_duplicates().shape[0]),
        "first_asof": str(dates.min().date()),
        "last_asof": str(dates.max().date()),
        "history_end": None,
        "staleness_days": None,
        "rows_within_training_history": 0,
        "fingerprint": hashlib.sha256(
            pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        ).hexdigest()[:32],
    }
    if history is not None and hasattr(history, "history_end_"):
        stale = np.asarray(history.staleness_days(frame.loc[:, list(RAW_FIELDS)]), dtype=float)
        info["history_end"] = str(pd.Timestamp(history.history_end_).date())
        info["staleness_days"] = {
            "min": plain(np.nanmin(stale)),
            "median": plain(np.nanmedian(stale)),
            "max": plain(np.nanmax(stale)),
        }
        info["rows_within_training_history"] = int((stale <= 0).sum())
    return info


def _holdout_f1(model: ProductionModel) -> float | None:
    value = (model.metrics or {}).get("f1")
    return None if value is None else float(value)


def _fingerprint(report: MonitoringReport) -> str:
    state = {
        "model": report.model_name,
        "version": report.model_version,
        "data": report.data["fingerprint"],
        "config": report.config.to_dict(),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:32]
