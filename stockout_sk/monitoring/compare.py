"""The drift table: every monitored variable and the score against the model's reference.

Raw request fields are always compared with ``reference.json`` (the training rows). The model
features and the score are too, unless more than ``max_reference_missing`` of the reference's
model-feature values are missing (median over the model features): training rows older than the
history the pipeline carries get no history features, so that reference mostly describes rows the
model never serves that way. The holdout rows, scored inside the carried history exactly as
served, are then the reference of the model features and the score, binned the same way. The
report says which reference each variable used (column *reference*).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stockout_sk.config import MonitoringConfig
from stockout_sk.monitoring.drift import DriftResult, variable_drift
from stockout_sk.monitoring.model_reference import ModelReference
from stockout_sk.reference import PREDICTION

__all__ = ["drift_table"]

logger = logging.getLogger(__name__)


def drift_table(
    rows: pd.DataFrame,
    features: Mapping[str, ArrayLike] | pd.DataFrame,
    proba: ArrayLike,
    reference: ModelReference,
    config: MonitoringConfig | None = None,
) -> tuple[list[DriftResult], list[str]]:
    """Drift of every monitored variable of ``reference`` and of the score.

    Parameters
    ----------
    rows : DataFrame
        The monitoring rows' raw fields.
    features : mapping or DataFrame
        The model features of the same rows (``features_of(pipeline, "history").transform(rows)``).
    proba : array-like of float
        The model's probability per row.
    reference : ModelReference
    config : MonitoringConfig, optional

    Returns
    -------
    (list of DriftResult, list of str)
        The drift rows (reference order, ``prediction`` last) and notes on the reference used.

    Raises
    ------
    ValueError
        A monitored variable of the reference is neither a raw field nor produced by the model.
    """
    config = config or MonitoringConfig()
    training = reference.training
    notes: list[str] = []
    model_ref, model_label = training, "training"
    missing_share = reference.training_model_missing
    if missing_share > config.max_reference_missing:
        if reference.holdout is not None:
            model_ref, model_label = reference.holdout, "holdout"
            notes.append(
                f"reference.json: the model features are missing for a median "
                f"{missing_share:.0%} of its {training.get('rows', '?')} training rows (rows older "
                "than the history the model carries get none), so the model features and the "
                f"score are compared with the {reference.holdout.get('rows', '?')} holdout rows "
                "(predictions/holdout.csv, scored exactly as served) instead"
            )
        else:
            notes.append(
                f"reference.json: the model features are missing for a median {missing_share:.0%}"
                " of the training rows and the run has no holdout predictions: drift of the model "
                "features and of the score is measured against that reference regardless and may "
                "overstate the shift"
            )
            logger.warning("%s", notes[-1])

    results = []
    for name, entry in training.get("features", {}).items():
        source = entry.get("source", "raw")
        if source == "raw":
            if name not in rows.columns:
                raise ValueError(
                    f"the reference monitors raw field {name!r}, which the monitoring rows lack; "
                    f"columns: {list(rows.columns)}"
                )
            values, ref_entry, label = rows[name], entry, "training"
        else:
            if name not in features:
                raise ValueError(
                    f"the reference monitors model feature {name!r}, which the model's calendar "
                    f"and history steps do not produce; they produce {list(features.keys())}"
                )
            ref_entry = model_ref.get("features", {}).get(name, entry)
            label = model_label if ref_entry is not entry else "training"
            values = features[name]
        results.append(
            variable_drift(
                name,
                ref_entry,
                np.asarray(values, dtype=np.float64),
                config,
                source=source,
                reference=label,
            )
        )
    score_ref = model_ref.get(PREDICTION) or training.get(PREDICTION)
    if score_ref is None:
        raise ValueError(
            f"the reference ({reference.source}) has no {PREDICTION!r} entry; it was not written "
            "by stockout_sk.reference.build_reference"
        )
    results.append(
        variable_drift(
            PREDICTION,
            score_ref,
            proba,
            config,
            source="score",
            reference=model_label if score_ref is model_ref.get(PREDICTION) else "training",
        )
    )
    return results, notes
