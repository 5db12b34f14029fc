"""Imbalance handling as an imblearn sampler step that acts only when the minority class is rare.

Samplers act in ``fit`` only (imblearn semantics): at prediction time the pipeline skips this step.
The resampled rows keep their original (time) order, so anything downstream that relies on row
order — nothing does today, but a time-ordered validation would — stays correct.
"""

from __future__ import annotations

import numpy as np
from imblearn.base import SamplerMixin
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_consistent_length,
    validate_data,
)

from stockout_sk.features.columns import Columns, is_frame_like

STRATEGIES = ("under", "over")

__all__ = [
    "STRATEGIES",
    "ConditionalSampler",
    "minority_share",
    "minority_threshold_for",
    "resampling_applies",
    "share_resamples",
    "unresampled_probability",
]


def minority_share(y) -> float:
    """Share of the rarer class in ``y`` (0.0 for no rows, 1.0 for a single class).

    Examples
    --------
    >>> minority_share([0, 0, 0, 1])
    0.25
    """
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return float(counts.min() / counts.sum()) if len(counts) else 0.0


def resampling_applies(y, *, minority_threshold: float, ratio: float) -> bool:
    """Whether :class:`ConditionalSampler` resamples ``y``: two classes, the minority's share
    below ``minority_threshold`` and its minority/majority ratio below ``ratio`` (at or above
    it, resampling would be a no-op or an error).

    Examples
    --------
    >>> resampling_applies([0] * 9 + [1], minority_threshold=0.2, ratio=0.5)
    True
    >>> resampling_applies([0] * 3 + [1], minority_threshold=0.2, ratio=0.5)
    False
    """
    y = np.asarray(y)
    if len(np.unique(y)) != 2:
        return False
    return share_resamples(minority_share(y), minority_threshold=minority_threshold, ratio=ratio)


def share_resamples(share: float, *, minority_threshold: float, ratio: float) -> bool:
    """:func:`resampling_applies` from the minority share of rows known to hold both classes
    (the cluster decides from label counts, never holding every label).

    Examples
    --------
    >>> share_resamples(0.1, minority_threshold=0.2, ratio=0.5)
    True
    """
    return bool(share < minority_threshold and share / (1 - share) < ratio)


def minority_threshold_for(y, *, applies: bool, minority_threshold: float) -> float:
    """A ``minority_threshold`` under which the sampler takes the decision ``applies`` on ``y``.

    Used to give every fit of one training the decision of the model that is kept. Resampling
    moves the probability scale (undersampling the majority to a 1:2 ratio raises every
    score), and the decision flips where a chain's positive share sits near
    ``minority_threshold``: a threshold chosen on folds fitted without resampling, carried by a
    final model fitted with it (or the other way round), flags a very different share of rows.
    ``minority_threshold`` is returned when it already gives ``applies``; otherwise the largest
    allowed value (0.5) to resample, or ``y``'s own minority share (``share < share`` is false)
    not to. Resampling still needs the minority/majority ratio below the sampler's ``ratio``.

    Examples
    --------
    >>> minority_threshold_for([0] * 3 + [1], applies=True, minority_threshold=0.2)
    0.5
    >>> minority_threshold_for([0] * 9 + [1], applies=False, minority_threshold=0.2)
    0.1
    """
    share = minority_share(y)
    if (share < minority_threshold) == applies:
        return minority_threshold
    if applies:
        return 0.5
    return share if share > 0 else minority_threshold


def unresampled_probability(probability, *, share: float, ratio: float) -> np.ndarray:
    """Probabilities of a model fitted on resampled rows, put back on the rows' own scale.

    Resampling to a minority/majority ``ratio`` multiplies every prediction's odds by
    ``ratio / (share / (1 - share))`` (the prior shift; Dal Pozzolo et al., 2015, "Calibrating
    probability with undersampling for unbalanced classification"); this divides it out.
    ``share`` is the minority's share of the rows before resampling (the sampler's
    ``minority_share_``). The minority class is taken to be the positive one.

    Examples
    --------
    >>> unresampled_probability([0.5], share=0.1, ratio=0.5).round(4).tolist()
    [0.1818]
    """
    p = np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)
    factor = (share / (1 - share)) / ratio
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = p / (1 - p)
        out = odds * factor / (1 + odds * factor)
    return np.where(p >= 1, 1.0, out)


