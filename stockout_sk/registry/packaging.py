"""What a logged model carries so that it loads safely anywhere: types, requirements, schema, code.

The fitted pipeline is logged once with ``mlflow.sklearn.log_model`` in skops format, loadable
only with :data:`TRUSTED_TYPES`; our package travels in ``code_paths`` (:func:`package_dir`), the
requirements are pinned (:func:`model_pip_requirements`), and the signature and input example are
the raw request rows a client sends (:func:`model_signature`, :func:`input_example`).
"""

from __future__ import annotations

from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

import stockout_sk
from stockout_sk.contract import DATE, ID_FIELDS, QUANTITY_FIELDS, RAW_FIELDS, STRING_FIELDS

__all__ = [
    "MODEL_ARTIFACT",
    "MODEL_REQUIREMENTS",
    "TRUSTED_TYPES",
    "TRUSTED_TYPE_PREFIXES",
    "input_example",
    "model_pip_requirements",
    "model_signature",
    "package_dir",
    "untrusted_types",
]

#: The model's artifact path on its training run.
MODEL_ARTIFACT = "model"

#: Types skops may load besides its built-in safe set. Reviewed from
#: ``skops.io.get_untrusted_types(data=skops.io.dumps(fitted_pipeline))``; a test asserts a fitted
#: pipeline needs nothing else. Restricted to our package and the libraries the pipeline is built
#: from, with one standard-library exception noted below. Add a type only after reading why it is
#: in the fitted model.
TRUSTED_TYPES: tuple[str, ...] = (
    # LightGBM's sklearn wrapper keeps ``best_score_`` as ``defaultdict(OrderedDict)``: skops
    # stores the default factory as a type reference. A plain container, no code on load.
    "collections.OrderedDict",
    "imblearn.pipeline.Pipeline",
    "lightgbm.basic.Booster",
    "stockout_sk.features.calendar.CalendarFeatures",
    "stockout_sk.features.hashing.HashedIDs",
    "stockout_sk.features.history.HistoryFeatures",
    "stockout_sk.model.StockoutClassifier",
    "stockout_sk.sampling.ConditionalSampler",
)
#: Module prefixes a trusted type may come from (a test holds TRUSTED_TYPES to this).
TRUSTED_TYPE_PREFIXES: tuple[str, ...] = (
    "stockout_sk.",
    "imblearn.",
    "lightgbm.",
    "sklearn.",
    "numpy.",
    "pandas.",
)

#: Distributions the shipped model needs at load time, pinned to the installed versions.
MODEL_REQUIREMENTS: tuple[str, ...] = (
    "mlflow",
    "scikit-learn",
    "imbalanced-learn",
    "lightgbm",
    "pandas",
    "numpy",
    "scipy",
    "skops",
)


def model_pip_requirements() -> list[str]:
    """Pinned requirements of the logged model.

    Written out rather than inferred: MLflow infers requirements by loading the model in a
    subprocess on every ``log_model``.

    Returns
    -------
    list of str
        ``name==version`` for each of :data:`MODEL_REQUIREMENTS`, as installed.
    """
    return [f"{name}=={importlib_metadata.version(name)}" for name in MODEL_REQUIREMENTS]


def untrusted_types(pipeline: Any) -> list[str]:
    """Types skops would refuse to load from ``pipeline`` that are not in :data:`TRUSTED_TYPES`.

    Parameters
    ----------
    pipeline : object
        A fitted pipeline (anything skops can dump).

    Returns
    -------
    list of str
        Sorted; empty when the model loads with :data:`TRUSTED_TYPES`.
    """
    import skops.io  # imported where a model is written: ~1 s a CLI command may not need

    found = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    return sorted(set(found) - set(TRUSTED_TYPES))


def input_example(X: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """Raw request rows as a client sends them: IDs as strings, ``Date`` as an ISO string.

    Parameters
    ----------
    X : pandas.DataFrame
        Raw rows holding at least :data:`~stockout_sk.contract.RAW_FIELDS`.
    rows : int, default=5
        How many of the first rows to keep.

    Returns
    -------
    pandas.DataFrame
        The raw fields only, index reset, quantities as float64.
    """
    example = X.loc[:, list(RAW_FIELDS)].head(rows).reset_index(drop=True).copy()
    for column in ID_FIELDS:
        example[column] = example[column].astype(str)
    example[DATE] = pd.to_datetime(example[DATE]).dt.strftime("%Y-%m-%d")
    for column in QUANTITY_FIELDS:
        example[column] = example[column].astype(np.float64)
    return example


def model_signature() -> ModelSignature:
    """Input: the six raw request fields; output: ``predict_proba``'s two columns.

    IDs and ``Date`` are strings. The quantities are declared ``Any``: MLflow refuses to convert
    int64 to double ("not safe"), and JSON clients send ``120`` as an integer; the pipeline
    converts them to float itself and names the field when a value is not numeric.

    Returns
    -------
    mlflow.models.ModelSignature
    """
    inputs = Schema(
        [ColSpec("string", name) for name in STRING_FIELDS]
        + [ColSpec(AnyType(), name) for name in QUANTITY_FIELDS]
    )
    outputs = Schema([TensorSpec(np.dtype("float64"), (-1, 2), name="proba")])
    return ModelSignature(inputs=inputs, outputs=outputs)


def package_dir() -> Path:
    """The folder of the ``stockout_sk`` package, logged in ``code_paths`` with every model.

    Returns
    -------
    pathlib.Path
    """
    return Path(stockout_sk.__file__).resolve().parent
