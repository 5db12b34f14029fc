"""The reference distributions a model is judged against, read from its training run (MLflow I/O).

``reference/reference.json`` is computed on the training rows through the fitted pipeline. The
pipeline carries only a bounded tail of history (``history_days`` as-of days), so training rows
older than that tail get no history features and a score computed without them. The holdout rows
(``predictions/holdout.csv`` on the same run) were scored inside the carried history, exactly as
served: :func:`load_reference` summarises them with the same number of bins, and
:func:`~stockout_sk.monitoring.drift_table` uses them when the training reference of the model
features is mostly missing.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from stockout_sk.config import Settings, load_settings
from stockout_sk.contract import RAW_FIELDS, STRING_FIELDS
from stockout_sk.reference import REFERENCE_ARTIFACT, build_reference
from stockout_sk.registry import (
    HOLDOUT_PREDICTIONS_ARTIFACT,
    ProductionModel,
    resolve_tracking_uri,
)

__all__ = ["MissingReferenceError", "ModelReference", "load_reference"]

logger = logging.getLogger(__name__)


class MissingReferenceError(LookupError):
    """The model's training run holds no reference distributions to compare against."""


@dataclass
class ModelReference:
    """The reference distributions a model is compared against.

    Attributes
    ----------
    training : dict
        ``reference/reference.json`` of the training run
        (:func:`~stockout_sk.reference.build_reference` on the training rows).
    holdout : dict or None
        The same summary of the holdout rows (``predictions/holdout.csv``), binned with the same
        number of bins; ``None`` when the run has no holdout predictions.
    source : str
        Where ``training`` came from (``runs:/<id>/reference/reference.json`` or ``"given"``).
    """

    training: dict[str, Any]
    holdout: dict[str, Any] | None = None
    source: str = "given"

    @property
    def training_model_missing(self) -> float:
        """Median share of missing values over the model features of ``training``."""
        shares = [
            entry["missing"] / entry["n"]
            for entry in self.training.get("features", {}).values()
            if entry.get("source") == "model" and entry.get("n")
        ]
        return float(np.median(shares)) if shares else 0.0


def load_reference(
    model: ProductionModel,
    settings: Settings | None = None,
    *,
    client: mlflow.MlflowClient | None = None,
) -> ModelReference:
    """Read the reference of ``model`` from its training run, and summarise its holdout rows.

    Parameters
    ----------
    model : ProductionModel
        A registered version (its ``run_id`` and ``pipeline`` are used).
    settings : Settings, optional
        Tracking URI; defaults to the environment.
    client : MlflowClient, optional

    Returns
    -------
    ModelReference

    Raises
    ------
    MissingReferenceError
        The run has no ``reference/reference.json``.
    """
    settings = settings or load_settings()
    uri = resolve_tracking_uri(settings)
    client = client or mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    if not model.run_id:
        raise MissingReferenceError(
            f"{model.model_name} version {model.version} has no training run, so no reference "
            "distributions; pass reference= to run_cme or register the model with "
            "stockout_sk.registry.log_training"
        )
    with tempfile.TemporaryDirectory(prefix="stockout-reference-") as tmp:
        try:
            path = client.download_artifacts(model.run_id, REFERENCE_ARTIFACT, tmp)
        except (MlflowException, OSError) as error:
            raise MissingReferenceError(
                f"{model.model_name} version {model.version}: run {model.run_id} in {uri} has no "
                f"{REFERENCE_ARTIFACT!r} ({type(error).__name__}: {error}); it was not logged by "
                "stockout_sk.registry.log_training — retrain it (`stockout-sk train --data DIR`) "
                "or pass reference= to run_cme"
            ) from error
        training = json.loads(Path(path).read_text(encoding="utf-8"))
        holdout = None
        try:
            holdout_path = client.download_artifacts(
                model.run_id, HOLDOUT_PREDICTIONS_ARTIFACT, tmp
            )
        except (MlflowException, OSError) as error:
            logger.warning(
                "%s version %s: no %s on run %s (%s); drift uses reference.json only",
                model.model_name,
                model.version,
                HOLDOUT_PREDICTIONS_ARTIFACT,
                model.run_id,
                error,
            )
        else:
            holdout = _holdout_reference(model, Path(holdout_path), int(training.get("bins", 10)))
    return ModelReference(
        training=training,
        holdout=holdout,
        source=f"runs:/{model.run_id}/{REFERENCE_ARTIFACT}",
    )


def _holdout_reference(model: ProductionModel, path: Path, bins: int) -> dict[str, Any] | None:
    frame = pd.read_csv(path, dtype=dict.fromkeys(STRING_FIELDS, str), keep_default_na=False)
    missing = [c for c in (*RAW_FIELDS, "proba") if c not in frame.columns]
    if missing or frame.empty:
        logger.warning(
            "%s version %s: %s lacks %s or is empty; drift uses reference.json only",
            model.model_name,
            model.version,
            HOLDOUT_PREDICTIONS_ARTIFACT,
            missing,
        )
        return None
    X = frame.loc[:, list(RAW_FIELDS)]
    return build_reference(model.pipeline, X, frame["proba"].to_numpy(np.float64), bins=bins)
