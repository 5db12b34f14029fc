"""The production model as the API and monitoring load it: the pipeline and what it reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from stockout_sk.config import Settings
from stockout_sk.registry.loading import load_pipeline
from stockout_sk.registry.state import (
    HOLDOUT_METRICS,
    NoProductionModelError,
    production_version,
    tag_float,
)
from stockout_sk.registry.tracking import connect, resolve_tracking_uri
from stockout_sk.vocabulary import Alias, ServingMode, Tag, holdout_tag

__all__ = ["ProductionModel", "load_production"]


@dataclass
class ProductionModel:
    """The production pipeline and what the API reports about it.

    Attributes
    ----------
    pipeline : imblearn.pipeline.Pipeline
        Call ``pipeline.predict_proba(raw_rows)``.
    model_name, version, run_id, model_uri : str
    trained_at : str or None
        ISO timestamp of the training run.
    horizon : int or None
    threshold : float
        The decision threshold the classifier carries.
    metrics : dict
        Holdout metrics at registration (``f1``, ``precision``, ``recall``, ``pr_auc``,
        ``roc_auc``, ``brier``; ``None`` when unknown).
    serving_mode : str
        ``"model"`` or ``"rule-baseline"``.
    """

    pipeline: Any
    model_name: str
    version: str
    run_id: str | None
    model_uri: str
    trained_at: str | None
    horizon: int | None
    threshold: float
    metrics: dict[str, float | None]
    serving_mode: str

    def metadata(self) -> dict[str, Any]:
        """Everything but the pipeline, as a plain dict."""
        out = asdict(self)
        out.pop("pipeline")
        return out


def load_production(
    settings: Settings | None = None, *, alias: str = Alias.PRODUCTION
) -> ProductionModel:
    """Load the version holding ``alias`` (by its number, so a concurrent alias move is harmless).

    Parameters
    ----------
    settings : Settings, optional
    alias : str, default="production"

    Returns
    -------
    ProductionModel

    Raises
    ------
    NoProductionModelError
        The model is not registered or no version holds ``alias``.
    UnsafeModelError
        The version's artifact is not a skops model with our trusted types only.
    """
    client, settings = connect(settings)
    name = settings.model_name
    version = production_version(settings, alias=alias)
    if version is None:
        raise NoProductionModelError(
            f"registered model {name!r} in {resolve_tracking_uri(settings)} has no version with "
            f"alias {alias!r}; train one (`stockout-sk train --data DIR`) or promote one "
            "(`stockout-sk registry promote VERSION`)"
        )
    mv = client.get_model_version(name, version)
    model_uri = f"models:/{name}/{version}"
    # Never mlflow.sklearn.load_model: see stockout_sk.registry.loading.
    pipeline = load_pipeline(name, version, resolve_tracking_uri(settings))
    tags = mv.tags or {}
    horizon = tags.get(Tag.HORIZON)
    model = client.get_registered_model(name)
    return ProductionModel(
        pipeline=pipeline,
        model_name=name,
        version=version,
        run_id=mv.run_id,
        model_uri=model_uri,
        trained_at=tags.get(Tag.TRAINED_AT),
        horizon=int(horizon) if horizon else None,
        threshold=float(getattr(pipeline[-1], "threshold", 0.5)),
        metrics={k: tag_float(tags.get(holdout_tag(k))) for k in HOLDOUT_METRICS},
        serving_mode=model.tags.get(Tag.SERVING_MODE, ServingMode.MODEL),
    )
