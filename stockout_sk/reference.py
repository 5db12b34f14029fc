"""Training-time reference distributions that drift monitoring compares live traffic against.

:func:`build_reference` summarises, for the rows a model was trained on, the monitored inputs (three
raw request fields and a few model features computed by the fitted pipeline's own ``calendar`` and
``history`` steps) and the predicted probability. Each is binned on quantile edges of the reference
values (10 bins by default, duplicated edges dropped) with the share of rows per bin, so monitoring
can compute PSI / KL of new rows with :func:`bin_counts` on exactly the same bins. The result is
plain JSON, logged next to the model as ``reference/reference.json``.

Binning convention (shared with :func:`bin_counts`): the first and last bins are open-ended (a new
value below the reference minimum counts in the first bin, above the maximum in the last one,
``±inf`` too); NaN is never binned but counted as ``missing``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stockout_sk.contract import DATE, QUANTITY_FIELDS
from stockout_sk.features.names import MONITORED_FEATURES
from stockout_sk.params import check_int
from stockout_sk.pipeline import features_of

__all__ = [
    "MODEL_FEATURES",
    "PREDICTION",
    "RAW_NUMERIC_FIELDS",
    "REFERENCE_ARTIFACT",
    "bin_counts",
    "build_reference",
    "reference_distribution",
]

#: Version of the JSON layout below; bump it when monitoring must read it differently.
SCHEMA_VERSION = 1
#: Where :mod:`stockout_sk.registry` logs the reference on the training run.
REFERENCE_ARTIFACT = "reference/reference.json"
#: Raw numeric request fields that are monitored.
RAW_NUMERIC_FIELDS: tuple[str, ...] = QUANTITY_FIELDS
#: Model features (calendar + history: ``features_of(pipeline, "history")``) that are monitored.
MODEL_FEATURES: tuple[str, ...] = MONITORED_FEATURES
#: Key of the predicted-probability distribution.
PREDICTION = "prediction"


def reference_distribution(values: ArrayLike, *, bins: int = 10) -> dict[str, Any]:
    """Quantile bins of one variable and the share of rows in each.

    Parameters
    ----------
    values : array-like of float
        Reference values; NaN counts as missing, ``±inf`` falls in the end bins.
    bins : int, default=10
        Number of quantile bins before duplicated edges are dropped (a variable with few distinct
        values gets fewer bins).

    Returns
    -------
    dict
        ``edges`` (ascending, ``len(counts) + 1`` finite values: min, the inner quantiles, max),
        ``counts`` and ``proportions`` per bin (proportions of the non-missing rows), ``n`` (all
        rows), ``missing`` (NaN rows), and ``mean``/``std``/``min``/``max`` of the finite values
        (``None`` when there are none).

    Examples
    --------
    >>> ref = reference_distribution([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], bins=5)
    >>> ref["edges"], ref["counts"]
    ([1.0, 2.8, 4.6, 6.4, 8.2, 10.0], [2, 2, 2, 2, 2])
    """
    bins = check_int(bins, "bins", caller="reference_distribution", type_error=ValueError)
    array = _as_float(values, "values")
    finite = array[np.isfinite(array)]
    missing = int(np.isnan(array).sum())
    if finite.size:
        edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))
        if edges.size == 1:  # a constant: one bin [v, v]
            edges = np.repeat(edges, 2)
    else:
        # No finite value to place edges on (all NaN / inf): one open-ended bin keeps the shape.
        edges = np.array([0.0, 0.0])
    counts = bin_counts(array, edges.tolist())
    binned = int(counts.sum())
    return {
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "proportions": [float(c / binned) if binned else 0.0 for c in counts],
        "n": int(array.size),
        "missing": missing,
        "mean": _number(finite.mean()) if finite.size else None,
        "std": _number(finite.std()) if finite.size else None,
        "min": _number(finite.min()) if finite.size else None,
        "max": _number(finite.max()) if finite.size else None,
    }


def bin_counts(values: ArrayLike, edges: list[float]) -> np.ndarray:
    """Count values in the bins defined by ``edges`` (end bins open-ended, NaN skipped).

    Parameters
    ----------
    values : array-like of float
        New values (requests, a monitoring window).
    edges : list of float
        ``edges`` of a :func:`reference_distribution` entry.

    Returns
    -------
    numpy.ndarray of int
        ``len(edges) - 1`` counts, aligned with the reference ``proportions``.
    """
    if len(edges) < 2:
        raise ValueError(
            f"edges must hold at least 2 values (one bin), got {list(edges)!r}; pass the 'edges' "
            "of a reference_distribution() entry"
        )
    array = _as_float(values, "values")
    array = array[~np.isnan(array)]
    inner = np.asarray(edges[1:-1], dtype=np.float64)
    # side="right": a value equal to an inner edge belongs to the bin that edge opens, as with
    # np.histogram; the last edge (the maximum) stays in the last bin because it is not an inner
    # edge.
    index = np.searchsorted(inner, array, side="right")
    return np.bincount(index, minlength=len(edges) - 1).astype(np.int64)


def build_reference(
    pipeline: Any,
    X_train_raw: pd.DataFrame,
    proba: ArrayLike,
    *,
    bins: int = 10,
    raw_fields: tuple[str, ...] = RAW_NUMERIC_FIELDS,
    model_features: tuple[str, ...] = MODEL_FEATURES,
) -> dict[str, Any]:
    """Reference distributions of the monitored inputs and of the predicted probability.

    Parameters
    ----------
    pipeline : imblearn.pipeline.Pipeline
        The fitted pipeline; its first two steps (calendar, history) compute the model features
        exactly as at serving time.
    X_train_raw : DataFrame
        The raw request fields of the reference rows (the holdout rows: inside the history the
        fitted pipeline carries, so scored exactly as served).
    proba : array-like of float
        Predicted positive-class probability for the same rows, in the same order.
    bins : int, default=10
        Quantile bins per variable (before de-duplication of edges).
    raw_fields, model_features : tuple of str
        What to monitor; the defaults are :data:`RAW_NUMERIC_FIELDS` and :data:`MODEL_FEATURES`.

    Returns
    -------
    dict
        JSON-serialisable::

            {"schema_version": 1, "created_at": ISO-8601, "rows": n, "bins": 10,
             "date_range": {"start", "end"},
             "features": {name: {"source": "raw" | "model", **reference_distribution}},
             "prediction": {**reference_distribution}}

    Raises
    ------
    ValueError
        A requested raw field or model feature is missing, or ``proba`` has the wrong length.
    """
    if not isinstance(X_train_raw, pd.DataFrame):
        raise TypeError(
            f"X_train_raw must be a pandas DataFrame of raw request rows, got "
            f"{type(X_train_raw).__name__}"
        )
    p = _as_float(proba, "proba")
    if p.shape != (len(X_train_raw),):
        raise ValueError(
            f"proba has shape {p.shape} but X_train_raw has {len(X_train_raw)} rows; pass one "
            "positive-class probability per row (predict_proba(X)[:, 1])"
        )
    missing_raw = [c for c in raw_fields if c not in X_train_raw.columns]
    if missing_raw:
        raise ValueError(
            f"X_train_raw lacks the monitored raw field(s) {missing_raw}; columns found: "
            f"{list(X_train_raw.columns)}"
        )
    features = features_of(pipeline, "history").transform(X_train_raw)
    features = features if isinstance(features, pd.DataFrame) else pd.DataFrame(features)
    missing_model = [c for c in model_features if c not in features.columns]
    if missing_model:
        raise ValueError(
            f"the pipeline's calendar/history steps do not produce {missing_model}; they produce "
            f"{list(features.columns)}. Update MONITORED_FEATURES in stockout_sk.features.names"
        )

    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": len(X_train_raw),
        "bins": bins,
        "date_range": _date_range(X_train_raw),
        "binning": "quantile edges; end bins open-ended; NaN counted as missing, not binned",
        "features": {},
    }
    for name in raw_fields:
        out["features"][name] = {
            "source": "raw",
            **reference_distribution(X_train_raw[name], bins=bins),
        }
    for name in model_features:
        out["features"][name] = {
            "source": "model",
            **reference_distribution(features[name], bins=bins),
        }
    out[PREDICTION] = reference_distribution(p, bins=bins)
    return out


def _date_range(X: pd.DataFrame) -> dict[str, str | None]:
    if DATE not in X.columns or X.empty:
        return {"start": None, "end": None}
    dates = pd.to_datetime(X[DATE], errors="coerce")
    if dates.isna().all():
        return {"start": None, "end": None}
    return {"start": str(dates.min().date()), "end": str(dates.max().date())}


def _as_float(values: ArrayLike, name: str) -> np.ndarray:
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).reshape(-1))
    try:
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must be numeric, got dtype {series.dtype!s} ({error}); pass numbers"
        ) from error


def _number(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
