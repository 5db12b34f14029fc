"""The column container passed between feature steps.

The feature transformers take a DataFrame of raw rows. Between themselves they pass a
:class:`Columns` — an ordered ``dict`` of equal-length numpy arrays — because building a pandas
DataFrame per step costs more than all the feature arithmetic of a single-row request. It is a plain
mapping, so ``pd.DataFrame(columns)`` makes a frame of it, and with
``set_output(transform="pandas")`` scikit-learn turns every step's output into a DataFrame named by
``get_feature_names_out``. Every step accepts either container.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

#: Up to this many rows :func:`as_columns` converts a DataFrame in one go.
_SMALL_FRAME_ROWS = 64


class Columns(dict):
    """Ordered mapping of column name → 1-D numpy array, all of one length.

    Attributes
    ----------
    index : pd.Index or None
        The row index of the DataFrame the rows came from, kept for ``to_frame``.
    factorized : dict
        ``name → (array, codes, uniques)``: factorisations already computed for this batch (see
        :func:`factorize`). Steps that pass columns through share the dict with their output.
    """

    def __init__(
        self, data=(), *, index: pd.Index | None = None, factorized: dict | None = None
    ) -> None:
        super().__init__(data)
        self.index = index
        self.factorized = {} if factorized is None else factorized

    @classmethod
    def following(cls, X, data=()) -> Columns:
        """A step's output built from its input ``X``: same row index, shared factorisations."""
        return cls(
            data,
            index=row_index(X),
            factorized=X.factorized if isinstance(X, Columns) else None,
        )

    @property
    def columns(self) -> list[str]:
        """Column names in order (like ``DataFrame.columns``)."""
        return list(self.keys())

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``, so row-count helpers work on it as on a frame."""
        first = next(iter(self.values()), None)
        return (0 if first is None else len(first), len(self))

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame of the columns (with the original index when known)."""
        index = self.index if self.index is not None and len(self.index) == self.shape[0] else None
        return pd.DataFrame(dict(self), index=index, copy=False)


def is_frame_like(X) -> bool:
    """A DataFrame or a :class:`Columns`."""
    return isinstance(X, pd.DataFrame | Columns)


def column(X, name: str) -> np.ndarray:
    """Column ``name`` of a DataFrame or :class:`Columns` as a numpy array."""
    values = X[name]
    return values if isinstance(values, np.ndarray) else values.to_numpy()


def column_names(X) -> list[str]:
    """Column names of a DataFrame or :class:`Columns`."""
    if isinstance(X, Columns):
        return list(X.keys())
    names = X.columns.tolist()
    return names if all(isinstance(c, str) for c in names) else [str(c) for c in names]


def as_columns(X) -> Columns:
    """A :class:`Columns` view of a DataFrame or :class:`Columns`.

    Small frames (a request) go through one ``to_numpy(dtype=object)``, which costs a fraction
    of reading each column as a Series; values then stay objects and are cast where used
    (:func:`float_column`). Larger frames are read column by column, keeping their dtypes.
    """
    if isinstance(X, Columns):
        return X
    names = column_names(X)
    if len(X) <= _SMALL_FRAME_ROWS:
        values = X.to_numpy(dtype=object)
        return Columns({name: values[:, i] for i, name in enumerate(names)}, index=X.index)
    return Columns({name: X[name].to_numpy() for name in names}, index=X.index)


def factorize(X, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of column ``name``: ``(codes, uniques)``, computed once per batch.

    The raw ID columns pass through the feature steps unchanged, and both the history step and
    the hashing step need their distinct values. On a batch of scattered Python strings
    factorising is the costliest thing either does (it is bound by memory latency),
    so a :class:`Columns` remembers the result for the very array it was computed on and passes
    it on to the next step's output (:meth:`Columns.following`).

    ``codes`` are int64 indices into ``uniques`` (an object array of distinct values, in no
    promised order); a missing value (None, NaN) has code ``-1``. The memo trusts that a column
    array is not changed in place once factorised (no feature step does; replace the array
    instead, as ``X[name] = new`` does).
    """
    values = column(X, name)
    memo = X.factorized if isinstance(X, Columns) else None
    if memo is not None:
        hit = memo.get(name)
        if hit is not None and hit[0] is values:
            return hit[1], hit[2]
    codes, uniques = pd.factorize(values)
    result = (np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object))
    if memo is not None:
        memo[name] = (values, *result)
    return result


def remember_factorized(X: Columns, name: str, codes: np.ndarray, uniques: np.ndarray) -> None:
    """Record a factorisation of ``X[name]`` a step got for free (see :func:`factorize`)."""
    X.factorized[name] = (X[name], np.asarray(codes, dtype=np.int64), uniques)


def ensure_fitted(estimator, attribute: str) -> None:
    """``check_is_fitted`` for the request path: one attribute test instead of a tag lookup."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )


def n_rows(X) -> int:
    """Number of rows of a DataFrame, :class:`Columns`, array or array-like."""
    return X.shape[0] if hasattr(X, "shape") else np.asarray(X).shape[0]


def row_index(X) -> pd.Index | None:
    """The row index to carry forward."""
    return X.index if isinstance(X, pd.DataFrame | Columns) else None


def float_column(X, name: str) -> np.ndarray:
    """Column ``name`` as float64 (pandas NA → NaN); a clear error when it is not numeric."""
    values = X[name]
    try:
        if isinstance(values, np.ndarray):
            if values.dtype == object:
                # Object columns come from as_columns: None / pd.NA mean missing.
                values = np.where(pd.isna(values), np.nan, values)
            return values.astype(np.float64, copy=False)
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"column {name!r} must be numeric; got values like {list(values[:3])!r}"
        ) from exc


def check_input(X, estimator, required: tuple[str, ...]) -> None:
    """Dataframe-only transformers: say clearly what was expected."""
    name = type(estimator).__name__
    if not is_frame_like(X):
        raise TypeError(
            f"{name} expects a pandas DataFrame of raw request rows, got {type(X).__name__}; "
            "build one with pd.DataFrame(records)"
        )
    names = column_names(X)
    missing = [c for c in required if c not in names]
    if missing:
        raise ValueError(f"{name}: missing required column(s) {missing}; got columns {names}")


def check_same_columns(X, estimator):
    """Same columns as in ``fit`` (any order: JSON objects have none); reordered to fit's."""
    seen = [str(c) for c in estimator.feature_names_in_]
    got = column_names(X)
    if got == seen:
        return X
    if sorted(got) != sorted(seen):
        missing = [c for c in seen if c not in got]
        extra = [c for c in got if c not in seen]
        raise ValueError(
            f"{type(estimator).__name__}: the columns differ from those seen in fit: "
            f"missing {missing}, unexpected {extra}. Send exactly the fields {seen}"
        )
    if isinstance(X, Columns):
        return Columns({c: X[c] for c in seen}, index=X.index, factorized=X.factorized)
    return X[seen]