class ConditionalSampler(SamplerMixin, BaseEstimator):
    """Random under- or over-sampling, applied only below a minority share.

    Parameters
    ----------
    minority_threshold : float, default=0.2
        Resample only when the minority class is less than this share of the rows.
    strategy : {"under", "over"}, default="under"
        ``"under"`` drops majority rows (:class:`~imblearn.under_sampling.RandomUnderSampler`),
        ``"over"`` repeats minority rows (:class:`~imblearn.over_sampling.RandomOverSampler`).
    ratio : float, default=0.5
        Minority/majority ratio after resampling (imblearn's float ``sampling_strategy``).
    random_state : int or None, default=None

    Attributes
    ----------
    applied_ : bool
        Whether the last ``fit_resample`` resampled.
    minority_share_ : float
        Share of the minority class in the rows given to ``fit_resample``.
    sample_indices_ : ndarray
        Indices of the rows kept (sorted; repeated for over-sampling).
    """

    _sampling_type = "bypass"

    def __init__(
        self,
        *,
        minority_threshold: float = 0.2,
        strategy: str = "under",
        ratio: float = 0.5,
        random_state: int | None = None,
    ) -> None:
        self.minority_threshold = minority_threshold
        self.strategy = strategy
        self.ratio = ratio
        self.random_state = random_state

    def fit(self, X, y, **params) -> ConditionalSampler:
        """Check the inputs and record whether resampling applies; use ``fit_resample`` to resample.

        ``SamplerMixin.fit`` expects imblearn's ``sampling_strategy`` machinery, which this sampler
        replaces by ``minority_threshold`` and ``ratio``.
        """
        self.fit_resample(X, y, **params)
        return self

    def fit_resample(self, X, y, **params):
        """Resample ``X, y`` if the minority class is below ``minority_threshold``."""
        self._validate()
        if is_frame_like(X):
            # Raw rows (the pipeline's first step): only their count and column names matter.
            # check_array would turn the whole table into one object array first — gigabytes of
            # Python strings on a large chain — to check nothing this step reads.
            check_consistent_length(X, y)
            _check_feature_names(self, X, reset=True)
            _check_n_features(self, X, reset=True)
            if isinstance(X, Columns):  # scikit-learn reads names from DataFrames only
                self.feature_names_in_ = np.asarray(list(X.keys()), dtype=object)
        else:
            # Validate only: the rows are indexed in their own container.
            validate_data(
                self,
                X=X,
                y=y,
                reset=True,
                accept_sparse=["csr", "csc"],
                dtype=None,
                ensure_all_finite=False,
            )
        check_classification_targets(y)
        y_arr = np.asarray(y)
        self.minority_share_ = minority_share(y_arr)
        self.applied_ = resampling_applies(
            y_arr, minority_threshold=self.minority_threshold, ratio=self.ratio
        )
        target = self.ratio
        if not self.applied_:
            self.sample_indices_ = np.arange(len(y_arr))
            return X, y
        sampler_cls = RandomUnderSampler if self.strategy == "under" else RandomOverSampler
        sampler = sampler_cls(sampling_strategy=target, random_state=self.random_state)
        sampler.fit_resample(np.zeros((len(y_arr), 1)), y_arr)
        indices = np.sort(sampler.sample_indices_)
        self.sample_indices_ = indices
        if isinstance(X, Columns):
            kept = Columns({name: values[indices] for name, values in X.items()})
            kept.index = None if X.index is None else X.index[indices]
            return kept, _safe_indexing(y, indices)
        return _safe_indexing(X, indices), _safe_indexing(y, indices)

    def __getstate__(self):
        # The kept-row indices only describe the last fit and grow with the training rows
        # (tens of MB on a large chain): they are not part of the model that is saved.
        state = super().__getstate__()
        state.pop("sample_indices_", None)
        return state

    def _fit_resample(self, X, y, **params):  # required by SamplerMixin; fit_resample does it
        return self.fit_resample(X, y, **params)

    def _validate(self) -> None:
        if not 0 < self.minority_threshold <= 0.5:
            raise ValueError(
                f"minority_threshold must be in (0, 0.5], got {self.minority_threshold!r}"
            )
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if not 0 < self.ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {self.ratio!r}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.sparse = True
        return tags
