"""What answers requests at one moment: a loaded model, or the rule baseline and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stockout_sk.clock import utc_now
from stockout_sk.contract import BRANCH_ID, DATE, ITEM_CODE, QUANTITY_FIELDS, RAW_FIELDS
from stockout_sk.pipeline import features_of, input_fields
from stockout_sk.serving.request import to_frame
from stockout_sk.vocabulary import Source

__all__ = ["Snapshot", "model_snapshot", "rule_snapshot"]

#: The warm-up row's date when the model carries no history.
_WARM_UP_DAY = "2024-01-01"


@dataclass(frozen=True)
class Snapshot:
    """What answers requests at one moment; never mutated, only replaced.

    Attributes
    ----------
    source : {"registry", "rule-baseline"}
    pipeline : imblearn.pipeline.Pipeline or None
        ``None`` for the rule baseline.
    version : str or None
        Registered version of the pipeline.
    threshold : float or None
        The classifier's decision threshold.
    model : dict
        :meth:`ProductionModel.metadata` of the pipeline (name, run id, trained-at, horizon,
        holdout metrics, …); empty for the rule baseline.
    reason : str or None
        Why the rule baseline answers (``None`` when the model does).
    loaded_at : str
        ISO time this snapshot was put in place.
    fields : tuple of str
        Input columns in the order the pipeline was fitted with.
    feature_names : tuple of str
        Names of the model-matrix columns (for explanations).
    history_last_day : int or None
        Days since 1970-01-01 of the freshest history the model carries.
    max_staleness_days : int or None
        The staleness policy's limit (:mod:`~stockout_sk.serving.policy`); ``None``: none.
    """

    source: str
    pipeline: Any = None
    version: str | None = None
    threshold: float | None = None
    model: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    loaded_at: str = ""
    fields: tuple[str, ...] = RAW_FIELDS
    feature_names: tuple[str, ...] = ()
    history_last_day: int | None = None
    max_staleness_days: int | None = None

    @property
    def history_end(self) -> str | None:
        """The freshest carried history day (ISO), or ``None``."""
        if self.history_last_day is None:
            return None
        return str(np.datetime64(int(self.history_last_day), "D"))


def rule_snapshot(reason: str, *, model: Snapshot | None = None) -> Snapshot:
    """A rule-baseline snapshot; ``model`` keeps the last loaded model's metadata for reports."""
    return Snapshot(
        source=Source.RULE_BASELINE,
        reason=reason,
        loaded_at=utc_now("milliseconds"),
        model=dict(model.model) if model is not None else {},
    )


def model_snapshot(production: Any, *, max_staleness_days: int | None = None) -> Snapshot:
    """A registry snapshot of a :class:`~stockout_sk.registry.ProductionModel`, warmed up.

    ``max_staleness_days`` is the staleness policy its answers follow
    (:class:`~stockout_sk.config.ServingSettings`, ``STOCKOUT_MAX_STALENESS_DAYS``).

    One prediction on a synthetic row runs before the snapshot is returned: it proves the model
    answers (a model that cannot is never swapped in) and moves LightGBM's first-call set-up out
    of the first real request.

    Raises
    ------
    Exception
        Whatever the pipeline raises on the warm-up row.
    """
    pipeline = production.pipeline
    fields = input_fields(pipeline)
    history = pipeline.named_steps.get("history") if hasattr(pipeline, "named_steps") else None
    last_day = getattr(history, "last_day_", None)
    feature_names = tuple(str(n) for n in features_of(pipeline).get_feature_names_out())
    snapshot = Snapshot(
        source=Source.REGISTRY,
        pipeline=pipeline,
        version=str(production.version),
        threshold=float(production.threshold),
        model=production.metadata(),
        loaded_at=utc_now("milliseconds"),
        fields=fields,
        feature_names=feature_names,
        history_last_day=None if last_day is None else int(last_day),
        max_staleness_days=max_staleness_days,
    )
    warm_day = snapshot.history_end or _WARM_UP_DAY
    row = {BRANCH_ID: "warm-up", ITEM_CODE: "warm-up", DATE: warm_day}
    row.update(dict.fromkeys(QUANTITY_FIELDS, 1.0))
    proba = pipeline.predict_proba(to_frame([row], fields))
    if proba.shape != (1, 2) or not np.isfinite(proba).all():
        raise ValueError(
            f"model version {production.version} answered the warm-up row with {proba!r}; "
            "expected one row of two finite probabilities"
        )
    return snapshot
